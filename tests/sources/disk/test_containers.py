"""The same partitioned image through every container: E01 (one and many segments), split raw,
VHD, VHDX, VMDK, QCOW2; and E01 verification (good, and a stored hash that lies)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from safehold.sources.base import TopEntry
from safehold.sources.disk import DiskImageSource
from safehold.sources.disk.acquisition import acquire_disk
from safehold.sources.disk.image import open_media
from safehold.sources.factory import kind_for_path
from tests.sources.disk.build import corrupt_ewf_hash, e01, md5, run
from tests.sources.disk.conftest import Images


def listing(path: Path) -> list[tuple[TopEntry, str | None]]:
    src = DiskImageSource(path)
    out = []
    for e in src.enumerate():
        digest = None
        if e.error is None:
            with src.open_ref(e.ref) as f:
                digest = md5(f.read())
        out.append((e, digest))
    return out


def test_e01_lists_what_the_raw_image_holds(images: Images) -> None:
    raw = listing(images.mbr)
    assert len(raw) == 16 and all(d is not None for _, d in raw)
    assert listing(images.mbr_e01) == raw
    assert open_media(images.mbr_e01).kind == "ewf"


def test_multi_segment_e01(images: Images) -> None:
    segments = sorted(p.name for p in images.fat_e01_multi.parent.iterdir())
    assert len(segments) >= 4 and segments[:2] == ["fat.E01", "fat.E02"]
    assert listing(images.fat_e01_multi) == listing(images.fat)
    media = open_media(images.fat_e01_multi)
    assert len(media.segments) == len(segments) and media.size == images.fat.stat().st_size


def test_split_raw(images: Images, tmp_path: Path) -> None:
    run("split", "-b", "7M", "-d", "-a", "3", "--numeric-suffixes=1", images.mbr, tmp_path / "disk.")
    first = tmp_path / "disk.001"
    assert (tmp_path / "disk.005").exists()
    assert kind_for_path(first) == "disk"
    assert listing(first) == listing(images.mbr)
    acq = acquire_disk(first)
    assert acq.segments >= 5 and acq.method == "sha256-segments"
    assert acq.digest == acquire_disk(images.mbr).digest  # the SHA-256 of the media either way


@pytest.mark.parametrize(("fmt", "kind"), [("vpc", "vhd"), ("vhdx", "vhdx"), ("vmdk", "vmdk"), ("qcow2", "qcow")])
def test_virtual_disks(images: Images, tmp_path: Path, fmt: str, kind: str) -> None:
    target = tmp_path / f"disk.{fmt}"
    run("qemu-img", "convert", "-f", "raw", "-O", fmt, images.gpt, target)
    assert kind_for_path(target) == "disk"
    assert open_media(target).kind == kind
    assert listing(target) == listing(images.gpt)


def test_e01_verification_and_metadata(images: Images) -> None:
    acq = acquire_disk(images.mbr_e01)
    assert acq.method == "ewf-stored-md5" and acq.container == "ewf"
    assert acq.digest == md5(images.mbr.read_bytes())
    [(action, details)] = acq.custody
    assert action == "verified" and acq.warning is None
    assert details["computed"] == details["stored"] and set(details["stored"]) == {"md5", "sha1"}
    assert details["examiner"] == "Examiner Test" and details["case_number"] == "CASE-42"
    assert details["evidence_number"] == "EV-7" and details["notes"] == "test notes"
    assert details["description"] == "generated benign test image" and details["acquisition_date"]


def test_e01_with_a_wrong_stored_hash(images: Images, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(images.fat_e01_multi.parent, bad)
    corrupt_ewf_hash(bad / "fat.E01")
    acq = acquire_disk(bad / "fat.E01")
    [(action, details)] = acq.custody
    assert action == "verification-failed"
    assert "MD5" in details["reason"] and details["stored"]["md5"] != details["computed"]["md5"]
    assert details["computed"]["md5"] == md5(images.fat.read_bytes())
    assert details["stored"]["sha1"] == details["computed"]["sha1"]
    assert acq.warning is not None and acq.digest == details["stored"]["md5"]
    assert listing(bad / "fat.E01") == listing(images.fat)  # still read: the media is intact


def test_raw_acquisition_is_sha256(images: Images) -> None:
    import hashlib

    acq = acquire_disk(images.gpt)
    assert acq.method == "sha256" and acq.custody == [] and acq.segments == 1
    assert acq.digest == hashlib.sha256(images.gpt.read_bytes()).hexdigest()


def test_e01_of_a_small_image_with_one_segment(images: Images, tmp_path: Path) -> None:
    one = e01(images.ext4, tmp_path / "ext4")
    assert [p.name for p in tmp_path.iterdir() if p.suffix.startswith(".E")] == ["ext4.E01"]
    assert listing(one) == listing(images.ext4)
