from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest
import zstandard

from safehold.core.settings import Limits
from safehold.sources.base import ContainerReader
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.compressed import Bzip2Reader, GzipReader, XzReader, ZstdReader
from safehold.sources.rar import RarReader
from safehold.sources.registry import READERS, is_tar_header, reader_for, reader_named
from safehold.sources.sevenzip import SevenZipReader
from safehold.sources.tar import TarReader
from safehold.sources.zip import ZipReader

from .rarbuild import RarFile, rar4, rar5


def tar_bytes(fmt: int = tarfile.GNU_FORMAT) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        info = tarfile.TarInfo("a.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"a"))
    return b.getvalue()


def zip_bytes() -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("a", "a")
    return b.getvalue()


def seven_z() -> bytes:
    b = io.BytesIO()
    with py7zr.SevenZipFile(b, "w") as z:
        z.writestr(b"a", "a")
    return b.getvalue()


def pick(data: bytes, mime: str = "application/octet-stream", with_blob: bool = True) -> ContainerReader | None:
    return reader_for(mime, data[:8192], BytesBlob(data) if with_blob else None)


def test_readers_tuple_is_explicit_and_schemes_unique() -> None:
    schemes = [r.scheme for r in READERS]
    assert schemes == ["zip", "tar", "7z", "rar", "gzip", "bzip2", "xz", "zstd"]
    for scheme in schemes:
        reader = reader_named(scheme)
        assert reader is not None and reader.scheme == scheme
    assert reader_named("e01") is None


@pytest.mark.parametrize(("data", "kind"), [
    (zip_bytes(), ZipReader),
    (tar_bytes(), TarReader),
    (tar_bytes(tarfile.USTAR_FORMAT), TarReader),
    (seven_z(), SevenZipReader),
    (rar5([RarFile("a", b"a")]), RarReader),
    (rar4([RarFile("a", b"a")]), RarReader),
    (gzip.compress(b"text"), GzipReader),
    (bz2.compress(b"text"), Bzip2Reader),
    (lzma.compress(b"text"), XzReader),
    (zstandard.ZstdCompressor().compress(b"text"), ZstdReader),
    (gzip.compress(tar_bytes()), TarReader),
    (bz2.compress(tar_bytes()), TarReader),
    (lzma.compress(tar_bytes()), TarReader),
    (zstandard.ZstdCompressor().compress(tar_bytes()), TarReader),
], ids=lambda v: v.__name__ if isinstance(v, type) else "data")  # gzip bytes carry a timestamp
def test_chosen_by_content(data: bytes, kind: type) -> None:
    assert isinstance(pick(data), kind)


def test_v7_tar_without_magic() -> None:
    data = bytearray(tar_bytes(tarfile.USTAR_FORMAT))
    data[257:265] = bytes(8)  # no "ustar": an old v7 header, checksum fixed below
    data[148:156] = b" " * 8
    data[148:156] = f"{sum(data[:512]):06o}\0 ".encode()
    assert is_tar_header(bytes(data[:512]))
    assert isinstance(pick(bytes(data)), TarReader)


def test_not_containers() -> None:
    assert pick(b"\xff\xd8\xff\xe0 jpeg", "image/jpeg") is None
    assert pick(b"plain text " * 100, "text/plain") is None
    assert pick(b"", "application/x-empty") is None
    assert pick(bytes(1024)) is None  # zeros are not a tar header
    assert pick(random.Random(4096).randbytes(4096)) is None  # seeded: 1 in 65,536 draws is gzip


def test_mime_fallback_when_magic_is_not_at_the_start() -> None:
    assert isinstance(reader_for("application/zip", b"MZ self-extractor"), ZipReader)
    assert isinstance(reader_for("application/vnd.rar; charset=binary", b""), RarReader)
    assert reader_for("application/pdf", b"%PDF-1.7") is None


def test_head_only_peeks() -> None:
    tgz = gzip.compress(tar_bytes())
    assert isinstance(pick(tgz, with_blob=False), TarReader)
    txz = lzma.compress(tar_bytes())
    assert isinstance(pick(txz, with_blob=False), TarReader)
    big_bz2 = bz2.compress(tar_bytes() + os.urandom(200_000))
    assert isinstance(reader_for("", big_bz2[:8192], None), Bzip2Reader | TarReader)  # either is correct
    assert isinstance(pick(gzip.compress(b"x"), with_blob=False), GzipReader)


def test_damaged_stream_is_a_single_member_reader() -> None:
    assert isinstance(pick(b"\x1f\x8b\x08\x00" + os.urandom(100)), GzipReader)


def test_name_passes_to_single_stream_readers(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"notes"))
    reader = reader_for("application/gzip", path.read_bytes()[:8192], PathBlob(path), path.name)
    assert isinstance(reader, GzipReader) and reader.name == "notes.txt.gz"
    [member] = list(reader.members(PathBlob(path), Limits(), tmp_path))
    assert member.path == "notes.txt"
