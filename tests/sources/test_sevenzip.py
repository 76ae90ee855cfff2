from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import subprocess
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import py7zr
import pytest

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.sevenzip import SevenZipReader

from .helpers import by_path, collect, generator

HAS_7Z = shutil.which("7z") is not None


def sz(files: dict[str, bytes], *, password: str | None = None, header_encryption: bool = False,
       filters: list[dict[str, int]] | None = None, plain_header: bool = False) -> bytes:
    b = io.BytesIO()
    with py7zr.SevenZipFile(b, "w", password=password, header_encryption=header_encryption,
                            filters=filters) as z:
        if plain_header:
            z.set_encoded_header_mode(False)
        for name, data in files.items():
            z.writestr(data, name)
    return b.getvalue()


def rename_in_plain_header(data: bytes, old: str, new: str) -> bytes:
    """Swap a same-length UTF-16 name in an unencoded 7z header and fix both header CRCs."""
    assert len(old) == len(new)
    offset, size = struct.unpack_from("<QQ", data, 12)
    start = 32 + offset
    header = data[start:start + size]
    assert old.encode("utf-16-le") in header
    header = header.replace(old.encode("utf-16-le"), new.encode("utf-16-le"))
    sig = bytearray(data[:32])
    struct.pack_into("<I", sig, 28, zlib.crc32(header))
    struct.pack_into("<I", sig, 8, zlib.crc32(bytes(sig[12:32])))
    return bytes(sig) + data[32:start] + header + data[start + size:]


def test_listing_and_bytes_of_a_solid_archive(tmp_path: Path) -> None:
    files = {"a.txt": b"hello", "dir/r.bin": os.urandom(100_000), "empty": b"", "dir/z.txt": b"z" * 10}
    got = collect(SevenZipReader(), BytesBlob(sz(files)), tmp_path)
    assert [g.path for g in got] == list(files)
    assert {g.path: g.data for g in got} == files
    assert all(g.error is None and g.member.error is None for g in got)
    assert got[1].member.size == 100_000 and got[1].member.times.modified is not None
    assert list(tmp_path.iterdir()) == []  # scratch is left clean


def test_path_blob_and_directories(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("f")
    (src / "top.txt").write_text("t")
    with py7zr.SevenZipFile(tmp_path / "x.7z", "w") as z:
        z.writeall(src, "src")
    got = collect(SevenZipReader(), PathBlob(tmp_path / "x.7z"), tmp_path / "scratch")
    assert sorted((g.path, g.data) for g in got) == [("src/sub/f.txt", b"f"), ("src/top.txt", b"t")]


def test_symlink_member_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "target.txt").write_text("t")
    (tmp_path / "link").symlink_to("target.txt")
    with py7zr.SevenZipFile(tmp_path / "x.7z", "w") as z:
        z.write(tmp_path / "target.txt", "target.txt")
        z.write(tmp_path / "link", "link")
    got = by_path(collect(SevenZipReader(), PathBlob(tmp_path / "x.7z"), tmp_path / "s"))
    assert got["target.txt"].data == b"t"
    assert got["link"].error is not None and got["link"].error.code is ErrorCode.SKIPPED


def test_scratch_holds_at_most_one_member(tmp_path: Path) -> None:
    files = {f"{i}.bin": os.urandom(20_000) for i in range(6)}
    seen = []
    for m in SevenZipReader().members(BytesBlob(sz(files)), Limits(), tmp_path):
        seen.append(len(list(tmp_path.iterdir())))
        with m.open() as f:
            assert f.read() == files[m.path]
    assert max(seen) <= 1 and list(tmp_path.iterdir()) == []


def test_members_left_unread_and_early_close(tmp_path: Path) -> None:
    files = {f"{i}.bin": os.urandom(10_000) for i in range(5)}
    assert len(list(SevenZipReader().members(BytesBlob(sz(files)), Limits(), tmp_path))) == 5
    members = generator(SevenZipReader().members(BytesBlob(sz(files)), Limits(), tmp_path))
    next(members)
    members.close()
    time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name == "safehold-7z"]
    assert list(tmp_path.iterdir()) == []


def test_unsafe_names_are_flagged_and_still_read(tmp_path: Path) -> None:
    data = sz({"xx/evil.txt": b"e", "Xetc/passwd": b"p", "ok.txt": b"o"}, plain_header=True)
    data = rename_in_plain_header(data, "xx/evil.txt", "../evil.txt")
    data = rename_in_plain_header(data, "Xetc/passwd", "/etc/passwd")
    got = by_path(collect(SevenZipReader(), BytesBlob(data), tmp_path))
    for name, content in (("../evil.txt", b"e"), ("/etc/passwd", b"p")):
        g = got[name]
        assert g.member.error is not None and g.member.error.code is ErrorCode.UNSAFE_PATH
        assert g.data == content
    assert got["ok.txt"].data == b"o" and got["ok.txt"].member.error is None
    assert not (tmp_path.parent / "evil.txt").exists()


