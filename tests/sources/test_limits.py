from __future__ import annotations

import io
import zlib
from typing import BinaryIO

import pytest

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.limits import (
    RATIO_FLOOR,
    ArchiveBudget,
    CountingReader,
    LimitedReader,
    check_declared,
    limited,
)


def drain(f: BinaryIO, chunk: int = 1 << 16) -> int:
    n = 0
    while data := f.read(chunk):
        n += len(data)
    return n


def test_small_member_passes_and_is_counted() -> None:
    reader = LimitedReader(io.BytesIO(b"x" * 1000), Limits(), 10)
    assert reader.read() == b"x" * 1000
    assert reader.count == 1000


def test_member_size_limit_stops_with_figures() -> None:
    f = limited(io.BytesIO(bytes(5000)), Limits(max_member_bytes=4096), None, name="big.bin")
    with pytest.raises(ItemProblem) as info:
        drain(f, 1024)
    assert info.value.error.code is ErrorCode.BOMB
    assert "big.bin" in info.value.error.message and "4,096" in info.value.error.message


def test_ratio_is_judged_only_past_the_floor() -> None:
    under = limited(io.BytesIO(bytes(RATIO_FLOOR)), Limits(max_ratio=10), 1)
    assert drain(under) == RATIO_FLOOR  # a tiny, compressible member is not a bomb
    over = limited(io.BytesIO(bytes(3 * RATIO_FLOOR)), Limits(max_ratio=10), 1000, name="zeros")
    with pytest.raises(ItemProblem) as info:
        drain(over)
    assert info.value.error.code is ErrorCode.BOMB
    assert "ratio" in info.value.error.message and "1,000 compressed" in info.value.error.message


def test_ratio_against_a_live_compressed_count() -> None:
    consumed = [0]
    reader = LimitedReader(io.BytesIO(bytes(4 * RATIO_FLOOR)), Limits(max_ratio=100), lambda: consumed[0])
    consumed[0] = 10 * RATIO_FLOOR  # plenty consumed: ratio fine
    assert len(reader.read(2 * RATIO_FLOOR)) == 2 * RATIO_FLOOR
    consumed[0] = 100
    with pytest.raises(ItemProblem):
        reader.read(RATIO_FLOOR)


def test_stop_is_sticky() -> None:
    reader = LimitedReader(io.BytesIO(bytes(10_000)), Limits(max_member_bytes=100), None)
    with pytest.raises(ItemProblem):
        reader.read(1000)
    with pytest.raises(ItemProblem):
        reader.read(1)


def test_budget_counts_bytes_across_members() -> None:
    limits = Limits(max_archive_total_bytes=10_000)
    budget = ArchiveBudget(limits, "zip")
    assert drain(limited(io.BytesIO(bytes(6000)), limits, None, budget=budget)) == 6000
    with pytest.raises(ItemProblem) as info:
        drain(limited(io.BytesIO(bytes(6000)), limits, None, budget=budget))
    assert info.value.error.code is ErrorCode.BOMB and "in total" in info.value.error.message


def test_budget_counts_members() -> None:
    budget = ArchiveBudget(Limits(max_members=2), "tar")
    budget.count_member()
    budget.count_member()
    with pytest.raises(ItemProblem) as info:
        budget.count_member()
    assert "more than 2 members" in info.value.error.message


def test_library_errors_become_corrupt() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            raise zlib.error("invalid stored block lengths")

    f = limited(Broken(), Limits(), None, name="m", errors=(zlib.error,))  # type: ignore[arg-type]
    with pytest.raises(ItemProblem) as info:
        f.read()
    assert info.value.error.code is ErrorCode.CORRUPT and "invalid stored block" in info.value.error.message


def test_unlisted_errors_propagate() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            raise KeyError("bug")

    with pytest.raises(KeyError):
        limited(Broken(), Limits(), None).read()  # type: ignore[arg-type]


def test_check_declared() -> None:
    limits = Limits(max_member_bytes=10 * RATIO_FLOOR, max_ratio=100)
    check_declared(limits, "ok", 5 * RATIO_FLOOR, RATIO_FLOOR)
    check_declared(limits, "unknown", None, None)
    check_declared(limits, "small", RATIO_FLOOR // 2, 1)  # under the floor
    with pytest.raises(ItemProblem, match="declared size"):
        check_declared(limits, "huge", 11 * RATIO_FLOOR, None)
    with pytest.raises(ItemProblem, match="ratio"):
        check_declared(limits, "dense", 5 * RATIO_FLOOR, 100)


def test_counting_reader_and_close() -> None:
    raw = io.BytesIO(b"abcdef")
    counting = CountingReader(raw)
    assert counting.read(4) == b"abcd"
    assert counting.count == 4
    counting.close()
    assert raw.closed
    f = limited(io.BytesIO(b"x"), Limits(), None)
    f.close()
    assert f.closed
