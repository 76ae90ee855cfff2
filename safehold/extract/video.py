"""Video facts for one file: container, codecs, size, frame rate, duration, metadata, vPDQ, stills.

Decoded with PyAV (FFmpeg). The vPDQ fingerprint follows Meta's reference ``vpdq``: frames are
numbered in display order, every ``int(seconds_per_hash * frame rate)``-th one is hashed with
PDQ, its timestamp is ``index / frame rate``. Two modes:

* ``exact`` decodes every frame and hashes it at full size with the reference's RGB conversion
  (swscale, area filter): what ``vpdq-hash-video`` prints, for comparing and exporting.
* the default fast mode decodes only the packets the sampled frames need (``_video_plan``: for
  H.264/HEVC about 40 % of them), skips the in-loop filters (deblocking, HEVC's SAO), and hashes
  each sample at ``FAST_WORK`` size, never above the frame's own. ``bench/video.py`` measures its
  speed beside the reference, its distance from the reference hashes (~4 bits mean, 8 max at
  1080p) and that it matches the same variants.

Damage never raises once the container has opened: a stream that breaks part-way keeps the
frames hashed so far and the facts carry an ``error`` saying where it stopped. A file with no
video stream, a codec FFmpeg cannot decode, or frames above ``limits.max_video_pixels`` get an
error and no fingerprint. ``ItemProblem`` is raised only when the container cannot be opened.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Final

import av
import av.container
import av.video.codeccontext
import av.video.stream
import numpy as np
from PIL import Image

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.settings import Limits, VideoSettings
from safehold.extract._video_meta import container_facts
from safehold.extract._video_plan import (
    PLAN_CODECS,
    PacketInfo,
    PacketPlan,
    is_non_reference,
    make_plan,
    nal_length_size,
    split,
)
from safehold.hashing.vpdq import VpdqFrame, frame_modulus, pdq_of_rgb

__all__ = ["FAST_WORK", "THUMB_WIDTH", "VideoFacts", "analyse_video"]

#: Size the fast mode hashes at: 5 × 128 by 3 × 128, so PDQ's Jarosz filter gets odd windows
#: (5 and 3) and exact 64-cell grids (see ``hashing.pdq``); PDQ squashes to 64 × 64 anyway.
FAST_WORK: Final = (640, 384)
THUMB_WIDTH: Final = 320
_MIN_SIDE: Final = 5  # the reference refuses to hash frames smaller than this


@dataclass(slots=True)
class VideoFacts:
    """What one video says about itself; ``thumbnails`` are for the contact sheet (display order)."""

    container: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bit_rate: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    frames: list[VpdqFrame] = field(default_factory=list)
    decoded: int = 0  # frames the decoder produced (fewer than shown in fast mode)
    skipped_packets: int = 0
    thumbnails: list[tuple[float, Image.Image]] = field(default_factory=list)
    error: ItemError | None = None


def analyse_video(source: Path | Callable[[], BinaryIO], limits: Limits, options: VideoSettings) -> VideoFacts:
    """Facts and fingerprint of one video. ``source`` is a seekable file (a path, or a callable
    opening one afresh: the fast mode reads the packets twice)."""
    opener = _opener(source)
    try:
        container = opener()
    except av.FFmpegError as exc:
        raise ItemProblem(ErrorCode.CORRUPT, f"not a readable video container: {_describe(exc)}") from None
    facts = VideoFacts()
    try:
        stream = _describe_container(container, facts)
        if stream is None:
            facts.error = ItemError(ErrorCode.UNSUPPORTED, "no video stream (audio-only or data-only file)")
            return facts
        problem = _check_stream(stream, limits)
        if problem is not None:
            facts.error = problem
            return facts
        _fingerprint(container, stream, opener, facts, limits, options)
    finally:
        container.close()
    return facts


def _opener(source: Path | Callable[[], BinaryIO]) -> Callable[[], av.container.InputContainer]:
    def open_container() -> av.container.InputContainer:
        if isinstance(source, Path):
            return av.open(str(source), "r", options={"probesize": "5000000"})
        return av.open(source(), "r", options={"probesize": "5000000"})

    return open_container


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:300]


def _describe_container(container: av.container.InputContainer,
                        facts: VideoFacts) -> av.video.stream.VideoStream | None:
    facts.container = container.format.name
    facts.duration = container.duration / av.time_base if container.duration and container.duration > 0 else None
    facts.bit_rate = container.bit_rate or None
    audio = next(iter(container.streams.audio), None)
    facts.audio_codec = audio.codec_context.name if audio is not None and audio.codec_context else None
    stream = next(iter(container.streams.video), None)
    facts.metadata = container_facts(container, stream)
    if stream is None:
        return None
    cc = stream.codec_context
    facts.video_codec = cc.name if cc is not None else None
    facts.width, facts.height = (cc.width or None, cc.height or None) if cc is not None else (None, None)
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    facts.frame_rate = float(rate) if rate else None
    if facts.duration is None and stream.duration and stream.time_base:
        facts.duration = float(stream.duration * stream.time_base)
    return stream


def _check_stream(stream: av.video.stream.VideoStream, limits: Limits) -> ItemError | None:
    cc = stream.codec_context
    if cc is None or cc.codec is None:
        return ItemError(ErrorCode.UNSUPPORTED, "no decoder for this video codec")
    width, height = cc.width or 0, cc.height or 0
    if width * height > limits.max_video_pixels:
        return ItemError(ErrorCode.BOMB, f"video frames of {width}×{height} = {width * height:,} pixels "
                                         f"(limit max_video_pixels={limits.max_video_pixels:,})")
    if not stream.average_rate and not stream.base_rate:
        return ItemError(ErrorCode.CORRUPT, "video stream has no frame rate: not fingerprinted")
    return None


def _probe(opener: Callable[[], av.container.InputContainer], codec: str) -> tuple[list[PacketInfo], str | None]:
    """First pass: presentation time, key flag and reference flag of every video packet."""
    out: list[PacketInfo] = []
    container = opener()
    try:
        stream = container.streams.video[0]
        length = nal_length_size(codec, stream.codec_context.extradata)
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts is None:
                return [], "a packet has no presentation time"
            non_ref, tid = is_non_reference(codec, bytes(packet), length)
            out.append(PacketInfo(int(packet.pts), packet.is_keyframe, non_ref, packet.is_discard, tid))
    except av.FFmpegError as exc:
        return out, _describe(exc)
    finally:
        container.close()
    return out, None


@dataclass(frozen=True, slots=True)
class _Sampling:
    """Which frames are hashed or kept as stills, and how: the same for every decoder of a video."""

    rate: float
    modulus: int
    thumbs_at: frozenset[int]
    work: tuple[int, int] | None
    sar: Fraction | None
    contact_frames: int
    limits: Limits


@dataclass(slots=True)
class _Take:
    """What one decoder got from its range of the stream; ranges are merged in stream order."""

    frames: list[VpdqFrame] = field(default_factory=list)
    thumbnails: list[tuple[float, Image.Image]] = field(default_factory=list)
    decoded: int = 0
    shown: int = 0
    errors: int = 0
    last_good: float = 0.0
    error: ItemError | None = None  # why this range stopped before its end


def _fingerprint(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 opener: Callable[[], av.container.InputContainer], facts: VideoFacts,
                 limits: Limits, options: VideoSettings) -> None:
    rate = float(stream.average_rate or stream.base_rate or 0)
    modulus = frame_modulus(options.seconds_per_hash, rate)
    codec = facts.video_codec or ""
    plan: PacketPlan | None = None
    infos: list[PacketInfo] = []
    thumbs_at: set[int] = set()
    if not options.exact and codec in PLAN_CODECS:
        infos, _probe_error = _probe(opener, codec)
        plan = make_plan(infos, modulus)
        if plan is not None:
            thumbs_at = _thumb_indexes(plan.frames, modulus, options.contact_frames)
            facts.skipped_packets = plan.skipped
    else:
        total = stream.frames or int((facts.duration or 0) * rate)
        thumbs_at = _thumb_indexes(total, modulus, options.contact_frames)
    cc = stream.codec_context
    sampling = _Sampling(rate, modulus, frozenset(thumbs_at), None if options.exact else FAST_WORK,
                         Fraction(cc.sample_aspect_ratio) if cc.sample_aspect_ratio else None,
                         options.contact_frames, limits)
    budget = _ErrorBudget(limits.max_video_errors)
    decoders = _decoders(options)
    ranges = split(plan, decoders) if plan is not None and decoders > 1 else []
    if plan is not None and len(ranges) > 1:
        ranged = plan
        # One single-threaded decoder per range of closed GOPs: on 2 cores this decodes ~1.6x
        # faster than FFmpeg's frame threads on one decoder, which also spend ~35 % more CPU.
        positions = {p.pts: i for i, p in enumerate(infos)}
        with ThreadPoolExecutor(min(decoders, len(ranges)), thread_name_prefix="vpdq") as pool:
            takes = list(pool.map(lambda r: _decode_range(opener, ranged, positions, infos, r, sampling, budget),
                                  ranges))
    else:
        cc.thread_type = "AUTO"
        if plan is not None:
            # In-loop filters are ~20% of decoding; skipping them moves the hashes ~1 bit on average.
            cc.options = {"skip_loop_filter": "all"}
        take = _Take()
        _decode(take, _frames(container, stream, plan), plan, sampling, budget)
        takes = [take]
    _merge(facts, takes, sampling)
    # The video track's own declared length where the container has one (MP4): the container's
    # duration also covers a longer audio track, which is no sign of damage.
    declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else facts.duration
    shown_seconds = (plan.frames if plan is not None else takes[0].shown) / rate
    if facts.error is None and declared and shown_seconds < declared - 1.0 - 2 / rate:
        facts.error = ItemError(ErrorCode.CORRUPT, f"video stream ends at {shown_seconds:.1f} s of the "
                                                   f"{declared:.1f} s the container declares (truncated?)")
    errors = sum(t.errors for t in takes)
    if facts.error is None and errors:
        facts.error = ItemError(ErrorCode.CORRUPT, f"{errors} damaged packets skipped while decoding")
    if facts.error is None and facts.decoded == 0:
        facts.error = ItemError(ErrorCode.CORRUPT, "no frame could be decoded")


def _decoders(options: VideoSettings) -> int:
    if options.decode_threads:
        return options.decode_threads
    try:
        return min(8, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return min(8, os.cpu_count() or 1)


class _ErrorBudget:
    """Damaged packets allowed in one video, shared by its decoders."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def spend(self) -> bool:
        """Count one damaged packet; False once there were more than the limit."""
        with self._lock:
            self._left -= 1
            return self._left >= 0


