"""Tar, plain or compressed (gzip, bzip2, xz, zstd), read as one forward stream.

Streaming (``tarfile`` mode ``r|``) needs no seeking and no spill, at the price that a member is
readable only until the next one is listed. The decompressed stream as a whole is metered
against the compressed bytes consumed, so skipping past an unread bomb member is stopped too;
each member is metered on its own as well. Only regular files become readable members; links
and devices are recorded as SKIPPED. Blocks of zeros do not end the walk (``ignore_zeros``):
data appended after an end-of-archive marker is evidence too.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar, cast

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob, FileTimes, Member
from safehold.sources.common import clean_name, member_error, refusing
from safehold.sources.limits import ArchiveBudget, CountingReader, LimitedReader, check_declared, limited
from safehold.sources.streams import DECOMPRESS_ERRORS, decompressing, sniff_compression

__all__ = ["TarReader"]

_ERRORS: tuple[type[Exception], ...] = (tarfile.TarError, *DECOMPRESS_ERRORS)


def _pax_time(info: tarfile.TarInfo, key: str) -> float | None:
    value = info.pax_headers.get(key)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _times(info: tarfile.TarInfo) -> FileTimes:
    return FileTimes(
        modified=from_timestamp(info.mtime),
        accessed=from_timestamp(_pax_time(info, "atime")),
        changed=from_timestamp(_pax_time(info, "ctime")),
    )


def _skip_reason(info: tarfile.TarInfo) -> str | None:
    if info.issym():
        return f"symlink to {clean_name(info.linkname)}: not followed"
    if info.islnk():
        return f"hard link to {clean_name(info.linkname)}: content is recorded at that member"
    if info.ischr() or info.isblk():
        return "device node: nothing to read"
    if info.isfifo():
        return "FIFO: nothing to read"
    return None


class TarReader:
    scheme: ClassVar[str] = "tar"

    def members(self, blob: Blob, limits: Limits, scratch: Path) -> Iterator[Member]:
        raw = blob.open()
        try:
            head = raw.read(16)
            raw.seek(0)
            kind = sniff_compression(head)
            counting = CountingReader(raw)
            stream: BinaryIO = cast(BinaryIO, counting)
            if kind is not None:
                stream = decompressing(kind, stream, blob.open)
            # The whole decompressed stream, headers and skipped data included, against the
            # compressed bytes consumed so far. Members are held to the archive total by the
            # budget; this cap (twice that, for headers and padding) only guards skipping.
            # An uncompressed tar is as large as the evidence is: no cap.
            whole = LimitedReader(stream, limits, (lambda: counting.count) if kind else None,
                                  name=f"tar stream ({kind or 'uncompressed'})", errors=_ERRORS,
                                  max_bytes=2 * limits.max_archive_total_bytes + (1 << 20) if kind
                                  else 2**63)
            yield from self._walk(cast(BinaryIO, whole), limits, lambda: whole.count)
        finally:
            raw.close()

    def _walk(self, stream: BinaryIO, limits: Limits, produced: Callable[[], int]) -> Iterator[Member]:
        budget = ArchiveBudget(limits, "tar")
        try:
            archive = tarfile.open(fileobj=stream, mode="r|", ignore_zeros=True,  # noqa: SIM115 - with below
                                   encoding="utf-8", errors="surrogateescape")
        except _ERRORS as exc:
            raise ItemProblem(ErrorCode.CORRUPT, f"not a readable tar: {type(exc).__name__}: {exc}") from exc
        with archive:
            while True:
                try:
                    info = archive.next()
                except _ERRORS as exc:
                    raise ItemProblem(ErrorCode.CORRUPT, f"tar damaged: {type(exc).__name__}: {exc}") from exc
                if info is None:
                    # tarfile ends quietly on a short read; a clean end is exactly where the
                    # next header was due. Short: data cut off; long: a partial block.
                    if produced() != archive.offset:
                        raise ItemProblem(ErrorCode.CORRUPT, f"tar truncated or padded oddly: stream ends "
                                                             f"at byte {produced():,}, next header was due "
                                                             f"at {archive.offset:,}")
                    return
                if info.isdir():
                    continue
                budget.count_member()
                yield self._member(archive, info, limits, budget)

    @staticmethod
    def _member(archive: tarfile.TarFile, info: tarfile.TarInfo, limits: Limits,
                budget: ArchiveBudget) -> Member:
        name = clean_name(info.name)
        unsafe = member_error(name)
        times = _times(info)
        reason = _skip_reason(info)
        if reason is not None or not info.isreg():
            skipped = ItemError(ErrorCode.SKIPPED, reason or f"tar entry type {info.type!r}: not read")
            return Member(path=name, size=0, open=refusing(skipped), times=times, error=unsafe or skipped)

        def _open() -> BinaryIO:
            check_declared(limits, name, info.size, None)
            try:
                raw = archive.extractfile(info)
            except _ERRORS as exc:  # StreamError once the stream has moved past this member
                raise ItemProblem(ErrorCode.CORRUPT, f"{name}: {type(exc).__name__}: {exc}") from exc
            if raw is None:
                raise ItemProblem(ErrorCode.INTERNAL, f"{name}: tarfile gave no stream for a regular file")
            return limited(cast(BinaryIO, raw), limits, None, name=name, budget=budget, errors=_ERRORS)

        return Member(path=name, size=info.size, open=_open, times=times, error=unsafe)
