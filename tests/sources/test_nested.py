"""Containers inside containers, opened the way the pipeline does: read a member, pick a reader
for its bytes, recurse."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import py7zr

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob
from safehold.sources.blobs import BytesBlob
from safehold.sources.registry import reader_for

from .rarbuild import RarFile, rar5


def walk(blob: Blob, scratch: Path, limits: Limits, prefix: str = "", depth: int = 0) -> dict[str, object]:
    """locator-like path -> bytes, or the error code met; containers are expanded."""
    out: dict[str, object] = {}
    with blob.open() as f:
        head = f.read(8192)
    reader = reader_for("application/octet-stream", head, blob)
    assert reader is not None, prefix
    sub = scratch / f"d{depth}"
    sub.mkdir(parents=True, exist_ok=True)
    for m in reader.members(blob, limits, sub):
        key = f"{prefix}{reader.scheme}:{m.path}"
        try:
            with m.open() as f:
                data = f.read()
        except ItemProblem as exc:
            out[key] = exc.error.code
            continue
        child = BytesBlob(data)
        if reader_for("application/octet-stream", data[:8192], child) is not None:
            out.update(walk(child, scratch, limits, key + " / ", depth + 1))
        else:
            out[key] = data
    return out


def zip_of(files: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return b.getvalue()


def tgz_of(files: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return b.getvalue()


def seven_of(files: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with py7zr.SevenZipFile(b, "w") as z:
        for name, data in files.items():
            z.writestr(data, name)
    return b.getvalue()


def test_zip_in_tgz_in_7z_with_rar_beside(tmp_path: Path) -> None:
    inner = zip_of({"photos/1.jpg": b"\xff\xd8 not really a jpeg", "chat.txt": b"hi"})
    middle = tgz_of({"backup/phone.zip": inner, "backup/readme": b"readme"})
    rar = rar5([RarFile("doc.txt", b"rar doc")])
    outer = seven_of({"seized/archive.tar.gz": middle, "seized/notes.rar": rar, "top.txt": b"top"})
    got = walk(BytesBlob(outer), tmp_path, Limits())
    assert got == {
        "7z:seized/archive.tar.gz / tar:backup/phone.zip / zip:photos/1.jpg": b"\xff\xd8 not really a jpeg",
        "7z:seized/archive.tar.gz / tar:backup/phone.zip / zip:chat.txt": b"hi",
        "7z:seized/archive.tar.gz / tar:backup/readme": b"readme",
        "7z:seized/notes.rar / rar:doc.txt": b"rar doc",
        "7z:top.txt": b"top",
    }


def test_gzip_stream_of_a_zip(tmp_path: Path) -> None:
    got = walk(BytesBlob(gzip.compress(zip_of({"a": b"a"}))), tmp_path, Limits())
    assert got == {"gzip:decompressed / zip:a": b"a"}


def test_nested_zip_bomb_is_stopped_at_the_layer_that_explodes(tmp_path: Path) -> None:
    b = io.BytesIO()  # 32 MiB of zeros in ~32 KiB, written in chunks
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z, \
            z.open("zeros.bin", "w", force_zip64=False) as f:
        for _ in range(32):
            f.write(bytes(1 << 20))
    zeros = b.getvalue()
    level2 = zip_of({f"copy{i}.zip": zeros for i in range(4)})
    level1 = zip_of({f"box{i}.zip": level2 for i in range(2)})
    got = walk(BytesBlob(level1), tmp_path, Limits())
    assert len(got) == 8
    assert set(got.values()) == {ErrorCode.BOMB}
