"""Bad input never ends an enumeration: encrypted, damaged and missing volumes become entries
with an error, and the other partitions are still walked."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from safehold.core.errors import ErrorCode
from safehold.sources.base import TopEntry
from safehold.sources.disk import DiskImageSource
from safehold.sources.disk.acquisition import acquire_disk
from safehold.sources.factory import kind_for_path
from tests.sources.disk.build import fls_paths, partitioned
from tests.sources.disk.conftest import Images

MIB = 1 << 20
BITLOCKER = b"\xebX\x90-FVE-FS-" + b"\0" * (2 * MIB - 11)
LUKS = b"LUKS\xba\xbe\x00\x02" + b"\0" * (2 * MIB - 8)


def entries(path: Path) -> list[TopEntry]:
    return list(DiskImageSource(path).enumerate())


def errors(got: list[TopEntry]) -> dict[str, tuple[ErrorCode, str]]:
    return {f"{e.scheme}:{e.path}": (e.error.code, e.error.message) for e in got if e.error is not None}


@pytest.fixture(scope="module")
def hostile(images: Images, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """p1 FAT, p2 BitLocker, p3 LUKS, p4 ext4 whose superblock is zeroed."""
    tmp = tmp_path_factory.mktemp("hostile")
    zeroed = tmp / "zeroed.img"
    data = bytearray(images.ext4.read_bytes())
    data[1024:2048] = bytes(1024)
    zeroed.write_bytes(data)
    path = tmp / "hostile.img"
    partitioned(path, "dos", [(images.fat, "c"), (BITLOCKER, "7"), (LUKS, "83"), (zeroed, "83")])
    return path


def test_encrypted_and_unknown_volumes_are_reported(hostile: Path, images: Images) -> None:
    assert kind_for_path(hostile) == "disk"
    got = entries(hostile)
    errs = errors(got)
    assert errs["partition:2"] == (ErrorCode.ENCRYPTED, "BitLocker volume: not decrypted")
    assert errs["partition:3"] == (ErrorCode.ENCRYPTED, "LUKS volume: not decrypted")
    code, message = errs["partition:4"]
    assert code == ErrorCode.CORRUPT and "no file system recognised" in message
    fat = [e for e in got if e.prefix == (("partition", "1"),)]
    alloc, gone = fls_paths(images.fat)
    assert {e.path for e in fat} == alloc | gone and all(e.error is None for e in fat)
    assert [e.path for e in got if e.scheme == "partition"] == ["2", "3", "4"]


def test_partition_beyond_the_end(hostile: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.img"
    shutil.copyfile(hostile, broken)
    with open(broken, "r+b") as f:  # entry 4 now starts 2 TiB in
        f.seek(446 + 3 * 16 + 8)
        f.write(struct.pack("<I", 0xF0000000))
    got = entries(broken)
    code, message = errors(got)["partition:4"]
    assert code == ErrorCode.CORRUPT and "beyond the end of the image" in message
    assert sum(1 for e in got if e.prefix == (("partition", "1"),) and e.error is None) == 5


def test_truncated_image(images: Images, tmp_path: Path) -> None:
    cut = tmp_path / "cut.img"
    cut.write_bytes(images.mbr.read_bytes()[: images.mbr_offsets[2] + 2 * MIB])
    got = entries(cut)
    src = DiskImageSource(cut)
    for e in got:  # reading what is listed may fail per file, never for the run
        if e.error is None and e.prefix == (("partition", "3"),):
            try:
                with src.open_ref(e.ref) as f:
                    f.read()
            except Exception as exc:
                assert isinstance(exc, OSError | ValueError), exc
    ok = [e for e in got if e.error is None and e.prefix in ((("partition", "1"),), (("partition", "2"),))]
    assert len(ok) == 10
    code, message = errors(got)["partition:3"]
    assert code == ErrorCode.CORRUPT and "beyond the end of the image" in message


def test_truncated_and_incomplete_e01(images: Images, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(images.fat_e01_multi.parent, bad)
    last = sorted(bad.iterdir())[-1]
    last.write_bytes(last.read_bytes()[:1000])
    [e] = entries(bad / "fat.E01")
    assert e.scheme == "image" and e.error is not None and e.error.code == ErrorCode.CORRUPT
    acq = acquire_disk(bad / "fat.E01")
    assert acq.custody[0][0] == "verification-failed" and acq.warning
    gone = tmp_path / "gone"
    shutil.copytree(images.fat_e01_multi.parent, gone)
    (gone / "fat.E02").unlink()
    [e] = entries(gone / "fat.E01")
    assert e.error is not None and e.error.code == ErrorCode.CORRUPT and "segment 02 is missing" in e.error.message
    assert "segment 02 is missing" in (acquire_disk(gone / "fat.E01").warning or "")


def test_whole_image_encrypted(tmp_path: Path) -> None:
    luks = tmp_path / "phone.bin"
    luks.write_bytes(LUKS)
    assert kind_for_path(luks) == "disk"
    [e] = entries(luks)
    assert e.scheme == "image" and e.error is not None and e.error.code == ErrorCode.ENCRYPTED


def test_garbage_after_a_valid_signature(tmp_path: Path) -> None:
    """An EWF magic followed by rubbish: one entry with the error, nothing raised."""
    fake = tmp_path / "fake.E01"
    fake.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + b"\x13" * 5000)
    assert kind_for_path(fake) == "disk"
    [e] = entries(fake)
    assert e.scheme == "image" and e.error is not None and e.error.code == ErrorCode.CORRUPT
    [(action, _)] = acquire_disk(fake).custody
    assert action == "verification-failed"


def test_ntfs_with_damaged_mft_records(images: Images, tmp_path: Path) -> None:
    """Records of the user's files overwritten: each listed with an error; then the root's
    record too: one error for the file system. Nothing raised."""
    broken = tmp_path / "ntfs.img"
    data = bytearray(images.ntfs.read_bytes())
    bps, spc = struct.unpack_from("<H", data, 0x0B)[0], data[0x0D]
    mft = struct.unpack_from("<Q", data, 0x30)[0] * bps * spc
    data[mft + 64 * 1024:mft + 70 * 1024] = b"\xa5" * 6 * 1024
    broken.write_bytes(data)
    got = entries(broken)
    assert {e.path for e in got} == {"/notes.txt", "/photo3.jpg", "/readme.txt"}
    assert all(e.error is not None and e.error.code == ErrorCode.UNREADABLE for e in got)
    data[mft + 5 * 1024 + 200:mft + 5 * 1024 + 400] = b"\x5a" * 200  # the root directory's record
    broken.write_bytes(data)
    [e] = entries(broken)
    assert e.scheme == "ntfs" and e.path == "/" and e.error is not None and e.error.code == ErrorCode.CORRUPT


def test_file_cut_by_a_truncated_image_is_an_error_not_a_short_file(tmp_path: Path) -> None:
    """TSK returns the part of a file that is in the image and no error; hashing that would
    record a wrong MD5 as if it were the file's. The read must fail, naming what is missing."""
    import hashlib

    from tests.sources.disk.build import Layout, ext4_image

    big = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(10000))  # 320,000 bytes
    image = ext4_image(tmp_path / "ext4.img", Layout({"big.bin": big, "small.txt": b"benign\n"}))
    data = image.read_bytes()
    start = data.index(big[:4096])
    cut = tmp_path / "cut.img"
    cut.write_bytes(data[:start + 20 * 1024])
    src = DiskImageSource(cut)
    [e] = [e for e in entries(cut) if e.path == "/big.bin"]
    with pytest.raises(OSError, match=r"cannot read bytes 20480-319999 of this file"), src.open_ref(e.ref) as f:
        f.read()
