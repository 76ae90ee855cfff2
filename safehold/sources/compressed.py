"""Single compressed streams that are not tar: gzip, bzip2, xz, zstd. One member each.

The member is named after the container minus its suffix (``notes.txt.gz`` → ``notes.txt``),
as gunzip would; ``<name>.decompressed`` when the suffix is unknown. A ``Blob`` carries no
name, so the caller passes it to the reader; without one a gzip header's FNAME is used, else
``decompressed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob, FileTimes, Member
from safehold.sources.common import clean_name, member_error
from safehold.sources.limits import ArchiveBudget, limited
from safehold.sources.streams import DECOMPRESS_ERRORS, decompressing, gzip_header

__all__ = ["Bzip2Reader", "CompressedReader", "GzipReader", "XzReader", "ZstdReader", "member_name"]

_TAR_SUFFIXES = {".tgz": ".tar", ".taz": ".tar", ".tbz": ".tar", ".tbz2": ".tar", ".txz": ".tar",
                 ".tzst": ".tar"}


def member_name(container: str, suffixes: tuple[str, ...]) -> str:
    """``x.txt.gz`` → ``x.txt``; ``x.tgz`` → ``x.tar``; anything else → ``<name>.decompressed``."""
    base = container.replace("\\", "/").rsplit("/", 1)[-1]
    lower = base.lower()
    for suffix, replacement in _TAR_SUFFIXES.items():
        if lower.endswith(suffix) and suffix in suffixes:
            return base[: -len(suffix)] + replacement
    for suffix in suffixes:
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return f"{base}.decompressed" if base else "decompressed"


class CompressedReader:
    """Base for the four single-stream readers; ``name`` is the container's own file name."""

    scheme: ClassVar[str] = "compressed"
    kind: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def members(self, blob: Blob, limits: Limits, scratch: Path) -> Iterator[Member]:
        with blob.open() as fp:
            head = fp.read(4096)
        stored_name, mtime = gzip_header(head) if self.kind == "gzip" else (None, None)
        if self.name:
            path = member_name(self.name, self.suffixes)
        elif stored_name:
            path = clean_name(stored_name)
        else:
            path = "decompressed"
        budget = ArchiveBudget(limits, self.scheme)
        budget.count_member()
        label = f"{self.scheme} stream"

        def _open() -> BinaryIO:
            raw = blob.open()
            try:
                stream = decompressing(self.kind, raw, blob.open)
            except DECOMPRESS_ERRORS as exc:
                raw.close()
                raise ItemProblem(ErrorCode.CORRUPT, f"{label}: {exc}") from exc
            return limited(stream, limits, blob.size, name=path, budget=budget, errors=DECOMPRESS_ERRORS)

        yield Member(path=path, size=None, open=_open, compressed_size=blob.size,
                     times=FileTimes(modified=from_timestamp(mtime)), error=member_error(path))


class GzipReader(CompressedReader):
    scheme: ClassVar[str] = "gzip"
    kind: ClassVar[str] = "gzip"
    suffixes: ClassVar[tuple[str, ...]] = (".gz", ".gzip", ".z", ".tgz", ".taz")


class Bzip2Reader(CompressedReader):
    scheme: ClassVar[str] = "bzip2"
    kind: ClassVar[str] = "bzip2"
    suffixes: ClassVar[tuple[str, ...]] = (".bz2", ".bz", ".bzip2", ".tbz", ".tbz2")


class XzReader(CompressedReader):
    scheme: ClassVar[str] = "xz"
    kind: ClassVar[str] = "xz"
    suffixes: ClassVar[tuple[str, ...]] = (".xz", ".txz")


class ZstdReader(CompressedReader):
    scheme: ClassVar[str] = "zstd"
    kind: ClassVar[str] = "zstd"
    suffixes: ClassVar[tuple[str, ...]] = (".zst", ".zstd", ".tzst")
