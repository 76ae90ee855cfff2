"""vPDQ lists: fingerprints of known videos in the reference ``vpdq`` hash-file format.

The reference tool writes one file per video, a ``frame,quality,hash,timestamp`` line per sampled
frame; such a file imports as one entry named after the file. Safehold's own export
(``safehold export vpdq``) puts many videos in one file, each introduced by a comment line::

    # video VID-0001.mp4 sha256=<hex> md5=<hex>
    0,100,<64 hex>,0.000
    10,100,<64 hex>,1.000

The name runs to the first ``key=value`` word. python-threatexchange's compact
``hash,quality,timestamp`` lines are accepted too. A bad line is reported with its number and
skipped; the rest of its video is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from safehold.formats.hashsets.base import BadRow, HashRecord, ParsedItem, SetMetadata, decoded_lines, sample_lines
from safehold.hashing.vpdq import VpdqFrame, pack_frames, parse_vpdq_text

__all__ = ["VIDEO_HEADER", "VpdqReader"]

VIDEO_HEADER = "# video "
_LINE = re.compile(r"\d+,\d{1,3},[0-9A-Fa-f]{64},\d+(?:\.\d+)?|[0-9A-Fa-f]{64},\d{1,3},\d+(?:\.\d+)?")
_KEYS = {"md5": 32, "sha1": 40, "sha256": 64}


def _header(text: str) -> tuple[str | None, dict[str, str]]:
    words = text[len(VIDEO_HEADER):].split()
    name_words = [w for w in words if "=" not in w]
    keys = dict(w.split("=", 1) for w in words if "=" in w)
    return (" ".join(name_words) or None), {k.lower(): v.lower() for k, v in keys.items()}


class VpdqReader:
    name: ClassVar[str] = "vpdq"

    def sniff(self, head: bytes, path: Path) -> bool:
        lines = sample_lines(head)
        if any(line.startswith(VIDEO_HEADER) for line in lines[:3]):
            return True
        data = [line for line in lines if not line.startswith("#")]
        return bool(data) and all(_LINE.fullmatch(line) for line in data)

    def metadata(self, path: Path) -> SetMetadata:
        return SetMetadata(format=self.name)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        name: str | None = path.name
        keys: dict[str, str] = {}
        frames: list[VpdqFrame] = []
        start = 1
        for number, line in enumerate(decoded_lines(path), start=1):
            text = line.strip(" \t\r\n\ufeff")
            if text.startswith(VIDEO_HEADER):
                if frames or number > 1:
                    yield self._record(name, keys, frames, start)
                name, keys = _header(text)
                frames, start = [], number
                continue
            if not text or text.startswith("#"):
                continue
            try:
                frames.extend(parse_vpdq_text(text))
            except ValueError as err:
                yield BadRow(f"line {number}", str(err).split(": ", 1)[-1])
        if frames or start > 1:
            yield self._record(name, keys, frames, start)

    @staticmethod
    def _record(name: str | None, keys: dict[str, str], frames: list[VpdqFrame], line: int) -> ParsedItem:
        if not frames:
            return BadRow(f"line {line}", f"video {name!r} has no frames")
        digests = {k: v for k, v in keys.items() if k in _KEYS and len(v) == _KEYS[k]}
        try:
            return HashRecord(vpdq=pack_frames(frames), file_name=name, md5=digests.get("md5"),
                              sha1=digests.get("sha1"), sha256=digests.get("sha256"))
        except ValueError as err:
            return BadRow(f"line {line}", str(err))