def test_encrypted_members(tmp_path: Path) -> None:
    [g] = collect(SevenZipReader(), BytesBlob(sz({"secret.txt": b"s"}, password="pw")), tmp_path)
    assert g.member.encrypted and g.error is not None and g.error.code is ErrorCode.ENCRYPTED


def test_encrypted_header(tmp_path: Path) -> None:
    data = sz({"secret.txt": b"s"}, password="pw", header_encryption=True)
    with pytest.raises(ItemProblem) as info:
        collect(SevenZipReader(), BytesBlob(data), tmp_path)
    assert info.value.error.code is ErrorCode.ENCRYPTED


@pytest.mark.parametrize("cut", [10, 40, 0.5, -5])
def test_truncated_archive(tmp_path: Path, cut: float) -> None:
    data = sz({"a.bin": os.urandom(2000), "b.txt": b"b"})
    end = int(len(data) * cut) if isinstance(cut, float) else int(cut)
    with pytest.raises(ItemProblem) as info:
        collect(SevenZipReader(), BytesBlob(data[:end]), tmp_path)
    assert info.value.error.code is ErrorCode.CORRUPT


def test_damaged_block(tmp_path: Path) -> None:
    files = {"first.bin": os.urandom(50_000), "second.txt": b"2"}
    data = bytearray(sz(files, filters=[{"id": py7zr.FILTER_COPY}]))
    data[32 + 100] ^= 0xFF  # inside first.bin's stored bytes
    got = by_path(collect(SevenZipReader(), BytesBlob(bytes(data)), tmp_path))
    first = got["first.bin"]
    assert first.error is not None and first.error.code is ErrorCode.CORRUPT
    assert "first.bin" in first.error.message
    assert got["second.txt"].error is not None and "stopped at first.bin" in got["second.txt"].error.message
    assert list(tmp_path.iterdir()) == []


def test_bomb_refused_from_the_header(tmp_path: Path) -> None:
    data = sz({"zeros.img": bytes(8 << 20), "note.txt": b"n"})
    start = time.monotonic()
    got = by_path(collect(SevenZipReader(), BytesBlob(data), tmp_path))
    assert time.monotonic() - start < 1
    for g in got.values():  # one solid block: both refused, nothing decompressed
        assert g.error is not None and g.error.code is ErrorCode.BOMB and "ratio" in g.error.message


def test_member_size_and_total_limits(tmp_path: Path) -> None:
    files = {f"{i}.bin": os.urandom(3000) for i in range(4)}
    got = collect(SevenZipReader(), BytesBlob(sz(files)), tmp_path, Limits(max_member_bytes=2000))
    assert all(g.error is not None and g.error.code is ErrorCode.BOMB for g in got)
    assert got[1].error is not None and "follows a refused member" in got[1].error.message
    got = collect(SevenZipReader(), BytesBlob(sz(files)), tmp_path, Limits(max_member_bytes=5000))
    assert all(g.error is None for g in got)  # the solid block (12,000 bytes) is not one member
    got = collect(SevenZipReader(), BytesBlob(sz(files)), tmp_path, Limits(max_archive_total_bytes=7000))
    assert [g.error is None for g in got] == [True, True, False, False]
    assert got[2].error is not None and "in total" in got[2].error.message
    with pytest.raises(ItemProblem):
        collect(SevenZipReader(), BytesBlob(sz(files)), tmp_path, Limits(max_members=2))


def test_large_member_streams(tmp_path: Path) -> None:
    data = os.urandom(8 << 20)
    blob = BytesBlob(sz({"big.bin": data}, filters=[{"id": py7zr.FILTER_COPY}]))
    members = generator(SevenZipReader().members(blob, Limits(), tmp_path))
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
    members.close()
    assert h.digest() == hashlib.sha256(data).digest() and peak < 2 << 20


# Needs the Debian tool installed by scripts/install.sh; a missing tool fails here, never skips.
def test_archives_made_by_7z_tool(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.txt").write_bytes(f"file {i}\n".encode() * 100)
    subprocess.run(["7z", "a", "-bd", "-ms=off", str(tmp_path / "nonsolid.7z"), "."], cwd=src, check=True,
                   capture_output=True)
    got = collect(SevenZipReader(), PathBlob(tmp_path / "nonsolid.7z"), tmp_path / "s")
    assert {g.path: g.data for g in got} == {f"{i}.txt": f"file {i}\n".encode() * 100 for i in range(3)}
    subprocess.run(["7z", "a", "-bd", "-ppw", "-mhe=on", str(tmp_path / "enc.7z"), "."], cwd=src, check=True,
                   capture_output=True)
    with pytest.raises(ItemProblem) as info:
        collect(SevenZipReader(), PathBlob(tmp_path / "enc.7z"), tmp_path / "s")
    assert info.value.error.code is ErrorCode.ENCRYPTED
