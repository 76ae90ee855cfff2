"""Benign test videos: PyAV-encoded slideshows of scikit-image photos and moving drawings,
their near-duplicates (trimmed, re-encoded, resized, cropped, watermarked, concatenated) and
hostile files (truncated, garbage behind a video signature, audio-only, absurd frame sizes, an
unknown codec). Deterministic for given arguments; nothing here comes from real evidence.

A *scene* lasts ``scene_seconds`` and shows one crop of one photo, drifting slowly, with a
coloured shape sliding across it: every scene hashes differently from every other, so a
test can say which seconds of one video are which seconds of another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from safehold.testing.images import sample_photo

__all__ = [
    "PHOTOS",
    "Edit",
    "audio_only",
    "concatenate",
    "edit_video",
    "make_video",
    "scene_frames",
    "truncated",
    "unknown_codec_avi",
    "write_video",
    "y4m_header_only",
]

#: Photos whose crops all keep PDQ quality at 100; textures, and samples with large flat areas
#: (rocket's sky, the moon, the retina's black surround: quality down to 31), are left out.
PHOTOS: Final = ("astronaut", "coffee", "chelsea", "camera", "coins", "horse", "page",
                 "immunohistochemistry", "text", "hubble_deep_field", "cat")

Frames = Iterable[npt.NDArray[np.uint8]]


def _photo(name: str) -> Image.Image:
    return sample_photo(name).convert("RGB")


def scene_frames(seconds: float, size: tuple[int, int] = (320, 240), fps: int = 10, seed: int = 0,
                 scene_seconds: float = 2.0) -> Iterator[npt.NDArray[np.uint8]]:
    """RGB frames of a video of distinct scenes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    width, height = size
    photos = {name: _photo(name) for name in PHOTOS}
    scenes = int(np.ceil(seconds / scene_seconds))
    plan = []
    for _ in range(scenes):
        photo = photos[PHOTOS[int(rng.integers(len(PHOTOS)))]]
        scale = float(rng.uniform(0.45, 0.8))
        cw, ch = int(photo.width * scale), int(photo.height * scale)
        x0, y0 = int(rng.integers(0, photo.width - cw)), int(rng.integers(0, photo.height - ch))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        plan.append((photo, cw, ch, x0, y0, colour, float(rng.uniform(-1, 1))))
    per_scene = max(1, round(scene_seconds * fps))
    for i in range(round(seconds * fps)):
        photo, cw, ch, x0, y0, colour, drift = plan[min(i // per_scene, scenes - 1)]
        k = (i % per_scene) / per_scene
        dx = int(drift * k * cw * 0.02)
        box = (max(0, x0 + dx), y0, min(photo.width, x0 + dx + cw), y0 + ch)
        img = photo.crop(box).resize(size, Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(img)
        sx = int((0.3 + 0.1 * k) * width)
        draw.ellipse((sx, height * 0.7, sx + width * 0.12, height * 0.7 + width * 0.12), fill=colour)
        yield np.asarray(img)


def write_video(path: Path, frames: Frames, fps: int = 10, codec: str = "libx264", crf: int = 23,
                preset: str = "ultrafast", metadata: dict[str, str] | None = None,
                options: dict[str, str] | None = None, container_options: dict[str, str] | None = None) -> Path:
    """Encode RGB frames (all of one size) to ``path``; the container comes from the suffix.
    ``options`` go to the encoder, ``container_options`` to the muxer (``movflags``...)."""
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream: av.VideoStream | None = None
        height = width = 0
        for arr in frames:
            if stream is None:
                added = out.add_stream(codec, rate=fps)
                assert isinstance(added, av.VideoStream)
                stream = added
                height, width = arr.shape[0] & ~1, arr.shape[1] & ~1
                stream.height, stream.width = height, width
                stream.pix_fmt = "yuv420p"
                if codec in ("libx264", "libx265"):
                    opts = {"crf": str(crf), "preset": preset}
                    if codec == "libx265":
                        opts["x265-params"] = "log-level=error"
                    stream.options = {**opts, **(options or {})}
                for key, value in (metadata or {}).items():
                    out.metadata[key] = value
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr[:height, :width]), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)
    return path


def make_video(path: Path, seconds: float = 12, size: tuple[int, int] = (320, 240), fps: int = 10,
               seed: int = 0, codec: str = "libx264", **kwargs: object) -> Path:
    """A scene video (``scene_frames``) written with ``write_video``."""
    return write_video(path, scene_frames(seconds, size, fps, seed), fps=fps, codec=codec, **kwargs)  # type: ignore[arg-type]


def _decoded(path: Path) -> Iterator[tuple[float, Image.Image]]:
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        for frame in src.decode(stream):
            at = float(frame.pts * stream.time_base) if frame.pts is not None and stream.time_base else 0.0
            yield at, Image.fromarray(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8))


