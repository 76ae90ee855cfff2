from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.tar import TarReader

from .helpers import by_path, collect

FILES = {"photos/1.jpg": b"\xff\xd8jpeg", "notes.txt": b"hello " * 300, "empty": b""}


def add(t: tarfile.TarFile, name: str, data: bytes = b"", **attrs: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_600_000_000
    for k, v in attrs.items():
        setattr(info, k, v)
    t.addfile(info, io.BytesIO(data) if data else None)


def tar_bytes(files: dict[str, bytes], mode: str = "w", **kw: object) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode, **kw) as t:  # type: ignore[call-overload]
        add(t, "photos", type=tarfile.DIRTYPE)
        for name, data in files.items():
            add(t, name, data)
    return b.getvalue()


def compress(kind: str, data: bytes) -> bytes:
    if kind == "zst":
        return zstandard.ZstdCompressor().compress(data)
    if kind == "gz":
        return gzip.compress(data)
    if kind == "bz2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    return data


@pytest.mark.parametrize("kind", ["", "gz", "bz2", "xz", "zst"])
def test_listing_and_bytes(tmp_path: Path, kind: str) -> None:
    got = collect(TarReader(), BytesBlob(compress(kind, tar_bytes(FILES))), tmp_path)
    assert [g.path for g in got] == list(FILES)
    assert {g.path: g.data for g in got} == FILES
    assert all(g.error is None and g.member.error is None for g in got)
    assert got[1].member.size == len(FILES["notes.txt"])
    modified = got[1].member.times.modified
    assert modified is not None and modified.timestamp() == 1_600_000_000


def test_zstd_with_several_frames(tmp_path: Path) -> None:
    data = tar_bytes(FILES)
    cctx = zstandard.ZstdCompressor()
    blob = cctx.compress(data[:1024]) + cctx.compress(data[1024:])  # like pzstd output
    assert {g.path: g.data for g in collect(TarReader(), BytesBlob(blob), tmp_path)} == FILES


def test_pax_and_gnu_formats(tmp_path: Path) -> None:
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        long = "d/" + "x" * 150 + ".txt"
        got = collect(TarReader(), BytesBlob(tar_bytes({long: b"long"}, format=fmt)), tmp_path)
        assert [(g.path, g.data) for g in got] == [(long, b"long")]


