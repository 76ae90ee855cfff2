"""Video matching use cases: a case's videos against listed videos, listed images, and every other
video in the store, whatever case it belongs to.

One exact PDQ index (``match.pdq_index``, radius 31) over the frames on the other side finds
which videos share any frame with a query video; only those pairs are compared in full
(``match.vpdq.compare``) for the shares and time ranges. A pair counts as matching when a
segment of at least ``MIN_LINK_FRAMES`` consistent frames is found, or when nearly all of a short
video is found (``MIN_SHARE``): one stray frame in common is not a match.

* listed videos (hash-set entries carrying vPDQ) → ``Match`` rows, method ``vpdq``, with the shares
  and segments in ``detail``;
* listed images (PDQ entries) → ``Match`` rows, method ``vpdq-frame``: a still of a known series
  inside a new video, with the frame times in ``detail``;
* other videos → ``VideoLink`` rows, one per pair.
The indexes are rebuilt for each run (about 2 s per million frames): the frames of every video
in the store must be in memory for the cross-case comparison.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from safehold.core.clock import utcnow
from safehold.hashing.vpdq import FRAME_DTYPE
from safehold.match.pdq_index import PdqIndex
from safehold.match.vpdq import QUALITY, FrameSet, VideoMatch, compare
from safehold.services.context import ServiceContext
from safehold.store.hashset_models import HashEntry, HashSet, VideoLink
from safehold.store.hashset_repo import case_contents, insert_pdq_matches
from safehold.store.models import VideoFrame
from safehold.store.upsert import insert_ignore

__all__ = ["MIN_LINK_FRAMES", "MIN_SHARE", "VideoMatchReport", "match_case_videos"]

MIN_LINK_FRAMES = 3
MIN_SHARE = 80.0
_FRAME_TIMES_KEPT = 50


@dataclass(slots=True)
class VideoMatchReport:
    videos: int = 0
    listed_video_matches: int = 0
    frame_image_matches: int = 0
    video_links: int = 0


def _matches(m: VideoMatch) -> bool:
    return m.longest >= MIN_LINK_FRAMES or (m.segments != [] and max(m.query_share, m.target_share) >= MIN_SHARE)


def _store_frames(ctx: ServiceContext) -> dict[str, FrameSet]:
    """Fingerprints of every video in the store."""
    rows: dict[str, list[tuple[int, float, int, bytes]]] = defaultdict(list)
    with ctx.db.session() as s:
        q = select(VideoFrame.sha256, VideoFrame.frame, VideoFrame.timestamp, VideoFrame.quality, VideoFrame.pdq)
        for sha, frame, ts, quality, pdq in s.execute(q.execution_options(yield_per=50_000)):
            rows[sha].append((frame, ts, quality, bytes(pdq)))
    out: dict[str, FrameSet] = {}
    for sha, frames in rows.items():
        rec = np.zeros(len(frames), dtype=FRAME_DTYPE)
        rec["frame"] = [f[0] for f in frames]
        rec["ms"] = [round(f[1] * 1000) for f in frames]
        rec["quality"] = [f[2] for f in frames]
        rec["pdq"] = np.frombuffer(b"".join(f[3] for f in frames), dtype=np.uint8).reshape(-1, 32)
        out[sha] = FrameSet.from_records(rec)
    return out


def _case_video_shas(ctx: ServiceContext, case_id: int | None) -> list[str]:
    with ctx.db.session() as s:
        scope = case_contents(case_id).subquery()
        return list(s.scalars(select(VideoFrame.sha256).join(scope, scope.c.sha256 == VideoFrame.sha256).distinct()))


class _FrameIndex:
    """An exact PDQ index over many fingerprints; hits come back as owner keys."""

    def __init__(self, sets: dict[Any, FrameSet]) -> None:
        self.owners: list[Any] = []
        hashes: list[np.ndarray[Any, np.dtype[np.uint8]]] = []
        owner_of: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        for k, (key, fs) in enumerate(sets.items()):
            usable = fs.usable()
            self.owners.append(key)
            hashes.append(usable.pdq)
            owner_of.append(np.full(len(usable), k, dtype=np.int64))
        self.owner_of = np.concatenate(owner_of) if owner_of else np.zeros(0, dtype=np.int64)
        self.index = PdqIndex()
        if len(self.owner_of):
            self.index.add(np.arange(len(self.owner_of), dtype=np.int64), np.concatenate(hashes))

    def candidates(self, fs: FrameSet) -> set[Any]:
        usable = fs.usable()
        if not len(self.owner_of) or not len(usable):
            return set()
        found: set[Any] = set()
        for m in self.index.query_many(usable.pdq):
            found.update(self.owners[k] for k in np.unique(self.owner_of[m.ids]).tolist())
        return found


def _listed_videos(ctx: ServiceContext) -> dict[int, tuple[int, FrameSet]]:
    """Entry id → (set id, fingerprint) for current hash-set entries that carry vPDQ."""
    with ctx.db.session() as s:
        rows = s.execute(
            select(HashEntry.id, HashEntry.set_id, HashEntry.vpdq)
            .join(HashSet, (HashSet.id == HashEntry.set_id) & (HashSet.current_import_id == HashEntry.import_id))
            .where(HashEntry.vpdq.is_not(None))
        ).all()
    return {eid: (set_id, FrameSet.from_packed(bytes(blob))) for eid, set_id, blob in rows if blob}


def match_case_videos(ctx: ServiceContext, case_id: int | None, image_index: PdqIndex,
                      image_meta: dict[int, tuple[int, int | None]]) -> VideoMatchReport:
    """All three kinds of video match for the videos of one case (or of every case); ``image_index``
    and ``image_meta`` are the listed images' PDQ index (``services.matching.load_pdq_index``)."""
    report = VideoMatchReport()
    mine = _case_video_shas(ctx, case_id)
    report.videos = len(mine)
    if not mine:
        return report
    everyone = _store_frames(ctx)
    now = utcnow()
    listed = _listed_videos(ctx)
    listed_index = _FrameIndex({eid: fs for eid, (_set, fs) in listed.items()})
    store_index = _FrameIndex(everyone)
    with ctx.db.session() as s:
        thresholds = dict(s.execute(select(HashSet.id, HashSet.pdq_threshold)).all())
    for sha in mine:
        fs = everyone.get(sha)
        if fs is None:
            continue
        rows: list[dict[str, Any]] = []
        for eid in listed_index.candidates(fs):
            m = compare(fs, listed[eid][1])
            if _matches(m):
                rows.append({"sha256": sha, "entry_id": eid, "set_id": listed[eid][0], "method": "vpdq",
                             "distance": m.best_distance, "matched_at": now, "detail": m.detail()})
        rows.extend(_frame_image_rows(sha, fs, image_index, image_meta, thresholds, now))
        links = []
        for other in store_index.candidates(fs) - {sha}:
            a, b = sorted((sha, other))
            m = compare(everyone[a], everyone[b])
            if _matches(m):
                links.append({"sha256_a": a, "sha256_b": b, "share_a": round(m.query_share, 1),
                              "share_b": round(m.target_share, 1),
                              "segments": [seg.as_dict() for seg in m.segments], "matched_at": now})
        with ctx.db.session() as s:
            insert_pdq_matches(s, rows)
            insert_ignore(s, VideoLink.__table__, links, ["sha256_a", "sha256_b"])  # type: ignore[arg-type]
        report.listed_video_matches += sum(r["method"] == "vpdq" for r in rows)
        report.frame_image_matches += sum(r["method"] == "vpdq-frame" for r in rows)
        report.video_links += len(links)
    return report


def _frame_image_rows(sha: str, fs: FrameSet, index: PdqIndex, meta: dict[int, tuple[int, int | None]],
                      thresholds: dict[int, int], now: Any) -> list[dict[str, Any]]:
    """Frames of one video that are listed images: one row per image entry, with the frame times."""
    usable = fs.usable(QUALITY)
    if len(index) == 0 or not len(usable):
        return []
    hits: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for m in index.query_many(usable.pdq, max(thresholds.values(), default=31)):
        for qi, eid, d in zip(m.query.tolist(), m.ids.tolist(), m.distances.tolist(), strict=True):
            set_id = meta[eid][0]
            if d <= thresholds.get(set_id, 31):
                hits[eid].append((float(usable.times[qi]), int(d)))
    return [{"sha256": sha, "entry_id": eid, "set_id": meta[eid][0], "method": "vpdq-frame",
             "distance": min(d for _, d in found), "matched_at": now,
             "detail": {"frames": len(found), "times": sorted(t for t, _ in found)[:_FRAME_TIMES_KEPT]}}
            for eid, found in hits.items()]
