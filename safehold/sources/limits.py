"""Decompression-bomb defences shared by every container reader.

A member is stopped as soon as the bytes it has produced exceed ``max_member_bytes``, or the
ratio of decompressed to compressed bytes exceeds ``max_ratio`` (checked only past
``RATIO_FLOOR`` so tiny, highly compressible members are not flagged). ``ArchiveBudget`` caps the
members listed and the bytes produced by one archive. Counting happens as bytes are produced, so
a bomb costs at most one read chunk of memory and no disk.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits

__all__ = [
    "RATIO_FLOOR",
    "ArchiveBudget",
    "CountingReader",
    "LimitedReader",
    "Meter",
    "check_declared",
    "check_ratio",
    "limited",
]

RATIO_FLOOR = 1 << 20  # ratio is judged only once this many bytes have been produced
BUFFER = 1 << 16

Compressed = int | Callable[[], int] | None  # fixed size, a live count, or unknown


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _ratio_problem(name: str, produced: int, compressed: int, limit: float) -> ItemProblem:
    ratio = produced / max(compressed, 1)
    return ItemProblem(
        ErrorCode.BOMB,
        f"{name}: {produced:,} bytes from {compressed:,} compressed "
        f"(ratio {ratio:,.0f} > limit {limit:,.0f})",
    )


def check_declared(limits: Limits, name: str, size: int | None, compressed: int | None) -> None:
    """Refuse before decompressing when the container's own figures already break a limit."""
    if size is None:
        return
    if size > limits.max_member_bytes:
        raise ItemProblem(
            ErrorCode.BOMB,
            f"{name}: declared size {size:,} bytes exceeds limit {limits.max_member_bytes:,}",
        )
    check_ratio(limits, name, size, compressed)


def check_ratio(limits: Limits, name: str, size: int, compressed: int | None) -> None:
    """Ratio alone (past the floor): for figures that span several members, like a solid block."""
    if compressed is not None and size > RATIO_FLOOR and size > limits.max_ratio * max(compressed, 1):
        raise _ratio_problem(name, size, compressed, limits.max_ratio)


class ArchiveBudget:
    """Totals for one archive: members listed and bytes produced across all of them."""

    def __init__(self, limits: Limits, name: str = "archive") -> None:
        self.limits = limits
        self.name = name
        self.members = 0
        self.total_bytes = 0

    def count_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ItemProblem(
                ErrorCode.BOMB,
                f"{self.name}: more than {self.limits.max_members:,} members; listing stopped",
            )

    def add_bytes(self, n: int) -> None:
        self.total_bytes += n
        if self.total_bytes > self.limits.max_archive_total_bytes:
            raise ItemProblem(
                ErrorCode.BOMB,
                f"{self.name}: members decompress to more than "
                f"{self.limits.max_archive_total_bytes:,} bytes in total ({_mib(self.total_bytes)} so far)",
            )


class Meter:
    """Counts the bytes one stream produces and raises BOMB past a limit (sticky once raised)."""

    def __init__(
        self,
        limits: Limits,
        name: str,
        compressed: Compressed = None,
        *,
        max_bytes: int | None = None,
        budget: ArchiveBudget | None = None,
    ) -> None:
        self.limits = limits
        self.name = name
        self.compressed = compressed
        self.max_bytes = limits.max_member_bytes if max_bytes is None else max_bytes
        self.budget = budget
        self.count = 0
        self.problem: ItemProblem | None = None

    def add(self, n: int) -> None:
        if self.problem is not None:
            raise self.problem
        self.count += n
        try:
            if self.count > self.max_bytes:
                raise ItemProblem(
                    ErrorCode.BOMB,
                    f"{self.name}: decompressed more than {self.max_bytes:,} bytes "
                    f"({self.count:,} so far); stopped",
                )
            if self.count > RATIO_FLOOR and self.compressed is not None:
                packed = self.compressed() if callable(self.compressed) else self.compressed
                if self.count > self.limits.max_ratio * max(packed, 1):
                    raise _ratio_problem(self.name, self.count, packed, self.limits.max_ratio)
            if self.budget is not None:
                self.budget.add_bytes(n)
        except ItemProblem as exc:
            self.problem = exc
            raise


class LimitedReader(io.RawIOBase):
    """Read-only wrapper that meters ``raw`` and maps library errors to ``ItemProblem``.

    ``errors`` lists the exception types of the underlying library that mean "this member is
    damaged" (zlib.error, BadZipFile, …); they become CORRUPT so callers see one exception type.
    """

    def __init__(
        self,
        raw: BinaryIO,
        limits: Limits,
        declared_compressed_size: Compressed = None,
        *,
        name: str = "member",
        budget: ArchiveBudget | None = None,
        max_bytes: int | None = None,
        errors: tuple[type[Exception], ...] = (),
    ) -> None:
        super().__init__()
        self._raw = raw
        self._errors = errors
        self.label = name  # not ``name``: io objects with a name pass for files (tarfile, zipfile)
        self.meter = Meter(limits, name, declared_compressed_size, max_bytes=max_bytes, budget=budget)

    @property
    def count(self) -> int:
        return self.meter.count

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view))
        except ItemProblem:
            raise
        except self._errors as exc:
            raise ItemProblem(ErrorCode.CORRUPT, f"{self.label}: {type(exc).__name__}: {exc}") from exc
        n = len(data)
        view[:n] = data
        if n:
            self.meter.add(n)
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()


class CountingReader(io.RawIOBase):
    """Counts bytes read from ``raw`` (the compressed side), so ratios can be judged live."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        n = len(data)
        view[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()


def limited(
    raw: BinaryIO,
    limits: Limits,
    declared_compressed_size: Compressed = None,
    *,
    name: str = "member",
    budget: ArchiveBudget | None = None,
    max_bytes: int | None = None,
    errors: tuple[type[Exception], ...] = (),
) -> BinaryIO:
    """``LimitedReader`` behind a buffer: the ``BinaryIO`` a ``Member.open`` returns."""
    reader = LimitedReader(raw, limits, declared_compressed_size, name=name, budget=budget,
                           max_bytes=max_bytes, errors=errors)
    return io.BufferedReader(reader, buffer_size=BUFFER)