def test_links_and_devices_are_skipped(tmp_path: Path) -> None:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        add(t, "real.txt", b"real")
        add(t, "sym", type=tarfile.SYMTYPE, linkname="/etc/shadow")
        add(t, "hard", type=tarfile.LNKTYPE, linkname="real.txt")
        add(t, "dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        add(t, "fifo", type=tarfile.FIFOTYPE)
    got = by_path(collect(TarReader(), BytesBlob(b.getvalue()), tmp_path))
    assert got["real.txt"].data == b"real"
    for name, words in (("sym", "symlink to /etc/shadow"), ("hard", "hard link to real.txt"),
                        ("dev", "device"), ("fifo", "FIFO")):
        g = got[name]
        assert g.error is not None and g.error.code is ErrorCode.SKIPPED and words in g.error.message
        assert g.member.error is not None and g.member.size == 0


def test_unsafe_and_undecodable_names(tmp_path: Path) -> None:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
        add(t, "/etc/passwd", b"root")
        add(t, "../../x", b"x")
        add(t, "caf\xe9.txt", b"latin-1 name")
    got = collect(TarReader(), BytesBlob(b.getvalue()), tmp_path)
    assert [g.path for g in got] == ["/etc/passwd", "../../x", "caf\\xe9.txt"]
    assert [g.member.error.code if g.member.error else None for g in got] == [
        ErrorCode.UNSAFE_PATH, ErrorCode.UNSAFE_PATH, None]
    assert [g.data for g in got] == [b"root", b"x", b"latin-1 name"]


def test_data_after_the_end_marker_is_found(tmp_path: Path) -> None:
    blob = tar_bytes({"first": b"1"}) + tar_bytes({"second": b"2"})
    assert [g.path for g in collect(TarReader(), BytesBlob(blob), tmp_path)] == ["first", "second"]


@pytest.mark.parametrize("kind", ["", "gz", "bz2", "xz", "zst"])
def test_truncated(tmp_path: Path, kind: str) -> None:
    data = tar_bytes({"a.bin": os.urandom(5000), "b.bin": os.urandom(5000)})
    blob = compress(kind, data)
    cut = blob[: len(blob) * 3 // 4] if kind else data[:512 + 2000]
    with pytest.raises(ItemProblem) as info:
        collect(TarReader(), BytesBlob(cut), tmp_path)
    assert info.value.error.code is ErrorCode.CORRUPT


@pytest.mark.parametrize(("cut", "words"), [(3000, "unexpected end"), (512 + 5120 + 100, "unexpected end"),
                                             (512 + 2 * (512 + 5120) + 100, "truncated")])
def test_truncated_and_never_read(tmp_path: Path, cut: int, words: str) -> None:
    """Cut inside skipped data, a header, or the end blocks (where tarfile itself stays quiet)."""
    data = tar_bytes({"a.bin": os.urandom(5000), "b.bin": os.urandom(5000)})
    with pytest.raises(ItemProblem) as info:
        for _member in TarReader().members(BytesBlob(data[:cut]), Limits(), tmp_path):
            pass
    assert info.value.error.code is ErrorCode.CORRUPT and words in info.value.error.message


def test_truncated_member_is_corrupt(tmp_path: Path) -> None:
    data = tar_bytes({"a.bin": os.urandom(5000)})
    members = TarReader().members(BytesBlob(data[:3000]), Limits(), tmp_path)
    member = next(members)
    with pytest.raises(ItemProblem) as info, member.open() as f:
        f.read()
    assert info.value.error.code is ErrorCode.CORRUPT


def test_not_a_tar(tmp_path: Path) -> None:
    with pytest.raises(ItemProblem) as info:
        collect(TarReader(), BytesBlob(b"\x1f\x8b" + os.urandom(100)), tmp_path)
    assert info.value.error.code is ErrorCode.CORRUPT


def test_a_member_is_readable_only_until_the_next(tmp_path: Path) -> None:
    members = TarReader().members(BytesBlob(tar_bytes(FILES)), Limits(), tmp_path)
    first = next(members)
    next(members)
    with pytest.raises(ItemProblem) as info:
        first.open().read()
    assert info.value.error.code is ErrorCode.CORRUPT


def zeros_tar_gz(mib: int) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz", compresslevel=6) as t:
        info = tarfile.TarInfo("zeros.img")
        info.size = mib << 20

        class Zeros(io.RawIOBase):
            left = info.size

            def readable(self) -> bool:
                return True

            def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
                n = min(len(buf), self.left)
                buf[:n] = bytes(n)
                self.left -= n
                return n

        t.addfile(info, io.BufferedReader(Zeros()))
        add(t, "after.txt", b"after")
    return b.getvalue()


def test_tar_gz_bomb_member_is_stopped_quickly(tmp_path: Path) -> None:
    blob = BytesBlob(zeros_tar_gz(64))  # 64 MiB of zeros in about 64 KiB
    members = TarReader().members(blob, Limits(), tmp_path)
    bomb = next(members)
    start = time.monotonic()
    read = 0
    with pytest.raises(ItemProblem) as info, bomb.open() as f:
        while chunk := f.read(1 << 16):
            read += len(chunk)
    assert info.value.error.code is ErrorCode.BOMB and "ratio" in info.value.error.message
    assert read < 8 << 20 and time.monotonic() - start < 2


def test_unread_bomb_cannot_be_skipped_through(tmp_path: Path) -> None:
    """Moving past a member decompresses it; the stream meter stops that too."""
    with pytest.raises(ItemProblem) as info:
        for _member in TarReader().members(BytesBlob(zeros_tar_gz(64)), Limits(), tmp_path):
            pass
    assert info.value.error.code is ErrorCode.BOMB and "tar stream" in info.value.error.message


def test_declared_member_size_limit(tmp_path: Path) -> None:
    data = tar_bytes({"big": os.urandom(3000), "small": b"s"})
    got = by_path(collect(TarReader(), BytesBlob(data), tmp_path, Limits(max_member_bytes=2000)))
    assert got["big"].error is not None and got["big"].error.code is ErrorCode.BOMB
    assert got["small"].data == b"s"


def test_total_and_count_limits(tmp_path: Path) -> None:
    data = tar_bytes({f"{i}": os.urandom(1000) for i in range(6)})
    got = collect(TarReader(), BytesBlob(data), tmp_path, Limits(max_archive_total_bytes=3500))
    assert [g.error.code if g.error else None for g in got][:4] == [None, None, None, ErrorCode.BOMB]
    with pytest.raises(ItemProblem):
        collect(TarReader(), BytesBlob(data), tmp_path, Limits(max_members=3))


def test_large_member_streams_without_loading_whole(tmp_path: Path) -> None:
    data = os.urandom(8 << 20)
    path = tmp_path / "big.tar.gz"
    path.write_bytes(compress("gz", tar_bytes({"big.bin": data})))
    members = TarReader().members(PathBlob(path), Limits(), tmp_path)
    member = next(members)
    h = hashlib.sha256()
    tracemalloc.start()
    try:
        with member.open() as f:
            while chunk := f.read(1 << 16):
                h.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert h.digest() == hashlib.sha256(data).digest()
    assert peak < 2 << 20  # a few buffers, not the 8 MiB member
