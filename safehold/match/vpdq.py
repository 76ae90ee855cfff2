"""Comparing two vPDQ fingerprints: how much of each is in the other, and where.

Shares follow Meta's reference matcher (python-threatexchange ``match_VPDQ_hash_brute``): frames
of PDQ quality below 50 are dropped, repeated identical hashes count once, and a frame matches
when some frame of the other video is within Hamming distance 31. ``query_share`` is the
percentage of the query's frames found in the target, ``target_share`` the reverse: a 20-second
clip of a 10-minute video is 100 % of itself but 3 % of the video.

Segments say which stretch of one video is which stretch of the other ("3:10-4:05 of this file
are 0:00-0:55 of known video X"). Matched frame pairs are grouped by time offset: the offset
shared by the most query frames (within ``tolerance`` seconds, since both sides are sampled
once a second at different phases) is taken, its frames are split into runs wherever the
query skips more than ``max_gap`` seconds, those frames are removed, and the next offset is
taken, so a video concatenated from several clips gives one segment per clip. Times are those
of the first and last matching samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from safehold.hashing.vpdq import FRAME_DTYPE, unpack_frames

__all__ = ["DISTANCE", "MIN_SEGMENT_FRAMES", "QUALITY", "FrameSet", "Segment", "VideoMatch", "compare", "distances"]

DISTANCE = 31
QUALITY = 50
MIN_SEGMENT_FRAMES = 2
_CHUNK = 2048


@dataclass(frozen=True, slots=True)
class FrameSet:
    """A fingerprint as arrays: PDQ bits (n, 32) uint8, quality (n,), timestamps in seconds (n,)."""

    pdq: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.int16]
    times: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.times)

    @classmethod
    def from_packed(cls, blob: bytes) -> FrameSet:
        return cls.from_records(unpack_frames(blob))

    @classmethod
    def from_records(cls, rec: npt.NDArray[np.void]) -> FrameSet:
        rec = np.asarray(rec, dtype=FRAME_DTYPE)
        return cls(np.ascontiguousarray(rec["pdq"]), rec["quality"].astype(np.int16), rec["ms"] / 1000.0)

    def usable(self, quality: int = QUALITY) -> FrameSet:
        """Frames of at least ``quality``, in time order."""
        keep = np.flatnonzero(self.quality >= quality)
        keep = keep[np.argsort(self.times[keep], kind="stable")]
        return FrameSet(self.pdq[keep], self.quality[keep], self.times[keep])


@dataclass(frozen=True, slots=True)
class Segment:
    query_start: float
    query_end: float
    target_start: float
    target_end: float
    frames: int  # query frames matched in this stretch

    def as_dict(self) -> dict[str, float | int]:
        return {"query_start": self.query_start, "query_end": self.query_end,
                "target_start": self.target_start, "target_end": self.target_end, "frames": self.frames}


@dataclass(slots=True)
class VideoMatch:
    query_share: float  # percent of the query's distinct usable frames found in the target
    target_share: float
    best_distance: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def longest(self) -> int:
        return max((s.frames for s in self.segments), default=0)

    def detail(self) -> dict[str, object]:
        return {"query_share": round(self.query_share, 1), "target_share": round(self.target_share, 1),
                "segments": [s.as_dict() for s in self.segments]}


def distances(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """All pairwise Hamming distances between two (n, 32) and (m, 32) PDQ arrays, as (n, m)."""
    a64 = np.ascontiguousarray(a).view(np.uint64)
    b64 = np.ascontiguousarray(b).view(np.uint64)
    out = np.empty((len(a64), len(b64)), dtype=np.int16)
    for s in range(0, len(a64), _CHUNK):
        part = a64[s:s + _CHUNK, None, :] ^ b64[None, :, :]
        out[s:s + _CHUNK] = np.bitwise_count(part).sum(axis=2, dtype=np.int16)
    return out


def _share(d: npt.NDArray[np.int16], a: npt.NDArray[np.uint8], distance: int, axis: int) -> float:
    """Percent of distinct hashes on one side with a match on the other (the reference's dedupe)."""
    n = d.shape[0] if axis == 0 else d.shape[1]
    if n == 0:
        return 0.0
    _, first = np.unique(a, axis=0, return_index=True)
    hit = np.asarray((d <= distance).any(axis=1 - axis), dtype=bool)
    return 100.0 * float(np.count_nonzero(hit[first])) / len(first)


def compare(query: FrameSet, target: FrameSet, *, distance: int = DISTANCE, quality: int = QUALITY,
            tolerance: float = 1.5, max_gap: float = 6.0) -> VideoMatch:
    """Shares both ways and the matching segments of two fingerprints."""
    q, t = query.usable(quality), target.usable(quality)
    if not len(q) or not len(t):
        return VideoMatch(0.0, 0.0, 256)
    d = distances(q.pdq, t.pdq)
    match = VideoMatch(_share(d, q.pdq, distance, 0), _share(d, t.pdq, distance, 1), int(d.min()))
    qi, tj = np.nonzero(d <= distance)
    if len(qi):
        match.segments = _segments(q, t, qi, tj, d[qi, tj], tolerance, max_gap)
    return match


def _segments(q: FrameSet, t: FrameSet, qi: npt.NDArray[np.intp], tj: npt.NDArray[np.intp],
              dist: npt.NDArray[np.int16], tolerance: float, max_gap: float) -> list[Segment]:
    offsets = t.times[tj] - q.times[qi]
    alive = np.ones(len(qi), dtype=bool)
    found: list[Segment] = []
    while alive.any():
        live = np.flatnonzero(alive)
        # The offset explaining the most distinct query frames (candidates: the observed offsets).
        cand = np.unique(np.round(offsets[live] * 2) / 2)
        support = [len(np.unique(qi[live][np.abs(offsets[live] - c) <= tolerance])) for c in cand]
        best = int(np.argmax(support))
        if support[best] < MIN_SEGMENT_FRAMES:
            break
        centre = float(cand[best])
        near = live[np.abs(offsets[live] - centre) <= tolerance]
        # Per query frame, the pair closest to the offset (then nearest in bits).
        order = near[np.lexsort((dist[near], np.abs(offsets[near] - centre), qi[near]))]
        firsts = order[np.r_[True, qi[order][1:] != qi[order][:-1]]]
        firsts = firsts[np.argsort(q.times[qi[firsts]], kind="stable")]
        qt, tt = q.times[qi[firsts]], t.times[tj[firsts]]
        breaks = np.flatnonzero(np.diff(qt) > max_gap) + 1
        for run in np.split(np.arange(len(firsts)), breaks):
            if len(run) >= MIN_SEGMENT_FRAMES:
                found.append(Segment(float(qt[run].min()), float(qt[run].max()),
                                     float(tt[run].min()), float(tt[run].max()), len(run)))
        used = np.isin(qi, qi[near])
        alive &= ~used
    found.sort(key=lambda s: (s.query_start, s.target_start))
    return found
