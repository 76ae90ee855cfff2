"""Single-stream compressions (gzip, bzip2, xz, zstd): sniffing and bounded decompression.

Used by the tar reader (tar.gz and friends are read as one stream, never seeked) and by the
single-file readers. Every decompressor here returns at most what it is asked for per read, so a
bomb cannot allocate more than one read's worth before the meter stops it (zstd's one-shot
``decompressobj`` would not: one input chunk of RLE blocks can expand to gigabytes).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO, cast

import zstandard

__all__ = [
    "DECOMPRESS_ERRORS", "KINDS", "decompressing", "gzip_header", "sniff_compression", "zstd_complete",
]

KINDS = ("gzip", "bzip2", "xz", "zstd")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

ZSTD_MAX_WINDOW = 1 << 27  # 128 MiB: zstd's own default decoder limit, stated explicitly

DECOMPRESS_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # BadGzipFile, bz2 "Invalid data stream"
    EOFError,  # truncated stream
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
    ValueError,
)


def sniff_compression(head: bytes) -> str | None:
    """Name the compression from its magic bytes, or None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if len(head) >= 10 and head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (
        b"1AY&SY", b"\x17rE8P\x90"  # first block, or an empty stream's end marker
    ):
        return "bzip2"
    return None


class _ZstdStream(io.RawIOBase):
    """zstandard's bounded ``stream_reader``, plus the truncation check it lacks: at the end,
    the frames are walked on a fresh handle (``reopen``) to confirm the last one is complete."""

    def __init__(self, raw: BinaryIO, reopen: Callable[[], BinaryIO] | None) -> None:
        super().__init__()
        dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._inner = dctx.stream_reader(raw, read_across_frames=True, closefd=True)
        self._reopen = reopen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n: int = self._inner.readinto(buffer)
        if n == 0 and self._reopen is not None:
            reopen, self._reopen = self._reopen, None
            with reopen() as fp:
                if not zstd_complete(fp):
                    raise EOFError("zstd stream ends inside a frame: truncated")
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()  # type: ignore[no-untyped-call]
            finally:
                super().close()


def zstd_complete(fp: BinaryIO) -> bool:
    """Whether ``fp`` (from its start) is a sequence of whole zstd or skippable frames.

    Walks frame and block headers only (RFC 8878), seeking over block contents: cheap.
    """
    end = fp.seek(0, io.SEEK_END)
    fp.seek(0)
    pos = 0
    while pos < end:
        magic = fp.read(4)
        if len(magic) < 4:
            return False
        if magic[1:] == b"\x2a\x4d\x18" and magic[0] & 0xF0 == 0x50:  # skippable frame
            size = fp.read(4)
            if len(size) < 4:
                return False
            pos = fp.seek(struct.unpack("<I", size)[0], io.SEEK_CUR)
            continue
        if magic != b"\x28\xb5\x2f\xfd":
            return False
        desc = fp.read(1)
        if not desc:
            return False
        d = desc[0]
        single = bool(d & 0x20)
        fcs = {0: 1 if single else 0, 1: 2, 2: 4, 3: 8}[d >> 6]
        header = (0 if single else 1) + (0, 1, 2, 4)[d & 3] + fcs
        pos = fp.seek(header, io.SEEK_CUR)
        while True:
            block = fp.read(3)
            if len(block) < 3:
                return False
            value = int.from_bytes(block, "little")
            rle = (value >> 1) & 3 == 1
            pos = fp.seek(1 if rle else value >> 3, io.SEEK_CUR)
            if value & 1:
                break
        if d & 0x04:  # content checksum
            pos = fp.seek(4, io.SEEK_CUR)
        if pos > end:
            return False
    return pos == end


def decompressing(kind: str, raw: BinaryIO, reopen: Callable[[], BinaryIO] | None = None) -> BinaryIO:
    """A read-only stream of the decompressed bytes of ``raw`` (concatenated streams included).

    ``reopen`` gives a fresh handle on the compressed bytes; zstd needs it to notice truncation.
    """
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))
    if kind == "xz":
        return cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))
    if kind == "zstd":
        return cast(BinaryIO, io.BufferedReader(_ZstdStream(raw, reopen)))
    raise ValueError(f"unknown compression {kind!r}")


def gzip_header(head: bytes) -> tuple[str | None, int | None]:
    """The original file name (FNAME) and MTIME a gzip header records, when present."""
    if len(head) < 10 or head[:2] != b"\x1f\x8b":
        return None, None
    flags = head[3]
    mtime = struct.unpack("<I", head[4:8])[0] or None
    if not flags & 0x08:  # FNAME
        return None, mtime
    pos = 10
    if flags & 0x04:  # FEXTRA
        if len(head) < 12:
            return None, mtime
        pos = 12 + struct.unpack("<H", head[10:12])[0]
    end = head.find(b"\x00", pos)
    if end < 0:
        return None, mtime
    return head[pos:end].decode("latin-1"), mtime  # RFC 1952: ISO 8859-1