def _decode_range(opener: Callable[[], av.container.InputContainer], plan: PacketPlan,
                  positions: dict[int, int], infos: list[PacketInfo], bounds: tuple[int, int],
                  sampling: _Sampling, budget: _ErrorBudget) -> _Take:
    take = _Take()
    try:
        container = opener()
    except (av.FFmpegError, OSError) as exc:  # it opened once already: a source that failed since
        take.error = ItemError(ErrorCode.CORRUPT, _describe(exc))
        return take
    try:
        stream = container.streams.video[0]
        cc = stream.codec_context
        cc.thread_count = 1
        cc.options = {"skip_loop_filter": "all"}
        lo, hi = bounds
        try:
            first = _seek(container, stream, positions, infos, lo)
        except av.FFmpegError as exc:  # not even a rewind to the start: this range is lost, not the video
            take.error = ItemError(ErrorCode.CORRUPT, _describe(exc))
            return take
        _decode(take, _frames(container, stream, plan, lo, hi, first), plan, sampling, budget)
    finally:
        container.close()
    return take


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
          positions: dict[int, int], infos: list[PacketInfo], lo: int) -> int:
    """Decode-order index of the next packet demuxed once positioned at or before packet ``lo``.

    Seeking saves the later decoders from reading the file up to their range. It is checked: the
    first packet after the seek must be one the probe saw, at or before ``lo``; otherwise the
    container is rewound to the start, and that range demuxes from there (slower, same result).
    """
    if lo == 0:
        return 0
    try:
        container.seek(infos[lo].pts, backward=True, any_frame=False, stream=stream)
        pts = next(container.demux(stream)).pts
        found = positions.get(pts) if pts is not None else None
        if pts is not None and found is not None and found <= lo:
            container.seek(pts, backward=True, any_frame=False, stream=stream)
            return found
    except (av.FFmpegError, StopIteration, ValueError, OverflowError):  # absurd timestamps included
        pass
    container.seek(0, backward=True, any_frame=True, stream=stream)
    return 0


