"""DMG (UDIF) images written by safehold.testing.udif and read through libmodi: the same files
and MD5s as the raw disk inside; damaged DMGs give one clear error per item, never a crash."""

from __future__ import annotations

import hashlib
import plistlib
import struct
import zlib
from pathlib import Path

import pytest

from safehold.core.errors import ErrorCode
from safehold.ingest.executor import InlineExecutor
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.files import iter_files
from safehold.services.ingest import run_ingest
from safehold.sources.disk import DiskImageSource
from safehold.sources.disk.acquisition import acquire_disk
from safehold.sources.disk.image import open_media
from safehold.sources.factory import kind_for_path
from safehold.testing.udif import write_udif
from tests.sources.disk.build import Layout, fat_image, md5
from tests.sources.disk.conftest import Images
from tests.sources.disk.test_containers import listing
from tests.sources.disk.test_listing import entries


def chunks(dmg: bytes) -> list[tuple[int, int, int, int]]:
    """(type, first sector, file offset, stored size) of each chunk, read back from the trailer."""
    plist_at, plist_len = struct.unpack_from(">QQ", dmg, len(dmg) - 512 + 216)
    mish = plistlib.loads(dmg[plist_at:plist_at + plist_len])["resource-fork"]["blkx"][0]["Data"]
    count = struct.unpack_from(">I", mish, 200)[0]
    out = []
    for i in range(count):
        kind, _, start, _, offset, size = struct.unpack_from(">IIQQQQ", mish, 204 + 40 * i)
        out.append((kind, start, offset, size))
    return out


def test_udif_layout(images: Images) -> None:
    """What the generator writes is what UDIF says: koly trailer, mish table, zlib chunks."""
    dmg = images.mac_dmg.read_bytes()
    assert dmg[-512:-508] == b"koly" and struct.unpack_from(">II", dmg, len(dmg) - 508) == (4, 512)
    sectors = struct.unpack_from(">Q", dmg, len(dmg) - 512 + 492)[0]
    assert sectors * 512 == images.mac.stat().st_size
    kinds = {k for k, *_ in chunks(dmg)}
    assert kinds == {0x7FFFFFFE, 0x80000005, 0x00000002, 0xFFFFFFFF}  # comment, zlib, zeros, end
    assert len(dmg) < images.mac.stat().st_size // 4


@pytest.mark.parametrize("mode", ["zlib", "raw", "mixed"])
def test_libmodi_reads_back_the_media(images: Images, tmp_path: Path, mode: str) -> None:
    dmg = write_udif(images.fat, tmp_path / f"fat-{mode}.dmg", chunk_sectors=16, mode=mode)  # type: ignore[arg-type]
    media = open_media(dmg)
    assert media.kind == "dmg" and media.size == images.fat.stat().st_size
    assert hashlib.sha256(media.read(0, media.size)).digest() == hashlib.sha256(images.fat.read_bytes()).digest()
    assert listing(dmg) == listing(images.fat)


def test_dmg_of_a_partitioned_disk(images: Images) -> None:
    """FAT, ext4 and NTFS partitions (deleted files and an ADS included) through a DMG."""
    assert kind_for_path(images.mbr_dmg) == "disk"
    got = listing(images.mbr_dmg)
    assert got == listing(images.mbr) and len(got) == 16
    acq = acquire_disk(images.mbr_dmg)
    assert acq.container == "dmg" and acq.method == "sha256"
    assert acq.digest == hashlib.sha256(images.mbr_dmg.read_bytes()).hexdigest()


def test_mac_dmg_with_hfs(images: Images) -> None:
    got = listing(images.mac_dmg)
    assert {e.scheme for e, _ in got} == {"hfs"} and {e.prefix for e, _ in got} == {(("partition", "1"),)}
    assert {e.path: digest for e, digest in got} == {
        "/" + p: md5(d) for p, d in images.layouts["hfs"].files.items()}


def _one_error(path: Path) -> tuple[ErrorCode, str]:
    [e] = entries(path)
    assert e.scheme == "image" and e.path == path.name and e.error is not None
    return e.error.code, e.error.message


