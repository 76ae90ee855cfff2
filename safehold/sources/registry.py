"""Which ``ContainerReader`` opens a blob, decided by content (magic bytes first, then the MIME
type libmagic gave), never by file name. An explicit tuple, no registration side effects.

gzip, bzip2, xz and zstd streams are peeked at: a stream that decompresses to a tar header is
read by ``TarReader`` as one layer; anything else is a single-member stream. Without a blob the
peek uses ``head`` alone, which may be too short (bzip2 blocks) and then says single stream:
also correct, the tar then shows up as that stream's one member.
"""

from __future__ import annotations

import bz2
import io
import lzma
import tarfile
import zlib
from typing import BinaryIO

import zstandard

from safehold.sources.base import Blob, ContainerReader
from safehold.sources.compressed import Bzip2Reader, GzipReader, XzReader, ZstdReader
from safehold.sources.rar import RarReader
from safehold.sources.sevenzip import SevenZipReader
from safehold.sources.streams import DECOMPRESS_ERRORS, decompressing, sniff_compression
from safehold.sources.tar import TarReader
from safehold.sources.zip import ZipReader

__all__ = ["READERS", "is_tar_header", "reader_for", "reader_named"]

READERS: tuple[type[ContainerReader], ...] = (
    ZipReader, TarReader, SevenZipReader, RarReader, GzipReader, Bzip2Reader, XzReader, ZstdReader,
)

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty zip
    (b"PK\x07\x08", "zip"),  # spanned-archive marker before the first entry
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07\x00", "rar"),
    (b"Rar!\x1a\x07\x01\x00", "rar"),
)

_MIMES = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/x-tar": "tar",
    "application/x-gtar": "tar",
    "application/x-ustar": "tar",
    "application/x-7z-compressed": "7z",
    "application/x-rar": "rar",
    "application/x-rar-compressed": "rar",
    "application/vnd.rar": "rar",
    "application/gzip": "gzip",
    "application/x-gzip": "gzip",
    "application/x-bzip2": "bzip2",
    "application/x-xz": "xz",
    "application/zstd": "zstd",
    "application/x-zstd": "zstd",
}

_SINGLE: dict[str, type[GzipReader | Bzip2Reader | XzReader | ZstdReader]] = {
    "gzip": GzipReader, "bzip2": Bzip2Reader, "xz": XzReader, "zstd": ZstdReader,
}
_OTHERS: dict[str, type[ZipReader | TarReader | SevenZipReader | RarReader]] = {
    "zip": ZipReader, "tar": TarReader, "7z": SevenZipReader, "rar": RarReader,
}


def is_tar_header(block: bytes) -> bool:
    """A valid tar header block (ustar, GNU or v7: the checksum decides)."""
    if len(block) < tarfile.BLOCKSIZE:
        return False
    try:
        tarfile.TarInfo.frombuf(block[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError):
        return False
    return True


def _peek_head(kind: str, head: bytes) -> bytes:
    """Decompress what ``head`` holds of a stream's start (may be empty for bzip2)."""
    try:
        if kind == "gzip":
            return zlib.decompressobj(wbits=31).decompress(head, tarfile.BLOCKSIZE)
        if kind == "bzip2":
            return bz2.BZ2Decompressor().decompress(head, tarfile.BLOCKSIZE)
        if kind == "xz":
            return lzma.LZMADecompressor().decompress(head, tarfile.BLOCKSIZE)
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(head)) as reader:
            return reader.read(tarfile.BLOCKSIZE)
    except DECOMPRESS_ERRORS:
        return b""


def _peek_blob(kind: str, blob: Blob) -> bytes:
    try:
        with blob.open() as raw:
            stream: BinaryIO = decompressing(kind, raw)
            with stream:
                return stream.read(tarfile.BLOCKSIZE)
    except Exception:  # a damaged stream is the single-stream reader's to report
        return b""


def _kind(mime: str, head: bytes) -> str | None:
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    compression = sniff_compression(head)
    if compression is not None:
        return compression
    if is_tar_header(head):
        return "tar"
    return _MIMES.get(mime.split(";", 1)[0].strip().lower())


def reader_for(
    mime: str, head: bytes, blob: Blob | None = None, name: str | None = None
) -> ContainerReader | None:
    """The reader for a container, or None when the bytes are not one we open.

    ``head`` is the first bytes (8 KiB or more); ``blob`` lets compressed streams be peeked
    past ``head``; ``name`` (the container's file name) names a single stream's member.
    Never raises: it runs on every file.
    """
    kind = _kind(mime, head)
    if kind is None:
        return None
    if kind in _OTHERS:
        return _OTHERS[kind]()
    start = _peek_blob(kind, blob) if blob is not None else _peek_head(kind, head)
    if is_tar_header(start):
        return TarReader()
    return _SINGLE[kind](name)


def reader_named(scheme: str, name: str | None = None) -> ContainerReader | None:
    """The reader whose locator scheme is ``scheme`` (to re-open a recorded member)."""
    if scheme in _SINGLE:
        return _SINGLE[scheme](name)
    if scheme in _OTHERS:
        return _OTHERS[scheme]()
    return None