def _decode(take: _Take, frames: Iterator[av.VideoFrame | ItemError], plan: PacketPlan | None,
            sampling: _Sampling, budget: _ErrorBudget) -> None:
    try:
        for frame in frames:
            if isinstance(frame, ItemError):
                take.errors += 1
                if not budget.spend():
                    raise ItemProblem(frame.code, frame.message)
                continue
            take.decoded += 1
            index = plan.rank.get(frame.pts, -1) if plan is not None and frame.pts is not None else take.shown
            take.shown += 1
            _sample(take, sampling, frame, index)
    except ItemProblem as exc:
        take.error = exc.error
    except (av.FFmpegError, ValueError, OverflowError) as exc:  # ValueError: absurd rates or timestamps
        take.error = ItemError(ErrorCode.CORRUPT, _describe(exc))


def _sample(take: _Take, s: _Sampling, frame: av.VideoFrame, index: int) -> None:
    if index < 0 or (index % s.modulus and index not in s.thumbs_at):
        return
    if frame.width * frame.height > s.limits.max_video_pixels:
        raise ItemProblem(ErrorCode.BOMB, f"frame {index} is {frame.width}×{frame.height}")
    timestamp = index / s.rate
    take.last_good = timestamp
    if index % s.modulus == 0 and frame.width >= _MIN_SIDE and frame.height >= _MIN_SIDE:
        work = s.work
        size = (min(work[0], frame.width), min(work[1], frame.height)) if work else (frame.width, frame.height)
        rgb = np.asarray(frame.to_ndarray(width=size[0], height=size[1], format="rgb24",
                                          interpolation="AREA"), dtype=np.uint8)
        pdq, quality = pdq_of_rgb(rgb)
        take.frames.append(VpdqFrame(index, quality, pdq, round(timestamp, 3)))
    if index in s.thumbs_at or (not s.thumbs_at and index % s.modulus == 0):
        _add_thumb(take.thumbnails, timestamp, frame, s.contact_frames, s.sar)


