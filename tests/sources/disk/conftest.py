"""Images shared by the disk tests, built once per session (a few seconds in all)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from safehold.testing.images import encode, synthetic_photo
from safehold.testing.udif import write_udif
from tests.sources.disk.build import (
    Layout,
    e01,
    ext4_image,
    fat_image,
    hfs_image,
    ntfs_image,
    partitioned,
    payloads,
)

LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
MS_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
APPLE_HFS = "48465300-0000-11AA-AA11-00306543ECAC"
HFS_MTIME = 1_600_000_000  # 2020-09-13 12:26:40 UTC, set on every HFS+ file


def hfs_layout() -> Layout:
    """A Mac user's folder: nested photos and notes (HFS+ gets no deleted files: see hfs_image)."""
    return Layout({
        "Users/alice/Pictures/photo4.jpg": encode(synthetic_photo(4, (72, 48)), "JPEG", quality=80),
        "Users/alice/Pictures/drawing.png": encode(synthetic_photo(5, (30, 30)), "PNG"),
        "Users/alice/notes.txt": b"benign mac notes\n" * 300,
        "readme.txt": b"benign hfs+ test volume\n",
    })


@dataclass
class Images:
    fat: Path
    ext4: Path
    ntfs: Path
    mbr: Path
    mbr_offsets: list[int]
    gpt: Path
    gpt_offsets: list[int]
    mbr_e01: Path
    fat_e01_multi: Path
    hfs: Path
    mac: Path  # GPT with one HFS+ partition
    mac_offset: int
    mac_dmg: Path  # ``mac`` as a zlib-compressed UDIF image
    mbr_dmg: Path  # ``mbr`` as a UDIF image with raw and zlib chunks
    layouts: dict[str, Layout]  # fat, ext4, ntfs, hfs


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    tmp = tmp_path_factory.mktemp("disk")
    fat_l, ext_l, ntfs_l = payloads(1), payloads(2), payloads(3, nested=False)
    ntfs_l.streams = {"readme.txt:secret": b"an alternate data stream\n"}
    fat = fat_image(tmp / "fat.img", fat_l)
    ext4 = ext4_image(tmp / "ext4.img", ext_l)
    ntfs = ntfs_image(tmp / "ntfs.img", ntfs_l)
    mbr = tmp / "mbr.img"
    mbr_offsets = partitioned(mbr, "dos", [(fat, "c"), (ext4, "83"), (ntfs, "7")])
    gpt = tmp / "gpt.img"
    gpt_offsets = partitioned(gpt, "gpt", [(ext4, LINUX), (ntfs, MS_DATA)])
    (tmp / "ewf").mkdir()
    mbr_e01 = e01(mbr, tmp / "ewf" / "mbr")
    multi_dir = tmp / "multi"
    multi_dir.mkdir()
    fat_e01_multi = e01(fat, multi_dir / "fat", segment="1MiB", compress="none")
    hfs_l = hfs_layout()
    hfs = hfs_image(tmp / "hfs.img", hfs_l, mtime=HFS_MTIME)
    mac = tmp / "mac.img"
    [mac_offset] = partitioned(mac, "gpt", [(hfs, APPLE_HFS)])
    mac_dmg = write_udif(mac, tmp / "mac.dmg", mode="zlib")
    mbr_dmg = write_udif(mbr, tmp / "mbr.dmg", mode="mixed")
    return Images(fat, ext4, ntfs, mbr, mbr_offsets, gpt, gpt_offsets, mbr_e01, fat_e01_multi,
                  hfs, mac, mac_offset, mac_dmg, mbr_dmg,
                  {"fat": fat_l, "ext4": ext_l, "ntfs": ntfs_l, "hfs": hfs_l})
