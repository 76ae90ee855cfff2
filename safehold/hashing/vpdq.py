"""vPDQ, Meta's video PDQ: the PDQ hashes of frames sampled at a fixed rate, with their times.

A fingerprint is a list of ``VpdqFrame(frame, quality, pdq, timestamp)``. ``frame`` is the
frame's index in display order and ``timestamp`` is ``frame / frame_rate``, as the reference
``vpdq-hash-video`` computes them; the sampled frames are those whose index is a multiple of
``int(seconds_per_hash * frame_rate)`` (every frame when that is 0).

Two text forms are read and written:

* the reference's hash files, one ``frame,quality,hash,timestamp`` line per sampled frame
  (``timestamp`` with three decimals), which ``vpdq`` and its ``match-hashes-*`` tools use;
* python-threatexchange's compact signal strings ``hash,quality,timestamp`` (no frame number).

In the store a fingerprint is packed (``pack_frames``): 41 bytes a frame, little-endian, so a
one-hour video at one frame a second is 148 KB rather than 3,600 rows of hex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pdqhash

from safehold.hashing.pdq import bits_to_hex

__all__ = [
    "FRAME_DTYPE",
    "VPDQ_NAME",
    "VpdqFrame",
    "format_reference_lines",
    "frame_modulus",
    "pack_frames",
    "parse_vpdq_text",
    "pdq_of_rgb",
    "unpack_frames",
]

#: Stable hasher name (storage key).
VPDQ_NAME: Final = "vpdq"

#: Packed layout: PDQ bits as stored by ``bytes.fromhex``, then quality, frame, timestamp in ms.
FRAME_DTYPE: Final = np.dtype([("pdq", "u1", (32,)), ("quality", "u1"), ("frame", "<u4"), ("ms", "<u4")])

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")
_MAX_TIMESTAMP: Final = 4_000_000.0  # seconds (46 days): more is a damaged or hostile file


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One sampled frame: display index, PDQ quality (0-100), PDQ hex, seconds from the start."""

    frame: int
    quality: int
    pdq: str
    timestamp: float

    def __post_init__(self) -> None:
        if not _HEX64.fullmatch(self.pdq):
            raise ValueError(f"not a PDQ hash (64 hex characters): {self.pdq[:80]!r}")
        if not 0 <= self.quality <= 100:
            raise ValueError(f"PDQ quality out of 0..100: {self.quality}")
        if self.frame < 0 or not 0 <= self.timestamp <= _MAX_TIMESTAMP:
            raise ValueError(f"bad frame number or timestamp: {self.frame}, {self.timestamp}")


def frame_modulus(seconds_per_hash: float, frame_rate: float) -> int:
    """Every how many frames one is hashed; as the reference, never less than 1."""
    return max(1, int(seconds_per_hash * frame_rate))


def pdq_of_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """PDQ hex and quality of an H x W x 3 RGB array (the reference's luma and filter, via ``pdqhash``)."""
    bits, quality = pdqhash.compute(rgb)
    return bits_to_hex(bits), int(quality)


def format_reference_lines(frames: Iterable[VpdqFrame]) -> str:
    """The reference hash-file text: ``frame,quality,hash,timestamp`` lines."""
    return "".join(f"{f.frame},{f.quality},{f.pdq},{f.timestamp:.3f}\n" for f in frames)


def _one_line(cells: list[str], line_no: int) -> VpdqFrame:
    if len(cells) >= 4 and _HEX64.fullmatch(cells[2]):  # frame,quality,hash,timestamp
        return VpdqFrame(int(cells[0]), int(cells[1]), cells[2].lower(), round(float(cells[3]), 3))
    if len(cells) == 3 and _HEX64.fullmatch(cells[0]):  # hash,quality,timestamp (threatexchange)
        return VpdqFrame(line_no, int(cells[1]), cells[0].lower(), round(float(cells[2]), 3))
    raise ValueError("expected frame,quality,hash,timestamp or hash,quality,timestamp")


def parse_vpdq_text(text: str) -> list[VpdqFrame]:
    """Frames from the reference lines or threatexchange's compact strings, separated by new
    lines or ``;`` (how a fingerprint fits in one VICS ``HashValue``). Raises ``ValueError``
    naming the first bad line."""
    frames: list[VpdqFrame] = []
    for number, raw in enumerate(re.split(r"[\r\n;]+", text)):
        line = raw.strip().strip('"')
        if not line:
            continue
        try:
            frames.append(_one_line([c.strip() for c in line.split(",")], len(frames)))
        except ValueError as err:
            raise ValueError(f"vPDQ line {number + 1}: {err}: {line[:100]!r}") from None
    return frames


def pack_frames(frames: Sequence[VpdqFrame]) -> bytes:
    """Compact binary form (``FRAME_DTYPE`` records) for the store."""
    arr = np.zeros(len(frames), dtype=FRAME_DTYPE)
    if frames:
        arr["pdq"] = np.frombuffer(bytes.fromhex("".join(f.pdq for f in frames)), dtype=np.uint8).reshape(-1, 32)
        arr["quality"] = [f.quality for f in frames]
        arr["frame"] = [f.frame for f in frames]
        arr["ms"] = [round(f.timestamp * 1000) for f in frames]
    return arr.tobytes()


def unpack_frames(blob: bytes) -> npt.NDArray[np.void]:
    """The ``FRAME_DTYPE`` records of a packed fingerprint (raises ``ValueError`` if ragged)."""
    if len(blob) % FRAME_DTYPE.itemsize:
        raise ValueError(f"packed vPDQ of {len(blob)} bytes is not whole {FRAME_DTYPE.itemsize}-byte frames")
    return np.frombuffer(blob, dtype=FRAME_DTYPE)


def frames_from_packed(blob: bytes) -> list[VpdqFrame]:
    """``VpdqFrame`` objects again (for export and display)."""
    arr = unpack_frames(blob)
    return [VpdqFrame(int(r["frame"]), int(r["quality"]), r["pdq"].tobytes().hex(), int(r["ms"]) / 1000)
            for r in arr]
