"""Real APFS containers: made by apfsprogs' mkapfs, files added by safehold.testing.apfs_image,
read by libfsapfs through Safehold and cross-checked with TSK (``fls``/``istat``/``icat -B``)."""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safehold.ingest.executor import LocalProcessExecutor
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.files import iter_files
from safehold.services.ingest import run_ingest
from safehold.sources.disk import DiskImageSource
from safehold.sources.factory import kind_for_path
from safehold.testing.apfs_image import add_files, fletcher64, name_hash
from safehold.testing.images import encode, synthetic_photo
from safehold.testing.udif import write_udif
from tests.sources.disk.build import md5, partitioned, run

APPLE_APFS = "7C3457EF-0000-11AA-AA11-00306543ECAC"
NS = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20.123456789 UTC
TIMES = (NS, NS + 1_000, NS + 2_000, NS - 10**9)  # modified, accessed, changed, created
FILES = {
    "/Users/alice/Pictures/beach.jpg": encode(synthetic_photo(11, (64, 40)), "JPEG", quality=85),
    "/Users/alice/notes.txt": b"benign apfs notes\n" * 500,  # 9,000 bytes: three blocks
    "/readme.txt": b"hello from apfs\n",
    "/empty.txt": b"",
}


def mkapfs(path: Path) -> Path:
    with open(path, "wb") as f:
        f.truncate(128 << 20)  # sparse; mkapfs refuses smaller containers
    run("mkapfs", "-L", "Benign", path)
    return path


@pytest.fixture(scope="module")
def apfs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = mkapfs(tmp_path_factory.mktemp("apfs") / "apfs.img")
    return path, add_files(path, FILES, times_ns=TIMES)


def apsb_block(image: Path) -> int:
    """The volume superblock's block, which TSK's APFS tools take as ``-B``."""
    return int(re.findall(r"APSB Block Number: (\d+)", run("pstat", image))[0])


def test_generator_agrees_with_mkapfs(tmp_path: Path) -> None:
    """The name hash reproduces mkapfs's own directory keys; written objects checksum."""
    image = mkapfs(tmp_path / "fresh.img")
    with open(image, "rb") as f:
        superblock = f.read(4096)
        f.seek(20000 * 4096)  # where mkapfs puts the volume's objects (object maps, trees)
        data = f.read(16 * 4096)
    assert struct.unpack_from("<Q", superblock)[0] == fletcher64(superblock)
    for name in ("root", "private-dir"):
        raw = struct.pack("<I", (name_hash(name, True) << 10) | (len(name) + 1)) + name.encode() + b"\0"
        assert raw in data, name
    with pytest.raises(ValueError, match="do not fit in one"):
        add_files(image, {f"/f{i:02d}.txt": b"x" for i in range(40)})
    assert list(DiskImageSource(image).enumerate()) == []  # refused before anything was written


def test_files_inodes_content(apfs: tuple[Path, dict[str, int]]) -> None:
    image, inodes = apfs
    assert kind_for_path(image) == "disk"
    src = DiskImageSource(image)
    got = {e.path: e for e in src.enumerate()}
    assert set(got) == set(FILES) and all(e.error is None for e in got.values())
    assert {e.scheme for e in got.values()} == {"apfs"}
    assert {e.prefix for e in got.values()} == {(("apfs-volume", "1"),)}
    for path, e in got.items():
        assert e.inode == str(inodes[path]) and e.size == len(FILES[path])
        with src.open_ref(e.ref) as f:
            assert md5(f.read()) == md5(FILES[path])


def test_macb_times(apfs: tuple[Path, dict[str, int]]) -> None:
    """Written in Apple's layout; Safehold and TSK's istat must both read them back as such."""
    image, inodes = apfs
    e = next(e for e in DiskImageSource(image).enumerate() if e.path == "/readme.txt")
    assert e.times.modified == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert e.times.accessed == datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC)
    assert e.times.changed == datetime(2023, 11, 14, 22, 13, 20, 123458, tzinfo=UTC)
    assert e.times.created == datetime(2023, 11, 14, 22, 13, 19, 123456, tzinfo=UTC)
    istat = run("istat", "-z", "UTC", "-B", str(apsb_block(image)), image, str(inodes["/readme.txt"]))
    assert re.search(r"Created:\s+2023-11-14 22:13:19\.123456789", istat), istat
    assert re.search(r"Content Modified:\s+2023-11-14 22:13:20\.123456789", istat), istat


def test_listing_matches_tsk(apfs: tuple[Path, dict[str, int]]) -> None:
    image, _ = apfs
    block = str(apsb_block(image))
    tsk = {}
    for line in run("fls", "-r", "-p", "-B", block, image).splitlines():
        kind, inode, path = re.match(r"^(\S)/\S (\d+):\t(.*)$", line).groups()  # type: ignore[union-attr]
        if kind == "r":
            tsk["/" + path] = inode
    ours = {e.path: e.inode for e in DiskImageSource(image).enumerate()}
    assert ours == tsk
    for path, inode in tsk.items():
        if FILES[path]:  # icat refuses an inode without a data stream (the empty file)
            assert md5(run_bytes("icat", "-B", block, image, inode)) == md5(FILES[path])


def run_bytes(*args: str | Path) -> bytes:
    import subprocess

    return subprocess.run([str(a) for a in args], check=True, capture_output=True).stdout


def test_mac_disk_image_end_to_end(ctx: ServiceContext, apfs: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    """GPT with an APFS partition, in a DMG, ingested by worker processes: locators carry the
    APFS volume."""
    disk = tmp_path / "mac.img"
    partitioned(disk, "gpt", [(apfs[0], APPLE_APFS)])
    dmg = write_udif(disk, tmp_path / "mac.dmg")
    disk.unlink()
    create_case(ctx, "c")
    item = add_evidence(ctx, "c", dmg, "MacBook")
    assert item.source_kind == "disk"
    # libfsapfs in workers
    run_ingest(ctx, Authz.local("test"), "c", executor=LocalProcessExecutor(ctx.settings, workers=2))
    files = {f["locator"]: f for f in iter_files(ctx, "c")}
    base = f"evidence:{item.id} / partition:1 / apfs-volume:1 / apfs:"
    assert set(files) == {base + p for p in FILES}
    photo = files[base + "/Users/alice/Pictures/beach.jpg"]
    assert photo["md5"] == md5(FILES["/Users/alice/Pictures/beach.jpg"]) and photo["media_type"] == "image"
    assert files[base + "/Users/alice/notes.txt"]["md5"] == md5(FILES["/Users/alice/notes.txt"])
    assert all(f["error"] is None or f["size"] == 0 for f in files.values())
