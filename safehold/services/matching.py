"""Matching use cases: exact (in SQL), perceptual (PDQ index) and video (vPDQ, in
``services.video_matching``), for one case or all.

The PDQ index is cached in the data directory and tagged with the store's hash-set
generation; any import or removal bumps the generation, so a stale index is rebuilt on next
use rather than trusted. Content hashes of quality below ``MIN_QUALITY`` are not matched
perceptually (PDQ is unreliable on flat images), and neither are list entries known to be.
Every case matched gets a ``match`` audit record with what it found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from safehold.core.clock import utcnow
from safehold.match.pdq_index import PdqIndex, hex_to_bytes
from safehold.match.quality import MIN_QUALITY
from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of, resolve_case
from safehold.services.context import ServiceContext
from safehold.services.video_matching import match_case_videos
from safehold.store.hashset_models import HashEntry, HashSet
from safehold.store.hashset_repo import case_contents, exact_match, generation, insert_pdq_matches
from safehold.store.models import Case, Content

__all__ = ["MIN_QUALITY", "MatchReport", "load_pdq_index", "match_all", "match_case"]

log = logging.getLogger(__name__)

QUERY_BATCH = 4096


@dataclass(slots=True)
class MatchReport:
    case_id: int | None
    exact_added: int
    pdq_added: int
    pdq_queries: int
    videos: int = 0  # videos compared (vPDQ)
    video_matches: int = 0  # against listed videos
    video_frame_matches: int = 0  # video frames against listed images
    video_links: int = 0  # pairs of videos sharing footage, across all cases


def _index_dir(ctx: ServiceContext) -> Path:
    return ctx.settings.data_dir / "index" / "pdq"


def load_pdq_index(ctx: ServiceContext) -> tuple[PdqIndex, dict[int, tuple[int, int | None]]]:
    """The current index and, per entry id, (set id, entry quality); rebuilt when stale."""
    with ctx.db.session() as s:
        gen = generation(s)
        rows = s.execute(
            select(HashEntry.id, HashEntry.set_id, HashEntry.pdq, HashEntry.pdq_quality)
            .join(HashSet, (HashSet.id == HashEntry.set_id) & (HashSet.current_import_id == HashEntry.import_id))
            .where(HashEntry.pdq.is_not(None))
            .execution_options(yield_per=100_000)
        )
        meta: dict[int, tuple[int, int | None]] = {}
        ids: list[int] = []
        hexes: list[str] = []
        for eid, set_id, pdq, quality in rows:
            if pdq is None or (quality is not None and quality < MIN_QUALITY):
                continue
            meta[eid] = (set_id, quality)
            ids.append(eid)
            hexes.append(pdq)
    where = _index_dir(ctx)
    stamp = where / "generation.txt"  # which hash-set generation the saved index reflects
    try:
        if stamp.read_text().strip() == str(gen):
            index = PdqIndex.load(where)
            if len(index) == len(ids):
                return index, meta
    except Exception as exc:  # missing, older format or damaged: rebuild from the store, never trust it
        log.info("rebuilding PDQ index in %s: %s", where, exc)
    index = PdqIndex()
    if ids:
        index.add(np.asarray(ids, dtype=np.int64), hex_to_bytes(hexes))
    stamp.unlink(missing_ok=True)
    index.save(where)
    stamp.write_text(str(gen))
    return index, meta


def _pdq_match(ctx: ServiceContext, case_id: int | None, index: PdqIndex,
               meta: dict[int, tuple[int, int | None]]) -> tuple[int, int]:
    if len(index) == 0:
        return 0, 0
    with ctx.db.session() as s:
        thresholds = dict(s.execute(select(HashSet.id, HashSet.pdq_threshold)).all())
        radius = max(thresholds.values(), default=31)
        scope = case_contents(case_id).subquery()
        rows = s.execute(
            select(Content.sha256, Content.pdq, Content.pdq_dihedral)
            .join(scope, scope.c.sha256 == Content.sha256)
            .where(Content.pdq.is_not(None), Content.pdq_quality >= MIN_QUALITY)
        ).all()
    added = queries = 0
    now = utcnow()
    for start in range(0, len(rows), QUERY_BATCH):
        chunk = rows[start:start + QUERY_BATCH]
        owners: list[str] = []
        hexes: list[str] = []
        for sha, pdq, dihedral in chunk:
            variants = [dihedral[i:i + 64] for i in range(0, len(dihedral), 64)] if dihedral else [pdq]
            for h in variants:
                if h is None:
                    continue
                owners.append(sha)
                hexes.append(h)
        results = index.query(hex_to_bytes(hexes), radius)
        queries += len(hexes)
        best: dict[tuple[str, int], int] = {}
        for sha, hits in zip(owners, results, strict=True):
            for entry_id, dist in hits:
                set_id, _q = meta[int(entry_id)]
                if dist > thresholds.get(set_id, 31):
                    continue
                key = (sha, int(entry_id))
                best[key] = min(dist, best.get(key, 256))
        out: list[dict[str, Any]] = [
            {"sha256": sha, "entry_id": eid, "set_id": meta[eid][0], "method": "pdq",
             "distance": int(d), "matched_at": now}
            for (sha, eid), d in best.items()
        ]
        with ctx.db.session() as s:
            added += insert_pdq_matches(s, out)
    return added, queries


def match_case(ctx: ServiceContext, authz: Authz, case_ref: str | int) -> MatchReport:
    require(authz.can_match(case_id := case_id_of(ctx, case_ref)), "match this case")
    with ctx.db.session() as s:
        resolve_case(s, case_id)
    index, meta = load_pdq_index(ctx)
    return _match(ctx, authz, case_id, index, meta, "case")


def match_all(ctx: ServiceContext, authz: Authz) -> list[MatchReport]:
    """Re-check every case, e.g. when a new list arrives: how old evidence gets flagged. Every case
    is matched (matches must follow the lists); the reports are of the caller's own cases."""
    require(authz.can_match_all(), "re-match every case")
    with ctx.db.session() as s:
        ids = list(s.scalars(select(Case.id).order_by(Case.id)))
    index, meta = load_pdq_index(ctx)
    reports = [_match(ctx, authz, cid, index, meta, "all") for cid in ids]
    return [r for r in reports if r.case_id is not None and authz.can_read_case(r.case_id)]


def _match(ctx: ServiceContext, authz: Authz, case_id: int, index: PdqIndex,
           meta: dict[int, tuple[int, int | None]], scope: str) -> MatchReport:
    with ctx.db.session() as s:
        exact = exact_match(s, case_id)
    pdq_added, queries = _pdq_match(ctx, case_id, index, meta)
    video = match_case_videos(ctx, case_id, index, meta)
    report = MatchReport(case_id, exact, pdq_added, queries, video.videos, video.listed_video_matches,
                         video.frame_image_matches, video.video_links)
    record_event(ctx, authz.actor, "match", case_id, None, scope=scope, exact_added=exact, pdq_added=pdq_added,
                 video_matches=report.video_matches, video_frame_matches=report.video_frame_matches)
    return report