@dataclass(frozen=True, slots=True)
class Edit:
    """How ``edit_video`` changes a video: a time window, then a crop (fraction of each edge),
    a resize, a caption box; ``fps`` and ``codec`` re-encode it differently."""

    start: float = 0.0
    end: float | None = None
    crop: float = 0.0
    size: tuple[int, int] | None = None
    watermark: bool = False
    fps: int | None = None
    codec: str = "libx264"
    crf: int = 28


def _apply(img: Image.Image, edit: Edit) -> Image.Image:
    if edit.crop:
        dx, dy = round(img.width * edit.crop), round(img.height * edit.crop)
        img = img.crop((dx, dy, img.width - dx, img.height - dy))
    if edit.size:
        img = img.resize(edit.size, Image.Resampling.BILINEAR)
    if edit.watermark:
        overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        w, h = img.size
        draw.rectangle((w * 0.03, h * 0.85, w * 0.35, h * 0.95), fill=(0, 0, 0, 140))
        draw.text((w * 0.04, h * 0.86), "shared via app", fill=(255, 255, 255, 255))
        img = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    return img


def _resampled(frames: Iterable[tuple[float, Image.Image]], fps: int, start: float,
               end: float | None) -> Iterator[Image.Image]:
    """Frames at ``fps`` from ``start`` to ``end`` (each output instant shows the latest input frame)."""
    step = Fraction(1, fps)
    t = Fraction(start).limit_denominator(1000)
    last: Image.Image | None = None
    for at, img in frames:
        while last is not None and t < at - 1e-6 and (end is None or t < end):
            yield last
            t += step
        last = img
        if end is not None and at >= end:
            break
    while last is not None and (end is None or t < end) and t <= at + 1e-6:
        yield last
        t += step


def edit_video(src: Path, dst: Path, edit: Edit, src_fps: int = 10) -> Path:
    """A near-duplicate of ``src`` (see ``Edit``), re-encoded."""
    fps = edit.fps or src_fps
    frames = (np.asarray(_apply(img, edit)) for img in _resampled(_decoded(src), fps, edit.start, edit.end))
    return write_video(dst, frames, fps=fps, codec=edit.codec, crf=edit.crf)


def concatenate(dst: Path, parts: Sequence[tuple[Path, float, float]], size: tuple[int, int] = (320, 240),
                fps: int = 10) -> Path:
    """Clips ``(path, start, end)`` one after another, re-encoded at one size and rate."""
    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        for path, start, end in parts:
            for img in _resampled(_decoded(path), fps, start, end):
                yield np.asarray(img.resize(size, Image.Resampling.BILINEAR))
    return write_video(dst, frames(), fps=fps)


def audio_only(path: Path, seconds: float = 2.0) -> Path:
    """An MP4 with one AAC track and no video (a voice memo renamed .mp4)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        t = np.arange(int(16000 * seconds), dtype=np.float32) / 16000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
        for start in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(tone[:, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def y4m_header_only(width: int = 40000, height: int = 40000) -> bytes:
    """A YUV4MPEG2 file declaring ``width`` x ``height`` frames and holding a few bytes of one."""
    return f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + b"\x80" * 4096


def unknown_codec_avi(tmp: Path) -> bytes:
    """An AVI whose video stream names a FourCC no decoder knows (``ZZZZ``)."""
    make_video(tmp, seconds=1, size=(64, 48), codec="mpeg4")
    data = tmp.read_bytes()
    for tag in (b"FMP4", b"XVID", b"DIVX", b"MP4V", b"mp4v"):
        data = data.replace(tag, b"ZZZZ")
    return data


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` share of a file, as a download cut short leaves it."""
    return data[: int(len(data) * keep)]
