"""Zip (and the zip-based formats: docx, odt, apk, jar…) with the stdlib ``zipfile``.

Members stream straight from the blob through ``LimitedReader``; nothing is written to scratch.
Encrypted members (ZipCrypto and WinZip AES both set bit 0) are listed but not read; methods
``zipfile`` cannot decode (deflate64, implode, PPMd…) are UNSUPPORTED. Names are taken from the
raw header (``orig_filename``) because ``zipfile`` silently cuts a name at its first NUL.
"""

from __future__ import annotations

import lzma
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, ClassVar, cast

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob, FileTimes, Member
from safehold.sources.common import clean_name, member_error, refusing
from safehold.sources.limits import ArchiveBudget, check_declared, limited

__all__ = ["ZipReader"]

_SUPPORTED = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_METHODS = {6: "implode", 9: "deflate64", 93: "zstd", 95: "xz", 97: "WavPack", 98: "PPMd", 99: "WinZip AES"}
_READ_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError,
    NotImplementedError, RuntimeError, struct.error,
)
_FILETIME_EPOCH = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01


def _extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        yield tag, extra[pos + 4:pos + 4 + size]
        pos += 4 + size


def _times(info: zipfile.ZipInfo) -> FileTimes:
    """NTFS (0x000a) or Unix extended (0x5455) UTC times when present, else the DOS time.

    DOS times carry no zone; they are recorded as written, labelled UTC.
    """
    for tag, data in _extra_fields(info.extra):
        if tag == 0x000A and len(data) >= 32 and data[4:8] == b"\x01\x00\x18\x00":
            m, a, c = struct.unpack_from("<QQQ", data, 8)
            return FileTimes(modified=from_timestamp(m / 1e7 - _FILETIME_EPOCH),
                             accessed=from_timestamp(a / 1e7 - _FILETIME_EPOCH),
                             created=from_timestamp(c / 1e7 - _FILETIME_EPOCH))
        if tag == 0x5455 and len(data) >= 5 and data[0] & 1:
            return FileTimes(modified=from_timestamp(struct.unpack_from("<i", data, 1)[0]))
    try:
        return FileTimes(modified=datetime(*info.date_time, tzinfo=UTC))
    except ValueError:  # month 0 and other corrupt DOS dates
        return FileTimes()


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


class ZipReader:
    scheme: ClassVar[str] = "zip"

    def members(self, blob: Blob, limits: Limits, scratch: Path) -> Iterator[Member]:
        fp = blob.open()
        try:
            try:
                archive = zipfile.ZipFile(fp)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as exc:
                raise ItemProblem(ErrorCode.CORRUPT, f"unreadable zip directory: {exc}") from exc
            with archive:
                budget = ArchiveBudget(limits, "zip")
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    budget.count_member()
                    yield self._member(archive, info, limits, budget)
        finally:
            fp.close()

    def _member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits,
                budget: ArchiveBudget) -> Member:
        name = clean_name(info.orig_filename)
        unsafe = member_error(name)

        def member(opener: Callable[[], BinaryIO], error: ItemError | None = unsafe,
                   encrypted: bool = False) -> Member:
            return Member(path=name, size=info.file_size, open=opener, compressed_size=info.compress_size,
                          times=_times(info), encrypted=encrypted, error=error)

        if _is_symlink(info):
            skipped = ItemError(ErrorCode.SKIPPED, "symlink stored in the zip: not followed")
            return member(refusing(skipped), unsafe or skipped)
        if info.flag_bits & 0x1:
            how = "WinZip AES" if info.compress_type == 99 else "ZipCrypto"
            locked = ItemError(ErrorCode.ENCRYPTED, f"{how}-encrypted member: no password")
            return member(refusing(locked), encrypted=True)
        if info.compress_type not in _SUPPORTED:
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            unsupported = ItemError(ErrorCode.UNSUPPORTED, f"zip compression {method} is not supported")
            return member(refusing(unsupported))
        return member(self._opener(archive, info, limits, budget, name))

    @staticmethod
    def _opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits,
                budget: ArchiveBudget, name: str) -> Callable[[], BinaryIO]:
        def _open() -> BinaryIO:
            check_declared(limits, name, info.file_size, info.compress_size)
            try:
                raw = archive.open(info)
            except _READ_ERRORS as exc:
                raise ItemProblem(ErrorCode.CORRUPT, f"{name}: {type(exc).__name__}: {exc}") from exc
            return limited(cast(BinaryIO, raw), limits, info.compress_size, name=name, budget=budget,
                           errors=_READ_ERRORS)

        return _open
