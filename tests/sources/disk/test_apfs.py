"""APFS against safehold.testing.apfs's fake of pyfsapfs: what no generated image can hold
(encrypted volumes, links, damaged extents, several volumes) and the locator chain. Real
containers are in test_apfs_real."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.sources.base import TopEntry
from safehold.sources.disk import DiskImageSource
from safehold.sources.disk.apfs import MediaFile
from safehold.sources.disk.cache import clear_cache, opened
from safehold.testing.apfs import FakeApfs, fake_volume
from tests.sources.disk.build import md5, partitioned
from tests.sources.disk.conftest import Images

APPLE_APFS = "7C3457EF-0000-11AA-AA11-00306543ECAC"
NS = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20.123456789 UTC
FILES = {
    "/Users/alice/Pictures/beach.jpg": b"\xff\xd8\xff benign jpeg bytes" * 50,
    "/Users/alice/notes.txt": b"benign notes\n" * 20,
    "/readme.txt": b"hello from apfs\n",
}


def stub_container() -> bytes:
    """The first 64 KiB of an APFS container as far as signatures go: ``NXSB`` at byte 32."""
    return bytes(32) + b"NXSB" + bytes(64 * 1024 - 36)


@pytest.fixture
def mac_disk(images: Images, tmp_path: Path) -> tuple[Path, int]:
    """GPT: partition 1 a FAT volume, partition 2 an APFS container."""
    disk = tmp_path / "mac.img"
    offsets = partitioned(disk, "gpt", [(images.fat, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"),
                                        (stub_container(), APPLE_APFS)])
    return disk, offsets[1]


def apfs_entries(disk: Path, fake: FakeApfs) -> tuple[DiskImageSource, list[TopEntry]]:
    src = DiskImageSource(disk, apfs_opener=fake)
    return src, [e for e in src.enumerate() if e.scheme.startswith("apfs")]


def test_files_locators_and_content(mac_disk: tuple[Path, int]) -> None:
    disk, offset = mac_disk
    fake = FakeApfs([fake_volume("Macintosh HD", FILES, times_ns=(NS, NS + 1000, NS + 2000, NS - 10**9))])
    src, got = apfs_entries(disk, fake)
    assert fake.opened == 1
    assert {e.path for e in got} == set(FILES)
    assert {e.prefix for e in got} == {(("partition", "2"), ("apfs-volume", "1"))}
    assert {e.scheme for e in got} == {"apfs"} and all(e.error is None and not e.deleted for e in got)
    assert all(e.ref.startswith(f"{offset}:apfs:1:") for e in got)
    clear_cache()
    for e in got:
        with src.open_ref(e.ref) as f:
            assert md5(f.read()) == md5(FILES[e.path]) and e.size == len(FILES[e.path])
    assert opened(disk).containers and fake.opened == 2  # once to list, once (cached) to read


def test_macb_times_and_inodes(mac_disk: tuple[Path, int]) -> None:
    fake = FakeApfs([fake_volume("Data", FILES, times_ns=(NS, NS + 1000, NS + 2000, NS - 10**9))])
    _, got = apfs_entries(mac_disk[0], fake)
    e = next(e for e in got if e.path == "/readme.txt")
    assert e.times.modified == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert e.times.accessed == datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC)
    assert e.times.changed == datetime(2023, 11, 14, 22, 13, 20, 123458, tzinfo=UTC)
    assert e.times.created == datetime(2023, 11, 14, 22, 13, 19, 123456, tzinfo=UTC)
    inodes = [int(x.inode or 0) for x in got]
    assert min(inodes) >= 16 and len(set(inodes)) == len(inodes)


def test_encrypted_volume_is_reported_and_others_read(mac_disk: tuple[Path, int]) -> None:
    fake = FakeApfs([fake_volume("Macintosh HD", FILES),
                     fake_volume("Private", {"/secret.jpg": b"never read"}, locked=True)])
    src, got = apfs_entries(mac_disk[0], fake)
    [locked] = [e for e in got if e.scheme == "apfs-volume"]
    assert locked.path == "2" and locked.prefix == (("partition", "2"),)
    assert locked.error is not None and locked.error.code == ErrorCode.ENCRYPTED
    assert "Private" in locked.error.message and "FileVault" in locked.error.message
    assert {e.path for e in got if e.scheme == "apfs"} == set(FILES)
    with pytest.raises(ItemProblem) as info:
        src.open_ref(f"{mac_disk[1]}:apfs:2:16")
    assert info.value.error.code == ErrorCode.ENCRYPTED


def test_links_damaged_files_and_missing_entries(mac_disk: tuple[Path, int]) -> None:
    fake = FakeApfs([fake_volume("HD", FILES, links=("/Users/alice/Desktop/link",),
                                 broken=("/Users/alice/notes.txt",), short=("/readme.txt",))])
    src, got = apfs_entries(mac_disk[0], fake)
    by_path = {e.path: e for e in got}
    link = by_path["/Users/alice/Desktop/link"]
    assert link.error is not None and link.error.code == ErrorCode.SKIPPED and "symbolic link" in link.error.message
    with pytest.raises(OSError, match=r"cannot read bytes 0-259 of this file: .*invalid extent"), \
            src.open_ref(by_path["/Users/alice/notes.txt"].ref) as f:
        f.read()
    with pytest.raises(OSError, match=r"cannot read bytes 8-15 of this file"), \
            src.open_ref(by_path["/readme.txt"].ref) as f:
        f.read()
    with pytest.raises(ItemProblem) as info:
        src.open_ref(f"{mac_disk[1]}:apfs:1:999")
    assert info.value.error.code == ErrorCode.UNREADABLE and "999" in info.value.error.message


def test_container_that_does_not_open(images: Images, tmp_path: Path) -> None:
    """libfsapfs refusing the container: one error on the partition, the FAT beside it still read."""
    disk = tmp_path / "bad.img"
    partitioned(disk, "gpt", [(images.fat, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"), (stub_container(), APPLE_APFS)])
    got = list(DiskImageSource(disk).enumerate())  # the real libfsapfs: a stub is no container
    [bad] = [e for e in got if e.error is not None]
    assert (bad.scheme, bad.path) == ("partition", "2") and bad.error is not None
    assert bad.error.code == ErrorCode.CORRUPT and "cannot open the APFS container" in bad.error.message
    assert len(bad.error.message) < 400
    assert sum(1 for e in got if e.scheme == "fat") == 5


def test_media_file_is_the_partition(mac_disk: tuple[Path, int]) -> None:
    disk, offset = mac_disk
    media = opened(disk).media
    stream = MediaFile(media, offset, 64 * 1024, threading.Lock())
    assert stream.get_size() == 64 * 1024 and stream.read(36)[32:] == b"NXSB"
    stream.seek(-4, 2)
    assert stream.read(100) == bytes(4) and stream.read(1) == b""