def _merge(facts: VideoFacts, takes: list[_Take], s: _Sampling) -> None:
    """Frames and stills of every range in display order; the first range that stopped early names
    the error (later ranges may still have added frames: a fingerprint keeps all it could get)."""
    for take in takes:
        facts.frames.extend(take.frames)
        facts.thumbnails.extend(take.thumbnails)
        facts.decoded += take.decoded
    facts.frames.sort(key=lambda f: f.frame)
    facts.thumbnails.sort(key=lambda t: t[0])
    del facts.thumbnails[max(s.contact_frames, 0):]
    stopped = next((t for t in takes if t.error is not None), None)
    if stopped is not None and stopped.error is not None:
        facts.error = ItemError(stopped.error.code, f"decoding stopped at {stopped.last_good:.1f} s: "
                                                    f"{stopped.error.message}; fingerprint keeps "
                                                    f"{len(facts.frames)} frames")


def _frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
            plan: PacketPlan | None, lo: int = 0, hi: int | None = None,
            first: int = 0) -> Iterator[av.VideoFrame | ItemError]:
    """Decoded frames in display order; a packet the decoder rejects becomes an ItemError and
    decoding goes on (damaged packets in the middle of a stream are common in carved files).

    With ``hi``, only packets ``lo`` to ``hi - 1`` in decode order (counting the non-empty ones
    as the probe does; the next one demuxed is number ``first``) are decoded, then the decoder
    is drained."""
    index = first - 1
    for packet in container.demux(stream):
        if packet.size:
            index += 1
            if index < lo:
                continue
            if hi is not None and index >= hi:
                break
            if plan is not None and packet.pts is not None and packet.pts not in plan.needed:
                continue
        elif hi is not None:  # a range's decoder is drained below, once
            continue
        yield from _decoded(stream.codec_context, packet)
    if hi is not None:
        yield from _decoded(stream.codec_context, None)


def _decoded(cc: av.video.codeccontext.VideoCodecContext,
             packet: av.Packet[av.video.stream.VideoStream] | None) -> Iterator[av.VideoFrame | ItemError]:
    try:
        out = cc.decode(packet)
    except av.error.InvalidDataError as exc:
        yield ItemError(ErrorCode.CORRUPT, _describe(exc))
        return
    for frame in out:
        if isinstance(frame, av.VideoFrame):
            yield frame


def _thumb_indexes(total: int, modulus: int, count: int) -> set[int]:
    """Display indexes of ``count`` sampled frames spread evenly over the video."""
    samples = list(range(0, max(total, 1), modulus))
    if count <= 0 or not samples:
        return set()
    if len(samples) <= count:
        return set(samples)
    step = len(samples) / count
    return {samples[int(step * k + step / 2)] for k in range(count)}


def _add_thumb(thumbnails: list[tuple[float, Image.Image]], timestamp: float, frame: av.VideoFrame, limit: int,
               sar: Fraction | None) -> None:
    if limit <= 0 or len(thumbnails) >= limit or frame.width < 2 or frame.height < 2:
        return
    aspect = Fraction(frame.height, frame.width)
    if sar and sar > 0:  # anamorphic video: pixels are not square
        aspect /= sar
    height = max(2, round(THUMB_WIDTH * aspect)) & ~1
    still = frame.to_ndarray(width=THUMB_WIDTH, height=min(height, 4 * THUMB_WIDTH), format="rgb24")
    thumbnails.append((timestamp, Image.fromarray(np.asarray(still, dtype=np.uint8))))
