"""Keeping a case's derived data (gallery listing, near-duplicate clusters) current off the
request path: the web app schedules a refresh after answering a page."""

from __future__ import annotations

import threading

from safehold.services.clusters import ensure_clusters
from safehold.services.context import ServiceContext
from safehold.services.gallery import ensure_gallery

__all__ = ["CaseRefresher"]


class CaseRefresher:
    """Brings a case's derived data (gallery listing, clusters) up to date after a response, one
    run per case at a time; a request while one runs is dropped, since the running one covers it.
    The web app holds one; callers have already checked the user may see the case."""

    def __init__(self) -> None:
        self._busy: set[int] = set()
        self._lock = threading.Lock()

    def refresh(self, ctx: ServiceContext, case_id: int) -> None:
        with self._lock:
            if case_id in self._busy:
                return
            self._busy.add(case_id)
        try:
            ensure_gallery(ctx, case_id)
            ensure_clusters(ctx, case_id)
        finally:
            with self._lock:
                self._busy.discard(case_id)
