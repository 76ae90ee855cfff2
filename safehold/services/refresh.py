"""Keeping a case's derived data (gallery listing, near-duplicate clusters) current off the
request path: the web app schedules a refresh after answering a page. They run as the case's
jobs (``services.jobs``), so ``safehold jobs`` shows what the web app did too."""

from __future__ import annotations

import threading

from safehold.services.context import ServiceContext
from safehold.services.gallery import ingest_running
from safehold.services.jobs import keep_current

__all__ = ["CaseRefresher"]


class CaseRefresher:
    """Brings a case's derived data (gallery listing, clusters) up to date after a response, one
    run per case at a time; a request while one runs is dropped, since the running one covers it.
    Nothing is done while an ingest of the case is running: every batch it adds would make the
    result stale (a rebuild at 100k items costs seconds, clusters ~15 s), so pages read the live
    tables until it ends; categorising a cluster still computes clusters when it needs them.
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
            with ctx.db.session() as s:
                if ingest_running(s, case_id):
                    return
            keep_current(ctx, case_id, ("gallery", "clusters"))
        finally:
            with self._lock:
                self._busy.discard(case_id)
