"""Listings of FAT, ext4, NTFS (with ADS), MBR and GPT images: cross-checked against sleuthkit's
``fls -r -p``, every allocated and deleted file's content checked by MD5."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from safehold.sources.base import TopEntry
from safehold.sources.disk import DiskImageSource
from safehold.sources.disk.cache import clear_cache, opened
from safehold.sources.factory import kind_for_path
from tests.sources.disk.build import Layout, fls_paths, md5, run
from tests.sources.disk.conftest import Images


def entries(path: Path) -> list[TopEntry]:
    return list(DiskImageSource(path).enumerate())


def read(src: DiskImageSource, e: TopEntry) -> bytes:
    with src.open_ref(e.ref) as f:
        return f.read()


def check_fs(image: Path, got: list[TopEntry], layout: Layout, offset: int, ntfs: bool = False,
             hfs: bool = False) -> None:
    """Same paths as fls (allocated and deleted), and the bytes we wrote, deleted ones included."""
    alloc, gone = fls_paths(image, offset, ntfs, hfs)
    assert {e.path for e in got if not e.deleted} == alloc
    assert {e.path for e in got if e.deleted} == gone
    assert all(e.error is None for e in got)
    src = DiskImageSource(image)
    by_md5 = {md5(read(src, e)): e for e in got}
    for rel, data in {**layout.files, **layout.streams}.items():
        e = by_md5[md5(data)]
        assert e.path == "/" + rel and not e.deleted and e.size == len(data)
    for data in layout.deleted.values():  # FAT loses a deleted name's first letter: match by content
        e = by_md5[md5(data)]
        assert e.deleted and e.size == len(data)
        rel = next(r for r, d in layout.deleted.items() if d == data)
        folder, _, name = ("/" + rel).rpartition("/")
        assert e.path.startswith(folder + "/") and e.path.endswith(name[1:])


@pytest.mark.parametrize("name", ["fat", "ext4", "ntfs"])
def test_single_file_system(images: Images, name: str) -> None:
    image: Path = getattr(images, name)
    got = entries(image)
    assert {e.scheme for e in got} == {name}
    assert all(e.prefix == () and e.ref.startswith("0:") for e in got)
    check_fs(image, got, images.layouts[name], 0, ntfs=name == "ntfs")


def test_times_and_inodes(images: Images) -> None:
    got = {e.path: e for e in entries(images.ext4)}
    e = got["/docs/notes.txt"]
    assert e.inode is not None and e.times.modified is not None and e.times.changed is not None
    assert e.times.created is not None  # ext4 keeps a birth time
    assert got["/readme.txt"].times.modified is not None


def test_ntfs_alternate_data_stream(images: Images) -> None:
    got = {e.path: e for e in entries(images.ntfs)}
    ads = got["/readme.txt:secret"]
    assert ads.inode == got["/readme.txt"].inode and ads.ref != got["/readme.txt"].ref
    assert read(DiskImageSource(images.ntfs), ads) == b"an alternate data stream\n"
    assert not any(p.startswith(("/$MFT", "/$Extend", "/$Bitmap")) for p in got)


@pytest.mark.parametrize("table", ["mbr", "gpt"])
def test_partition_tables(images: Images, table: str) -> None:
    image: Path = getattr(images, table)
    offsets: list[int] = getattr(images, f"{table}_offsets")
    names = ["fat", "ext4", "ntfs"] if table == "mbr" else ["ext4", "ntfs"]
    got = entries(image)
    assert [p for p, _ in dict.fromkeys((e.prefix, 0) for e in got)] == [
        (("partition", str(i + 1)),) for i in range(len(names))]
    for i, (name, offset) in enumerate(zip(names, offsets, strict=True)):
        part = [e for e in got if e.prefix == (("partition", str(i + 1)),)]
        assert {e.scheme for e in part} == {name}
        assert all(e.ref.startswith(f"{offset}:") for e in part)
        check_fs(image, part, images.layouts[name], offset, ntfs=name == "ntfs")


def test_kind_by_content_not_extension(images: Images, tmp_path: Path) -> None:
    for image in (images.fat, images.ext4, images.ntfs, images.mbr, images.gpt, images.mbr_e01):
        assert kind_for_path(image) == "disk"
    plain = tmp_path / "disk.img"
    plain.write_bytes(b"\0" * 510 + b"\x55\xaa" + b"x" * 4096)  # a boot signature alone proves nothing
    assert kind_for_path(plain) == "file"
    jpeg = tmp_path / "photo.E01"
    jpeg.write_bytes(images.layouts["fat"].files["docs/photo1.jpg"])
    assert kind_for_path(jpeg) == "file"
    renamed = tmp_path / "evidence.bin"
    renamed.write_bytes(images.ext4.read_bytes())
    assert kind_for_path(renamed) == "disk"


def test_enumeration_is_deterministic(images: Images) -> None:
    assert entries(images.mbr) == entries(images.mbr)


def test_open_ref_uses_the_process_cache(images: Images) -> None:
    clear_cache()
    src = DiskImageSource(images.mbr)
    got = [e for e in entries(images.mbr) if e.error is None]
    for e in got * 20:
        read(src, e)
    cached = opened(images.mbr)
    assert opened(images.mbr) is cached and len(cached.filesystems) == 3


def test_iso9660(tmp_path: Path) -> None:
    (tmp_path / "cd" / "pics").mkdir(parents=True)
    (tmp_path / "cd" / "pics" / "a.txt").write_bytes(b"on a cd\n")
    (tmp_path / "cd" / "b.txt").write_bytes(b"also\n")
    iso = tmp_path / "disc.iso"
    run("genisoimage", "-quiet", "-J", "-R", "-o", iso, tmp_path / "cd")
    got = entries(iso)
    assert {e.scheme for e in got} == {"iso9660"}
    assert {e.path for e in got} == {"/pics/a.txt", "/b.txt"}
    src = DiskImageSource(iso)
    assert {read(src, e) for e in got} == {b"on a cd\n", b"also\n"}


def test_exfat_is_recognised(tmp_path: Path) -> None:
    """exFAT opens, its metadata pseudo-files are skipped (no tool writes files into an exFAT
    image without mounting: it stays empty here)."""
    import pytsk3

    from safehold.sources.disk.tsk_fs import fs_scheme

    img = tmp_path / "exfat.img"
    img.write_bytes(b"\0" * (8 << 20))
    subprocess.run(["mkfs.exfat", str(img)], check=True, capture_output=True)
    assert kind_for_path(img) == "disk"
    assert fs_scheme(pytsk3.FS_Info(pytsk3.Img_Info(str(img)))) == "exfat"
    assert entries(img) == []
