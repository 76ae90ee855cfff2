"""A case of ``n`` synthetic items written straight into the store, for the gallery at scale
(the 100k test and ``bench/gallery.py``): ingesting that many files would take minutes and
measure ingest, not the queues. Rows only: there is no evidence behind them to decode.

Item ``i`` is content ``sha256(str(i))`` of ``1000 + i`` bytes at ``/p/{i:07d}.jpg``, modified
``i`` minutes after 2024-01-01; every 100th is a Canon (else Apple), every 50th (from 7) is
deleted, and every 20th matches a known-content list by MD5 (category 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from safehold.services.context import ServiceContext
from safehold.store.hashset_models import HashEntry, HashSet, Match
from safehold.store.models import Content, FileInstance

__all__ = ["KNOWN_EVERY", "fill_gallery", "item_sha"]

KNOWN_EVERY = 20
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def item_sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _rows(evidence_id: int, start: int, stop: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for i in range(start, stop):
        s = item_sha(i)
        yield ({"sha256": s, "md5": s[:32], "sha1": s[:40], "size": 1000 + i, "media_kind": "image",
                "mime": "image/jpeg", "width": 640, "height": 480,
                "camera_make": "Canon" if i % 100 == 0 else "Apple"},
               {"evidence_id": evidence_id, "locator_hash": hashlib.sha256(f"{evidence_id}:{i}".encode()).hexdigest(),
                "locator": f'[["evidence","{evidence_id}"],["fs","/p/{i:07d}.jpg"]]',
                "display": f"evidence:{evidence_id} / fs:/p/{i:07d}.jpg", "depth": 0, "name": f"{i:07d}.jpg",
                "path": f"/p/{i:07d}.jpg", "size": 1000 + i, "sha256": s, "deleted": i % 50 == 7,
                "mtime": T0 + timedelta(minutes=i), "batch_seq": 0})


def fill_gallery(ctx: ServiceContext, evidence_id: int, n: int, chunk: int = 10_000) -> None:
    """Write the ``n`` items and the list that makes every ``KNOWN_EVERY``-th one known."""
    with ctx.db.session() as s:
        hs = HashSet(name=f"synthetic list {evidence_id}", kind="known-abuse", format="vics")
        s.add(hs)
        s.flush()
        set_id = hs.id
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        contents, files = zip(*_rows(evidence_id, start, stop), strict=True)
        known = range(start + (-start) % KNOWN_EVERY, stop, KNOWN_EVERY)
        with ctx.db.session() as s:
            s.execute(insert(Content), list(contents))
            s.execute(insert(FileInstance), list(files))
            if known:
                s.execute(insert(HashEntry), [{"set_id": set_id, "import_id": 1, "md5": item_sha(i)[:32],
                                               "category_scheme": "vics-2.0-us", "category_code": "1"}
                                              for i in known])
                ids = s.scalars(select(HashEntry.id).where(HashEntry.set_id == set_id)
                                .order_by(HashEntry.id.desc()).limit(len(known))).all()
                s.execute(insert(Match), [{"sha256": item_sha(i), "entry_id": eid, "set_id": set_id,
                                           "method": "md5", "distance": 0, "matched_at": T0}
                                          for i, eid in zip(known, reversed(ids), strict=True)])
