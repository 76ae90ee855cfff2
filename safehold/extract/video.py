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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Final

import av
import av.container
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


def _fingerprint(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 opener: Callable[[], av.container.InputContainer], facts: VideoFacts,
                 limits: Limits, options: VideoSettings) -> None:
    rate = float(stream.average_rate or stream.base_rate or 0)
    modulus = frame_modulus(options.seconds_per_hash, rate)
    codec = facts.video_codec or ""
    plan: PacketPlan | None = None
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
    cc.thread_type = "AUTO"
    if plan is not None:
        # In-loop filters are ~20% of decoding; skipping them moves the hashes ~1 bit on average.
        cc.options = {"skip_loop_filter": "all"}
    work = None if options.exact else FAST_WORK
    sar = Fraction(cc.sample_aspect_ratio) if cc.sample_aspect_ratio else None
    shown = 0
    errors = 0
    last_good = 0.0
    try:
        for frame in _frames(container, stream, plan, limits):
            if isinstance(frame, ItemError):
                errors += 1
                if errors > limits.max_video_errors:
                    raise ItemProblem(frame.code, frame.message)
                continue
            facts.decoded += 1
            index = plan.rank.get(frame.pts, -1) if plan is not None and frame.pts is not None else shown
            shown += 1
            if index < 0 or (index % modulus and index not in thumbs_at):
                continue
            if frame.width * frame.height > limits.max_video_pixels:
                raise ItemProblem(ErrorCode.BOMB, f"frame {index} is {frame.width}×{frame.height}")
            timestamp = index / rate
            last_good = timestamp
            if index % modulus == 0 and frame.width >= _MIN_SIDE and frame.height >= _MIN_SIDE:
                size = (min(work[0], frame.width), min(work[1], frame.height)) if work else (frame.width, frame.height)
                rgb = np.asarray(frame.to_ndarray(width=size[0], height=size[1], format="rgb24",
                                                  interpolation="AREA"), dtype=np.uint8)
                pdq, quality = pdq_of_rgb(rgb)
                facts.frames.append(VpdqFrame(index, quality, pdq, round(timestamp, 3)))
            if index in thumbs_at or (not thumbs_at and index % modulus == 0):
                _add_thumb(facts, timestamp, frame, options.contact_frames, sar)
    except ItemProblem as exc:
        facts.error = ItemError(exc.error.code, f"decoding stopped at {last_good:.1f} s: {exc.error.message}; "
                                                f"fingerprint keeps {len(facts.frames)} frames")
    except (av.FFmpegError, ValueError, OverflowError) as exc:  # ValueError: absurd rates or timestamps
        facts.error = ItemError(ErrorCode.CORRUPT, f"decoding stopped at {last_good:.1f} s: {_describe(exc)}; "
                                                   f"fingerprint keeps {len(facts.frames)} frames")
    facts.frames.sort(key=lambda f: f.frame)
    # The video track's own declared length where the container has one (MP4): the container's
    # duration also covers a longer audio track, which is no sign of damage.
    declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else facts.duration
    shown_seconds = (plan.frames if plan is not None else shown) / rate
    if facts.error is None and declared and shown_seconds < declared - 1.0 - 2 / rate:
        facts.error = ItemError(ErrorCode.CORRUPT, f"video stream ends at {shown_seconds:.1f} s of the "
                                                   f"{declared:.1f} s the container declares (truncated?)")
    facts.thumbnails.sort(key=lambda t: t[0])
    if facts.error is None and errors:
        facts.error = ItemError(ErrorCode.CORRUPT, f"{errors} damaged packets skipped while decoding")
    if facts.error is None and facts.decoded == 0:
        facts.error = ItemError(ErrorCode.CORRUPT, "no frame could be decoded")


def _frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
            plan: PacketPlan | None, limits: Limits) -> Iterator[av.VideoFrame | ItemError]:
    """Decoded frames in display order; a packet the decoder rejects becomes an ItemError and
    decoding goes on (damaged packets in the middle of a stream are common in carved files)."""
    for packet in container.demux(stream):
        if plan is not None and packet.size and packet.pts is not None and packet.pts not in plan.needed:
            continue
        try:
            decoded = packet.decode()
        except av.error.InvalidDataError as exc:
            yield ItemError(ErrorCode.CORRUPT, _describe(exc))
            continue
        for frame in decoded:
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


def _add_thumb(facts: VideoFacts, timestamp: float, frame: av.VideoFrame, limit: int,
               sar: Fraction | None) -> None:
    if limit <= 0 or len(facts.thumbnails) >= limit or frame.width < 2 or frame.height < 2:
        return
    aspect = Fraction(frame.height, frame.width)
    if sar and sar > 0:  # anamorphic video: pixels are not square
        aspect /= sar
    height = max(2, round(THUMB_WIDTH * aspect)) & ~1
    still = frame.to_ndarray(width=THUMB_WIDTH, height=min(height, 4 * THUMB_WIDTH), format="rgb24")
    facts.thumbnails.append((timestamp, Image.fromarray(np.asarray(still, dtype=np.uint8))))
