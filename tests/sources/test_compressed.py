from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import struct
import zlib
from pathlib import Path

import pytest
import zstandard

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.blobs import BytesBlob
from safehold.sources.compressed import Bzip2Reader, GzipReader, XzReader, ZstdReader, member_name

from .helpers import collect

DATA = b"benign log line\n" * 500 + os.urandom(2000)
CASES = [
    (GzipReader, gzip.compress, "gzip"),
    (Bzip2Reader, bz2.compress, "bzip2"),
    (XzReader, lzma.compress, "xz"),
    (ZstdReader, zstandard.ZstdCompressor().compress, "zstd"),
]


@pytest.mark.parametrize(("reader", "pack", "scheme"), CASES)
def test_one_member_with_the_bytes(tmp_path: Path, reader: type[GzipReader], pack: object,
                                   scheme: str) -> None:
    blob = BytesBlob(pack(DATA))  # type: ignore[operator]
    suffix = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}[scheme]
    [g] = collect(reader("server.log" + suffix), blob, tmp_path)
    assert reader.scheme == scheme
    assert g.path == "server.log" and g.data == DATA and g.error is None
    assert g.member.size is None and g.member.compressed_size == blob.size


def test_member_names() -> None:
    gz = GzipReader.suffixes
    assert member_name("notes.txt.gz", gz) == "notes.txt"
    assert member_name("NOTES.TXT.GZ", gz) == "NOTES.TXT"
    assert member_name("backup.tgz", gz) == "backup.tar"
    assert member_name("dir/a.gz", gz) == "a"
    assert member_name("download", gz) == "download.decompressed"
    assert member_name(".gz", gz) == ".gz.decompressed"
    assert member_name("x.tar.zst", ZstdReader.suffixes) == "x.tar"


def test_gzip_header_name_and_time_when_no_name_is_given(tmp_path: Path) -> None:
    b = io.BytesIO()
    with gzip.GzipFile(filename="original.txt", mode="wb", fileobj=b, mtime=1_600_000_000) as f:
        f.write(b"abc")
    [g] = collect(GzipReader(), BytesBlob(b.getvalue()), tmp_path)
    assert g.path == "original.txt" and g.data == b"abc"
    assert g.member.times.modified is not None and g.member.times.modified.timestamp() == 1_600_000_000


def test_hostile_gzip_header_name_is_flagged(tmp_path: Path) -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(b"abc") + c.flush()
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", 0) + b"\x00\x03" + b"../../etc/cron.d/x\x00"
    data = header + body + struct.pack("<II", zlib.crc32(b"abc"), 3)  # gzip's writer keeps basenames only
    [g] = collect(GzipReader(), BytesBlob(data), tmp_path)
    assert g.path == "../../etc/cron.d/x" and g.data == b"abc"
    assert g.member.error is not None and g.member.error.code is ErrorCode.UNSAFE_PATH


def test_no_name_at_all(tmp_path: Path) -> None:
    [g] = collect(XzReader(), BytesBlob(lzma.compress(b"x")), tmp_path)
    assert g.path == "decompressed"


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    [g] = collect(GzipReader("a.gz"), BytesBlob(gzip.compress(b"one ") + gzip.compress(b"two")), tmp_path)
    assert g.data == b"one two"


@pytest.mark.parametrize(("reader", "pack", "scheme"), CASES)
def test_truncated_stream_is_corrupt(tmp_path: Path, reader: type[GzipReader], pack: object,
                                     scheme: str) -> None:
    packed = pack(os.urandom(20_000))  # type: ignore[operator]
    [g] = collect(reader("x"), BytesBlob(packed[: len(packed) // 2]), tmp_path)
    assert g.error is not None and g.error.code is ErrorCode.CORRUPT, scheme


@pytest.mark.parametrize(("reader", "pack", "scheme"), CASES)
def test_bomb_is_stopped(tmp_path: Path, reader: type[GzipReader], pack: object, scheme: str) -> None:
    blob = BytesBlob(pack(bytes(16 << 20)))  # type: ignore[operator]
    members = reader("zeros").members(blob, Limits(), tmp_path)
    member = next(members)
    read = 0
    with pytest.raises(ItemProblem) as info, member.open() as f:
        while chunk := f.read(1 << 16):
            read += len(chunk)
    assert info.value.error.code is ErrorCode.BOMB, scheme
    assert read < 4 << 20


def test_zstd_frame_walk() -> None:
    from safehold.sources.streams import zstd_complete

    cctx = zstandard.ZstdCompressor(write_checksum=True)
    whole = cctx.compress(os.urandom(300_000)) + cctx.compress(bytes(500_000))
    skippable = struct.pack("<II", 0x184D2A50, 3) + b"abc"
    assert zstd_complete(io.BytesIO(whole + skippable))
    for cut in (1, 5, len(whole) // 2, len(whole) - 1):
        assert not zstd_complete(io.BytesIO(whole[:cut]))
