from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.zip import ZipReader

from .helpers import by_path, collect, deflated, raw_zip, stored


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return b.getvalue()


def test_listing_and_bytes(tmp_path: Path) -> None:
    blob = zip_bytes({"photos/1.jpg": b"\xff\xd8jpeg", "notes.txt": b"hello" * 100, "dir/": b"",
                      "empty.txt": b""})
    got = collect(ZipReader(), BytesBlob(blob), tmp_path)
    assert [g.path for g in got] == ["photos/1.jpg", "notes.txt", "empty.txt"]  # directories are not members
    m = by_path(got)
    assert m["notes.txt"].data == b"hello" * 100 and m["notes.txt"].member.size == 500
    assert m["notes.txt"].member.compressed_size is not None and m["notes.txt"].member.compressed_size < 500
    assert m["empty.txt"].data == b"" and m["empty.txt"].member.size == 0
    assert all(g.error is None and g.member.error is None for g in got)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_methods(tmp_path: Path, method: int) -> None:
    data = os.urandom(5000) + b"a" * 5000
    got = collect(ZipReader(), BytesBlob(zip_bytes({"m": data}, method)), tmp_path)
    assert got[0].data == data


def test_path_blob(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(zip_bytes({"a": b"1"}))
    assert collect(ZipReader(), PathBlob(path), tmp_path / "s")[0].data == b"1"


def test_times_from_extra_fields(tmp_path: Path) -> None:
    ts = 1_500_000_000
    ntfs_t = (ts + 11_644_473_600) * 10_000_000
    ntfs = struct.pack("<HH", 0x000A, 32) + bytes(4) + struct.pack("<HHQQQ", 1, 24, ntfs_t, ntfs_t, ntfs_t)
    unix = struct.pack("<HHBi", 0x5455, 5, 1, ts)
    e1 = stored("ntfs", b"1", extra=ntfs)  # type: ignore[arg-type]
    e2 = stored("unix", b"2", extra=unix)  # type: ignore[arg-type]
    e3 = stored("dos", b"3")
    got = by_path(collect(ZipReader(), BytesBlob(raw_zip([e1, e2, e3])), tmp_path))
    when = datetime.fromtimestamp(ts, UTC)
    assert got["ntfs"].member.times.modified == when and got["ntfs"].member.times.created == when
    assert got["unix"].member.times.modified == when
    assert got["dos"].member.times.modified == datetime(1980, 1, 1, tzinfo=UTC)  # DOS date 0x21, time 0


@pytest.mark.parametrize("name", ["/etc/passwd", "C:\\Windows\\x.dll", "..\\..\\boot.ini", "a/../../b",
                                  "../evil.txt"])
def test_unsafe_names_are_flagged_and_still_read(tmp_path: Path, name: str) -> None:
    got = collect(ZipReader(), BytesBlob(raw_zip([stored(name, b"evidence")])), tmp_path)
    [g] = got
    assert g.path == name  # verbatim
    assert g.member.error is not None and g.member.error.code is ErrorCode.UNSAFE_PATH
    assert g.data == b"evidence"
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_nul_in_name_is_kept(tmp_path: Path) -> None:
    [g] = collect(ZipReader(), BytesBlob(raw_zip([stored(b"safe.jpg\x00.exe", b"x")])), tmp_path)
    assert g.path == "safe.jpg\x00.exe"  # zipfile alone would say "safe.jpg"
    assert g.member.error is not None and "NUL" in g.member.error.message
    assert g.data == b"x"


def test_encrypted_members_are_listed_not_read(tmp_path: Path) -> None:
    entries = [stored("plain.txt", b"p"), stored("crypt.txt", b"c" * 20, flags=1),
               stored("aes.txt", b"a" * 40, flags=1, method=99)]
    got = by_path(collect(ZipReader(), BytesBlob(raw_zip(entries)), tmp_path))
    assert got["plain.txt"].data == b"p"
    for name, how in (("crypt.txt", "ZipCrypto"), ("aes.txt", "WinZip AES")):
        g = got[name]
        assert g.member.encrypted and g.data is None
        assert g.error is not None and g.error.code is ErrorCode.ENCRYPTED and how in g.error.message


# Needs the Debian tool installed by scripts/install.sh; a missing tool fails here, never skips.
def test_encrypted_zip_made_by_zip_tool(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("benign secret")
    subprocess.run(["zip", "-q", "-P", "pw", "enc.zip", "secret.txt"], cwd=tmp_path, check=True)
    [g] = collect(ZipReader(), PathBlob(tmp_path / "enc.zip"), tmp_path / "s")
    assert g.member.encrypted and g.error is not None and g.error.code is ErrorCode.ENCRYPTED


def test_unsupported_method(tmp_path: Path) -> None:
    [g] = collect(ZipReader(), BytesBlob(raw_zip([stored("d64", b"x", method=9)])), tmp_path)
    assert g.error is not None and g.error.code is ErrorCode.UNSUPPORTED and "deflate64" in g.error.message


def test_symlink_member_is_skipped(tmp_path: Path) -> None:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/shadow")
    [g] = collect(ZipReader(), BytesBlob(b.getvalue()), tmp_path)
    assert g.error is not None and g.error.code is ErrorCode.SKIPPED


@pytest.mark.parametrize("cut", [10, 100, -10])
def test_truncated_or_garbage_directory_is_corrupt(tmp_path: Path, cut: int) -> None:
    data = zip_bytes({"a.txt": b"a" * 1000, "b.txt": b"b" * 1000})
    with pytest.raises(ItemProblem) as info:
        collect(ZipReader(), BytesBlob(data[:cut]), tmp_path)
    assert info.value.error.code is ErrorCode.CORRUPT


def test_garbage_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ItemProblem) as info:
        list(ZipReader().members(BytesBlob(os.urandom(4096)), Limits(), tmp_path))
    assert info.value.error.code is ErrorCode.CORRUPT


def test_damaged_member_data_is_corrupt(tmp_path: Path) -> None:
    good = deflated("good.txt", b"g" * 1000)
    bad = deflated("bad.bin", os.urandom(3000))
    data = bytearray(raw_zip([bad, good]))
    data[60:70] = b"\x00" * 10  # inside bad.bin's deflate stream
    got = by_path(collect(ZipReader(), BytesBlob(bytes(data)), tmp_path))
    assert got["bad.bin"].error is not None and got["bad.bin"].error.code is ErrorCode.CORRUPT
    assert got["good.txt"].data == b"g" * 1000


def zero_bomb_entry(name: str, mib: int) -> tuple[bytes, int]:
    """A deflate stream of ``mib`` MiB of zeros built from one repeated flushed block, fast."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    stream = block + again * (mib - 1) + c.flush()
    return stream, mib << 20


def test_zip_bomb_is_refused_before_decompressing(tmp_path: Path) -> None:
    stream, size = zero_bomb_entry("zeros", 1024)  # 1 GiB of zeros in ~1 MiB
    entry = stored("zeros.bin", b"")
    entry.payload, entry.size, entry.method, entry.crc = stream, size, 8, 0
    blob = BytesBlob(raw_zip([entry, stored("fine.txt", b"fine")]))
    start = time.monotonic()
    got = by_path(collect(ZipReader(), blob, tmp_path))
    assert time.monotonic() - start < 2
    bomb = got["zeros.bin"]
    assert bomb.error is not None and bomb.error.code is ErrorCode.BOMB and "ratio" in bomb.error.message
    assert got["fine.txt"].data == b"fine"


def test_lying_sizes_cannot_inflate_past_the_declared_size(tmp_path: Path) -> None:
    stream, _ = zero_bomb_entry("zeros", 64)
    entry = stored("liar.bin", b"")
    entry.payload, entry.size, entry.method, entry.crc = stream, len(stream), 8, 0  # claims ratio 1
    [g] = collect(ZipReader(), BytesBlob(raw_zip([entry])), tmp_path)
    assert g.error is not None and g.error.code is ErrorCode.CORRUPT  # stops at the claimed size; bad CRC


def test_meter_stops_a_member_read_in_chunks(tmp_path: Path) -> None:
    stream, size = zero_bomb_entry("zeros", 8)
    entry = stored("zeros.bin", b"")
    entry.payload, entry.size, entry.method, entry.crc = stream, size, 8, zlib.crc32(bytes(size))
    limits = Limits(max_ratio=100_000, max_member_bytes=3 << 20)  # declared figures pass the ratio
    members = ZipReader().members(BytesBlob(raw_zip([entry])), Limits(max_ratio=100_000), tmp_path)
    member = next(members)  # a member is readable while the iterator rests on it
    read = 0
    with member.open() as f:
        while chunk := f.read(1 << 16):
            read += len(chunk)
    assert read == size  # fine under the default member limit
    members = ZipReader().members(BytesBlob(raw_zip([entry])), limits, tmp_path)
    member = next(members)
    with pytest.raises(ItemProblem) as info:
        member.open()
    assert info.value.error.code is ErrorCode.BOMB and "declared size" in info.value.error.message


def test_total_budget_across_members(tmp_path: Path) -> None:
    files = {f"r{i}.bin": os.urandom(300_000) for i in range(5)}
    limits = Limits(max_archive_total_bytes=1_000_000)
    got = collect(ZipReader(), BytesBlob(zip_bytes(files)), tmp_path, limits)
    assert [g.error is None for g in got] == [True, True, True, False, False]
    error = got[3].error
    assert error is not None and error.code is ErrorCode.BOMB and "in total" in error.message


def test_member_count_limit(tmp_path: Path) -> None:
    data = zip_bytes({f"{i}.txt": b"x" for i in range(10)})
    with pytest.raises(ItemProblem) as info:
        collect(ZipReader(), BytesBlob(data), tmp_path, Limits(max_members=5))
    assert info.value.error.code is ErrorCode.BOMB


def test_large_member_streams_in_chunks(tmp_path: Path) -> None:
    data = os.urandom(6 << 20)
    members = ZipReader().members(BytesBlob(zip_bytes({"big.bin": data})), Limits(), tmp_path)
    member = next(members)  # keep the generator alive while reading
    h = hashlib.sha256()
    with member.open() as f:
        while chunk := f.read(1 << 16):
            assert len(chunk) <= 1 << 16
            h.update(chunk)
    assert h.digest() == hashlib.sha256(data).digest()
