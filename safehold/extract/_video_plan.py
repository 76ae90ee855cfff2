"""Which packets of an H.264/HEVC stream must be decoded to get the sampled frames.

Decoding dominates vPDQ's cost, and at one sample a second most frames are never looked at.
A first, cheap pass over the packets (demuxing only, no decoding) learns each packet's
presentation time, key flag and whether it is a *reference* picture (from its NAL header:
``nal_ref_idc`` for H.264, the sub-layer non-reference NAL types for HEVC). Then:

* a frame's display index is the rank of its presentation time among all packets, which is
  what the reference counts when it numbers decoded frames; so skipping packets does not
  shift the numbering;
* a non-reference picture that is not sampled is never sent to the decoder (nothing refers
  to it): half the frames of a typical x264/x265 stream;
* reference pictures after the last sample of a closed GOP are skipped too (the next key
  frame resets prediction); a GOP with leading pictures (open GOP, which may refer back
  across the key frame) is not closed and keeps its tail.

Closed GOPs also decode independently of each other, so ``split`` cuts the stream at their key
frames into ranges that separate decoders (one per core) can work on at once.

Anything unusual — a packet without a presentation time, two packets with the same one,
HEVC temporal sub-layers, another codec — yields no plan, and every packet is decoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

__all__ = ["PacketInfo", "PacketPlan", "is_non_reference", "make_plan", "nal_length_size", "split"]

PLAN_CODECS: Final = frozenset({"h264", "hevc"})


@dataclass(frozen=True, slots=True)
class PacketInfo:
    """What the first pass learns about one video packet, in decode order."""

    pts: int
    key: bool
    non_ref: bool
    discard: bool  # the demuxer marks it to be decoded but not shown (MP4 edit lists)
    temporal_id: int = 0


@dataclass(frozen=True, slots=True)
class PacketPlan:
    """Display index by presentation time, and the presentation times worth decoding."""

    rank: dict[int, int]
    needed: frozenset[int]
    frames: int  # shown frames (display indexes 0 .. frames-1)
    closed: tuple[int, ...] = ()  # decode-order indexes of the key frames that start a closed GOP
    weight: tuple[int, ...] = ()  # needed packets before each decode-order index (prefix sums)

    @property
    def skipped(self) -> int:
        return len(self.rank) - len(self.needed & self.rank.keys())


def nal_length_size(codec: str, extradata: bytes | None) -> int:
    """Bytes of each NAL length prefix (AVCC/HVCC in MP4, MKV), or 0 for Annex B start codes."""
    ext = extradata or b""
    if codec == "h264" and len(ext) > 4 and ext[0] == 1:
        return (ext[4] & 3) + 1
    if codec == "hevc" and len(ext) > 22 and ext[0] == 1:
        return (ext[21] & 3) + 1
    return 0


def _nal_starts(data: bytes, length_size: int) -> Iterable[int]:
    if length_size:
        i, n = 0, len(data)
        while i + length_size < n:
            size = int.from_bytes(data[i:i + length_size], "big")
            yield i + length_size
            if size <= 0:
                return
            i += length_size + size
        return
    i = data.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(data):
        yield i + 3
        i = data.find(b"\x00\x00\x01", i + 3)


def is_non_reference(codec: str, data: bytes, length_size: int) -> tuple[bool, int]:
    """(whether the packet's picture is non-reference, its HEVC temporal id) from its first VCL NAL."""
    for start in _nal_starts(data, length_size):
        if start >= len(data):
            break
        b = data[start]
        if codec == "h264":
            if 1 <= b & 31 <= 5:  # coded slice
                return (b >> 5) & 3 == 0, 0
        elif start + 1 < len(data):
            kind = (b >> 1) & 63
            if kind < 32:  # VCL: TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and reserved even types ≤ 14
                return kind <= 14 and kind % 2 == 0, (data[start + 1] & 7) - 1
    return False, 0


def make_plan(packets: list[PacketInfo], modulus: int, keep: set[int] | None = None) -> PacketPlan | None:
    """The plan for sampling every ``modulus``-th shown frame (plus display indexes in ``keep``),
    or None when the stream is unusual enough that everything should be decoded."""
    shown = [p.pts for p in packets if not p.discard]
    if not packets or len(set(shown)) != len(shown) or any(p.temporal_id for p in packets):
        return None
    rank = {pts: i for i, pts in enumerate(sorted(shown))}
    extra = keep or set()
    sampled = [not p.discard and (rank[p.pts] % modulus == 0 or rank[p.pts] in extra) for p in packets]
    needed: set[int] = set()
    closed: list[int] = []
    # Walk backwards: a reference picture is needed while a sampled picture follows it in its GOP.
    want_refs = False
    gop_end = len(packets)
    for i in range(len(packets) - 1, -1, -1):
        p = packets[i]
        if sampled[i]:
            want_refs = True
        if sampled[i] or (want_refs and not p.non_ref):
            needed.add(p.pts)
        if p.key and _closes(packets, i, gop_end):
            want_refs = False
            gop_end = i
            closed.append(i)
    weight = [0]
    for p in packets:
        weight.append(weight[-1] + (p.pts in needed))
    return PacketPlan(rank, frozenset(needed), len(shown), tuple(reversed(closed)), tuple(weight))


def split(plan: PacketPlan, parts: int) -> list[tuple[int, int]]:
    """Decode-order ranges ``[start, end)`` covering the stream, at most ``parts`` of them, with
    about the same number of needed packets each. Every range but the first starts at the key
    frame of a closed GOP, so a fresh decoder given only that range decodes it as the whole
    stream would have (the first range starts where the stream does)."""
    total = len(plan.weight) - 1
    if parts <= 1 or not plan.closed or total <= 0:
        return [(0, total)]
    need = plan.weight[-1]
    cuts: list[int] = []
    for k in range(1, parts):
        goal = need * k / parts
        # the closed key frame whose needed-packet count before it is nearest the goal
        best = min(plan.closed, key=lambda i: abs(plan.weight[i] - goal))
        if best > (cuts[-1] if cuts else 0):
            cuts.append(best)
    bounds = [0, *cuts, total]
    return [(a, b) for a, b in pairwise(bounds) if b > a]


def _closes(packets: list[PacketInfo], key: int, end: int) -> bool:
    """Whether the GOP starting at ``key`` has no leading pictures (shown before it, decoded after),
    which are the only pictures of an open GOP that may refer to the previous one."""
    pts = packets[key].pts
    return all(packets[j].pts > pts for j in range(key + 1, end))
