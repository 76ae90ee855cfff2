"""Open a disk image of any supported container as a pytsk3 image (``Img_Info``).

A single raw file goes to TSK natively (fastest: no Python on the read path). Split raw images
(``.001``, ``.002``…), EWF and virtual disks become a Python byte stream that a small
``Img_Info`` subclass hands to TSK, so everything above (volumes, file systems, deleted files)
is TSK's whatever the container.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytsk3  # type: ignore[import-not-found]

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.sources.disk.ewf import open_ewf
from safehold.sources.disk.signatures import container_kind, has_udif_trailer, sniff_file
from safehold.sources.disk.virtual import VIRTUAL_KINDS, VirtualStream, libyal_reason

__all__ = ["ByteStream", "Media", "open_media", "raw_segments"]

_PROBE = 4096  # granularity of the salvage read after an error (see _StreamImg.read)
_SPLIT = re.compile(r"^(?P<stem>.*\.)(?P<num>\d{3})$")


class ByteStream(Protocol):
    size: int

    def read_at(self, offset: int, size: int) -> bytes: ...

    def close(self) -> None: ...


class _SplitRaw:
    """Raw segments read as one stream."""

    def __init__(self, segments: list[Path]) -> None:
        self._files = [open(p, "rb") for p in segments]  # noqa: SIM115 - closed in close()
        self._starts: list[int] = []
        total = 0
        for f in self._files:
            self._starts.append(total)
            total += os.fstat(f.fileno()).st_size
        self.size = total

    def read_at(self, offset: int, size: int) -> bytes:
        out = bytearray()
        while size > 0 and offset < self.size:
            i = max(k for k, s in enumerate(self._starts) if s <= offset)
            f = self._files[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else self.size
            n = min(size, end - offset)
            chunk = os.pread(f.fileno(), n, offset - self._starts[i])
            if not chunk:
                break
            out += chunk
            offset += len(chunk)
            size -= len(chunk)
        return bytes(out)

    def close(self) -> None:
        for f in self._files:
            f.close()


class _StreamImg(pytsk3.Img_Info):  # type: ignore[misc]
    """TSK image whose reads come from a Python ``ByteStream``."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self.last_error: str | None = None  # the latest container read error, for file errors
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        self._stream.close()

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``; on a read error, the readable bytes before it, if any.

        Why the short read: TSK reads its image in 64 KiB cache blocks, so one damaged chunk of
        a compressed container (a DMG or E01 chunk is often 4 to 32 KiB) would fail every read of
        the whole block, boot sector included. Returning the sound prefix lets TSK use what lies
        before the damage; a read that needs damaged bytes still fails (TSK treats a short read
        as an error), so nothing is made up.
        """
        try:
            return self._stream.read_at(offset, size)
        except Exception as exc:  # TSK reports it as a read error of whatever it was reading
            good = self._prefix(offset, size)
            self.last_error = f"container read error at byte {offset + len(good)}: {libyal_reason(exc)}"
            if good:
                return good
            raise OSError(self.last_error) from exc

    def _prefix(self, offset: int, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            try:
                piece = self._stream.read_at(offset + len(out), min(_PROBE, size - len(out)))
            except Exception:
                break
            if not piece:
                break
            out += piece
        return bytes(out)

    def get_size(self) -> int:
        return self._stream.size


def raw_segments(path: Path) -> list[Path]:
    """``x.001`` → [x.001, x.002, …] while consecutive siblings exist; anything else → [path]."""
    m = _SPLIT.match(path.name)
    if m is None or int(m["num"]) not in (0, 1):
        return [path]
    out: list[Path] = []
    n = int(m["num"])
    while (p := path.with_name(f"{m['stem']}{n:03d}")).is_file():
        out.append(p)
        n += 1
    return out or [path]


@dataclass(slots=True)
class Media:
    """An opened image: ``img`` is what pytsk3 reads; ``kind`` the container."""

    kind: str
    img: Any
    size: int
    segments: list[Path] = field(default_factory=list)

    def read(self, offset: int, size: int) -> bytes:
        if offset >= self.size or size <= 0:
            return b""
        data: bytes = self.img.read(offset, min(size, self.size - offset))
        return data

    def close(self) -> None:
        self.img.close()


def open_media(path: Path) -> Media:
    """Open ``path`` by its content; ``ItemProblem`` (CORRUPT/UNSUPPORTED) if it cannot be."""
    head, tail = sniff_file(path)
    kind = container_kind(head, tail, path.name)
    try:
        if kind == "ewf":
            ewf = open_ewf(path)
            return Media(kind, _StreamImg(ewf), ewf.size, ewf.segments)
        if kind == "dmg" and not has_udif_trailer(tail):
            raise ItemProblem(ErrorCode.CORRUPT, "DMG without its UDIF trailer ('koly' in the last 512 bytes): "
                                                 "the image is truncated, or it is not a UDIF disk image")
        if kind in VIRTUAL_KINDS:
            virtual = VirtualStream(kind, path)
            return Media(kind, _StreamImg(virtual), virtual.size, [path])
        segments = raw_segments(path)
        if len(segments) > 1:
            split = _SplitRaw(segments)
            return Media("raw", _StreamImg(split), split.size, segments)
        img = pytsk3.Img_Info(str(path))
        return Media("raw", img, int(img.get_size()), [path])
    except OSError as exc:
        raise ItemProblem(ErrorCode.CORRUPT, f"cannot open {kind or 'raw'} image: {libyal_reason(exc)}") from exc
