"""Near-duplicates of one picture among a case's contents, for the item page's "other cases".

Comparing the picture with every PDQ hash of every other case the reviewer is on, per page view,
meant loading all of them each time (seconds at a million contents). ``CaseIndexes`` keeps one
``PdqIndex`` per case instead, built on first use and kept while the case's files are unchanged
(``services.gallery.files_stamp``, one index step); the web app holds one. Low-quality hashes
are left out, as in matching. Callers check that the user may see the case.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from safehold.match.pdq_index import PdqIndex, hex_to_bytes
from safehold.services.gallery import files_stamp
from safehold.services.matching import MIN_QUALITY
from safehold.store.models import Content, EvidenceItem, FileInstance

__all__ = ["CaseIndexes", "dihedral_query"]


@dataclass(frozen=True, slots=True)
class _CaseIndex:
    stamp: str
    index: PdqIndex
    shas: list[str]


def dihedral_query(pdq: str, dihedral: str | None) -> NDArray[np.uint8]:
    """The (8, 32) query of a content: its eight rotation/flip hashes (its own hash eight times
    when they were not stored)."""
    hexes = dihedral if dihedral and len(dihedral) == 512 else pdq * 8
    return hex_to_bytes([hexes[i:i + 64] for i in range(0, 512, 64)])


class CaseIndexes:
    """One PDQ index per case, the ``cases`` most recently used kept in memory."""

    def __init__(self, cases: int = 8) -> None:
        self._cases = cases
        self._built: OrderedDict[int, _CaseIndex] = OrderedDict()
        self._lock = threading.Lock()

    def _index(self, s: Session, case_id: int) -> _CaseIndex:
        stamp = files_stamp(s, case_id)
        with self._lock:
            cached = self._built.get(case_id)
            if cached is not None and cached.stamp == stamp:
                self._built.move_to_end(case_id)
                return cached
        scope = (select(FileInstance.sha256).join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                 .where(EvidenceItem.case_id == case_id).distinct().subquery())
        rows = s.execute(select(Content.sha256, Content.pdq).join(scope, scope.c.sha256 == Content.sha256)
                         .where(Content.pdq.is_not(None), Content.pdq_quality >= MIN_QUALITY)).all()
        index = PdqIndex(threads=1)
        if rows:
            index.add(np.arange(len(rows), dtype=np.int64), hex_to_bytes([str(r[1]) for r in rows]))
        built = _CaseIndex(stamp, index, [str(r[0]) for r in rows])
        with self._lock:
            self._built[case_id] = built
            self._built.move_to_end(case_id)
            while len(self._built) > self._cases:
                self._built.popitem(last=False)
        return built

    def near(self, s: Session, case_id: int, query: NDArray[np.uint8], radius: int) -> list[tuple[str, int]]:
        """(content, distance) of the case's contents within ``radius`` of any of the (8, 32)
        ``query`` hashes, nearest first."""
        built = self._index(s, case_id)
        if not built.shas:
            return []
        hits = built.index.query_dihedral(query[None, :, :], radius)[0]
        return [(built.shas[i], d) for i, d in hits]
