"""HFS+ through TSK: a bare volume and one in a GPT partition, cross-checked against
``fls -r -p``, every file's content checked by MD5, times and catalog node IDs kept."""

from __future__ import annotations

from datetime import UTC, datetime

from safehold.sources.disk import DiskImageSource
from safehold.sources.factory import kind_for_path
from tests.sources.disk.build import fls_paths, md5
from tests.sources.disk.conftest import HFS_MTIME, Images
from tests.sources.disk.test_listing import check_fs, entries, read


def test_bare_hfs_volume(images: Images) -> None:
    assert kind_for_path(images.hfs) == "disk"
    got = entries(images.hfs)
    assert {e.scheme for e in got} == {"hfs"} and all(e.prefix == () for e in got)
    check_fs(images.hfs, got, images.layouts["hfs"], 0, hfs=True)
    assert {e.path for e in got} == {"/" + p for p in images.layouts["hfs"].files}


def test_hfs_special_files_are_not_evidence(images: Images) -> None:
    """TSK lists $CatalogFile and co. in the root; they are the volume's own structures."""
    everything, _ = fls_paths(images.hfs)  # fls's own listing, nothing left out
    got = {e.path for e in entries(images.hfs)}
    assert everything - got == {"/$ExtentsFile", "/$CatalogFile", "/$BadBlockFile", "/$AllocationFile"}
    assert got < everything


def test_hfs_times_and_catalog_ids(images: Images) -> None:
    got = {e.path: e for e in entries(images.hfs)}
    photo = got["/Users/alice/Pictures/photo4.jpg"]
    assert photo.times.modified == datetime.fromtimestamp(HFS_MTIME, UTC)
    assert photo.times.changed is not None and photo.times.created is not None
    ids = [int(e.inode or 0) for e in got.values()]
    assert min(ids) >= 16 and len(set(ids)) == len(ids)  # catalog node IDs: unique, user range


def test_hfs_in_a_gpt_partition(images: Images) -> None:
    got = entries(images.mac)
    assert {e.prefix for e in got} == {(("partition", "1"),)}
    assert {e.scheme for e in got} == {"hfs"} and all(e.ref.startswith(f"{images.mac_offset}:") for e in got)
    check_fs(images.mac, got, images.layouts["hfs"], images.mac_offset, hfs=True)


def test_hfs_contents_by_md5(images: Images) -> None:
    src = DiskImageSource(images.hfs)
    got = {e.path: md5(read(src, e)) for e in entries(images.hfs)}
    assert got == {"/" + p: md5(d) for p, d in images.layouts["hfs"].files.items()}
