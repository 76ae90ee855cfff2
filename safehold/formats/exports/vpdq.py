"""vPDQ list writer: the reference ``vpdq`` hash-file lines, many videos in one file.

Each video is introduced by ``# video NAME sha256=… md5=…``; ``formats.hashsets.vpdq`` reads it
back as one entry per video. Splitting the file at those lines gives the reference's form, one
hash file per video, line for line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from safehold.formats.hashsets.vpdq import VIDEO_HEADER
from safehold.hashing.vpdq import VpdqFrame, format_reference_lines

__all__ = ["write_vpdq_list"]


def write_vpdq_list(out: TextIO, videos: Iterable[tuple[str, str, str, list[VpdqFrame]]]) -> int:
    """Write ``(name, sha256, md5, frames)`` per video; returns how many were written."""
    n = 0
    for name, sha256, md5, frames in videos:
        clean = " ".join(name.replace("=", "_").split()) or "video"
        out.write(f"{VIDEO_HEADER}{clean} sha256={sha256} md5={md5}\n")
        out.write(format_reference_lines(frames))
        n += 1
    return n