def test_truncated_dmg(images: Images, tmp_path: Path) -> None:
    """A copy that stopped half-way has lost its trailer: named .dmg, it is an image with an error."""
    data = images.mac_dmg.read_bytes()
    cut = tmp_path / "copy.dmg"
    cut.write_bytes(data[: len(data) // 2])
    assert kind_for_path(cut) == "disk"
    code, message = _one_error(cut)
    assert code == ErrorCode.CORRUPT and "truncated" in message and "koly" in message
    assert acquire_disk(cut).container == "dmg"
    renamed = tmp_path / "copy.bin"  # the same bytes under another name say nothing: a plain file
    renamed.write_bytes(cut.read_bytes())
    assert kind_for_path(renamed) == "file"


def test_dmg_with_a_damaged_plist(images: Images, tmp_path: Path) -> None:
    data = bytearray(images.mac_dmg.read_bytes())
    plist_at = struct.unpack_from(">Q", data, len(data) - 512 + 216)[0]
    data[plist_at + 100:plist_at + 160] = b"#" * 60
    bad = tmp_path / "bad.dmg"
    bad.write_bytes(data)
    code, message = _one_error(bad)
    assert code == ErrorCode.CORRUPT and message.startswith("cannot open dmg image:") and "XML" in message
    assert len(message) < 300  # libyal's whole call chain is not an investigator's error message


def test_dmg_whose_trailer_points_nowhere(images: Images, tmp_path: Path) -> None:
    """Data removed from the middle, trailer kept: libmodi finds no block table and no media."""
    data = images.mac_dmg.read_bytes()
    plist_at = struct.unpack_from(">Q", data, len(data) - 512 + 216)[0]
    bad = tmp_path / "spliced.dmg"
    bad.write_bytes(data[: plist_at // 2] + data[plist_at:])
    code, message = _one_error(bad)
    assert code == ErrorCode.CORRUPT and "no media data" in message


def test_damaged_chunk_costs_only_the_file_stored_there(tmp_path: Path) -> None:
    big = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(12000))  # 384 KB
    layout = Layout({"first.txt": b"first benign file\n", "big.bin": big, "last.txt": b"last benign file\n"})
    fat = fat_image(tmp_path / "fat.img", layout)
    data = bytearray(write_udif(fat, tmp_path / "ok.dmg", chunk_sectors=64).read_bytes())
    [(offset, size)] = [(o, s) for kind, _, o, s in chunks(bytes(data))
                        if kind == 0x80000005 and big[200_000:200_100] in zlib.decompress(data[o:o + s])]
    data[offset + size // 2:offset + size // 2 + 16] = bytes(16)
    bad = tmp_path / "bad.dmg"
    bad.write_bytes(data)
    src = DiskImageSource(bad)
    got = {e.path: e for e in entries(bad)}
    assert set(got) == {"/first.txt", "/big.bin", "/last.txt"} and all(e.error is None for e in got.values())
    for name in ("/first.txt", "/last.txt"):
        with src.open_ref(got[name].ref) as f:
            assert f.read() == layout.files[name[1:]]
    with pytest.raises(OSError, match="cannot read bytes") as info, src.open_ref(got["/big.bin"].ref) as f:
        f.read()
    assert "libmodi" in str(info.value) and len(str(info.value)) < 400


def test_damaged_chunk_near_the_boot_sector(images: Images, tmp_path: Path) -> None:
    """A bad 4 KiB chunk inside TSK's first 64 KiB cache block: the FAT still opens and lists,
    files outside the chunk (deleted ones included) read, the ones inside it fail."""
    layout = images.layouts["fat"]
    photo = layout.files["docs/photo1.jpg"]
    data = bytearray(write_udif(images.fat, tmp_path / "ok.dmg", chunk_sectors=8).read_bytes())
    [(start, offset, size)] = [(st, o, s) for kind, st, o, s in chunks(bytes(data))
                               if kind == 0x80000005 and photo[:256] in zlib.decompress(data[o:o + s])]
    assert start * 512 < 64 * 1024
    data[offset + size // 2:offset + size // 2 + 16] = bytes(16)
    bad = tmp_path / "bad.dmg"
    bad.write_bytes(data)
    src = DiskImageSource(bad)
    got = entries(bad)
    assert len(got) == 5 and all(e.error is None for e in got)
    readable, failed = {}, set()
    for e in got:
        try:
            with src.open_ref(e.ref) as f:
                readable[e.path] = md5(f.read())
        except OSError:
            failed.add(e.path)
    assert "/docs/photo1.jpg" in failed and "/readme.txt" in readable
    assert set(readable.values()) <= {md5(d) for d in [*layout.files.values(), *layout.deleted.values()]}
    assert sum(1 for p in readable if p.startswith(("/_", "/docs/_"))) == 2  # both deleted files


def test_dmg_evidence_end_to_end(ctx: ServiceContext, images: Images, tmp_path: Path) -> None:
    """A Mac's DMG ingested: HFS+ files with their MD5s; a truncated copy of it beside, as a
    second item: one CORRUPT error against the image, and the run finishes."""
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", images.mac_dmg, "MacBook DMG")
    assert item.source_kind == "disk" and item.acquisition_method == "sha256"
    data = images.mac_dmg.read_bytes()
    cut = tmp_path / "partial.dmg"
    cut.write_bytes(data[: len(data) // 3])
    partial = add_evidence(ctx, "c", cut, "partial download")
    assert partial.source_kind == "disk"
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    files = {f["locator"]: f for f in iter_files(ctx, "c")}
    base = f"evidence:{item.id} / partition:1 / hfs:/"
    for rel, content in images.layouts["hfs"].files.items():
        assert files[base + rel]["md5"] == md5(content) and files[base + rel]["error"] is None
    [bad] = [f for f in files.values() if f["locator"].startswith(f"evidence:{partial.id} ")]
    assert bad["locator"] == f"evidence:{partial.id} / image:partial.dmg"
    assert bad["error"].startswith("corrupt: DMG without its UDIF trailer")
