"""Images shared by the disk tests, built once per session (a few seconds in all)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sources.disk.build import Layout, e01, ext4_image, fat_image, ntfs_image, partitioned, payloads

LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
MS_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"


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
    layouts: dict[str, Layout]  # fat, ext4, ntfs


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
    return Images(fat, ext4, ntfs, mbr, mbr_offsets, gpt, gpt_offsets, mbr_e01, fat_e01_multi,
                  {"fat": fat_l, "ext4": ext_l, "ntfs": ntfs_l})
