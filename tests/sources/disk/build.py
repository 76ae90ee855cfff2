"""Disk images built at test time without mounting anything (DESIGN.md, "Disk images without
mounting"): FAT with mkfs.vfat + mtools, ext4 with mkfs.ext4 -d + debugfs, NTFS with mkntfs +
ntfscp (deletion by editing the MFT: see ntfsdel), HFS+ with xorriso (see hfs_image), tables
with sfdisk on the image file, E01 with ewfacquire, virtual disks with qemu-img, DMG with
safehold.testing.udif. Every file is generated and benign."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from safehold.testing.images import encode, synthetic_photo
from tests.sources.disk.ntfsdel import delete_in_root

SECTOR = 512
ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C"}


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, env=ENV).stdout


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@dataclass
class Layout:
    """What a file system holds: allocated files and deleted ones (path → bytes)."""

    files: dict[str, bytes]
    deleted: dict[str, bytes] = field(default_factory=dict)
    streams: dict[str, bytes] = field(default_factory=dict)  # NTFS "name:stream" → bytes


def payloads(seed: int, nested: bool = True) -> Layout:
    """A few photos and texts, two of which are deleted after writing."""
    photo = encode(synthetic_photo(seed, (64, 48)), "JPEG", quality=85)
    png = encode(synthetic_photo(seed + 1, (40, 30)), "PNG")
    text = f"case notes {seed}\n".encode() * 40
    d = "docs/" if nested else ""
    files = {f"{d}notes.txt": text, f"{d}photo{seed}.jpg": photo, "readme.txt": b"benign test file\n"}
    deleted = {f"gone{seed}.jpg": encode(synthetic_photo(seed + 2, (80, 60)), "JPEG"),
               f"{d}erased{seed}.png": png}
    return Layout(files, deleted)


def _stage(tmp: Path, files: dict[str, bytes]) -> Path:
    root = tmp / f"stage-{len(list(tmp.iterdir()))}"
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    root.mkdir(exist_ok=True)
    return root


def fat_image(path: Path, layout: Layout, size_kb: int = 8192) -> Path:
    run("mkfs.vfat", "-C", path, str(size_kb))
    stage = _stage(path.parent, {**layout.files, **layout.deleted})
    dirs = sorted({str(Path(p).parent) for p in [*layout.files, *layout.deleted]} - {"."})
    for d in dirs:
        run("mmd", "-i", path, f"::/{d}")
    for rel in [*layout.files, *layout.deleted]:
        run("mcopy", "-i", path, stage / rel, f"::/{rel}")
    for rel in layout.deleted:
        run("mdel", "-i", path, f"::/{rel}")
    return path


def ext4_image(path: Path, layout: Layout, size: str = "8M") -> Path:
    stage = _stage(path.parent, {**layout.files, **layout.deleted})
    run("mkfs.ext4", "-q", "-F", "-d", stage, path, size)
    for rel in layout.deleted:
        run("debugfs", "-w", "-R", f"rm /{rel}", path)
    return path


def ntfs_image(path: Path, layout: Layout, size: str = "16M") -> Path:
    """Flat (ntfscp cannot make folders); ``layout.streams`` become alternate data streams."""
    run("truncate", "-s", size, path)
    run("mkntfs", "-F", "-q", "-Q", path)
    stage = _stage(path.parent, {**layout.files, **layout.deleted,
                                 **{k.replace(":", "__"): v for k, v in layout.streams.items()}})
    for rel in [*layout.files, *layout.deleted]:
        run("ntfscp", "-q", path, stage / rel, rel)
    for rel in layout.streams:
        name, stream = rel.split(":")
        run("ntfscp", "-q", "-N", stream, path, stage / rel.replace(":", "__"), name)
    for rel in layout.deleted:
        delete_in_root(path, rel)
    return path


def hfs_image(path: Path, layout: Layout, mtime: int | None = None) -> Path:
    """An HFS+ volume holding ``layout.files``, cut out of an ISO 9660/HFS+ hybrid.

    Why this way: Debian 12 ships no mkfs.hfsplus (hfsprogs left it) and nothing that copies
    files into an unmounted HFS+ image; xorriso (libisofs) writes a complete HFS+ tree next to
    the ISO 9660 one and marks it with an Apple Partition Map. HFS+ addresses its blocks from
    the volume start, so the bytes from the ``Apple_HFS`` partition on are a standalone HFS+
    volume. ``mtime`` (seconds) is set on every staged file, hence on the HFS+ records. Deleted
    files cannot be made: nothing here deletes from HFS+, and TSK lists none on HFS+.
    """
    stage = _stage(path.parent, layout.files)
    if mtime is not None:
        for p in stage.rglob("*"):
            os.utime(p, (mtime, mtime))
    iso = path.with_suffix(".hybrid.iso")
    run("xorriso", "-as", "mkisofs", "-quiet", "-hfsplus", "-V", "BENIGN", "-o", iso, stage)
    data = iso.read_bytes()
    iso.unlink()
    start = apm_partition(data, b"Apple_HFS")
    path.write_bytes(data[start:])
    return path


def apm_partition(disk: bytes, ptype: bytes) -> int:
    """Byte offset of the first Apple Partition Map entry of type ``ptype`` (512-byte blocks)."""
    import struct

    count = struct.unpack_from(">I", disk, SECTOR + 4)[0]
    for i in range(1, count + 1):
        entry = disk[i * SECTOR:(i + 1) * SECTOR]
        assert entry[:2] == b"PM", "not an Apple Partition Map"
        if entry[48:80].rstrip(b"\0") == ptype:
            return int(struct.unpack_from(">I", entry, 8)[0]) * SECTOR
    raise LookupError(ptype)


def partitioned(path: Path, table: str, parts: list[tuple[Path | bytes, str]], gap_mib: int = 1) -> list[int]:
    """An image with a ``dos`` or ``gpt`` table holding each (file-system image or bytes, type).

    Returns the byte offset of each partition.
    """
    start = 2048
    lines = [f"label: {table}", "unit: sectors"]
    offsets = []
    sizes = []
    for content, ptype in parts:
        size = content.stat().st_size if isinstance(content, Path) else len(content)
        sectors = -(-size // SECTOR)
        lines.append(f"start={start}, size={sectors}, type={ptype}")
        offsets.append(start * SECTOR)
        sizes.append(sectors)
        start += sectors + gap_mib * 2048
    total = (start + 2048) * SECTOR
    with open(path, "wb") as f:
        f.truncate(total)
    subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", str(path)], input="\n".join(lines) + "\n",
                   text=True, check=True, capture_output=True)
    with open(path, "r+b") as f:
        for (content, _), off in zip(parts, offsets, strict=True):
            f.seek(off)
            if isinstance(content, Path):
                with open(content, "rb") as src:
                    shutil.copyfileobj(src, f)
            else:
                f.write(content)
    return offsets


def e01(raw: Path, target: Path, segment: str | None = None, compress: str = "fast") -> Path:
    """``target`` without extension; returns the .E01 path. ``segment`` e.g. "1MiB" for many segments."""
    args = ["ewfacquire", "-u", "-q", "-t", str(target), "-C", "CASE-42", "-e", "Examiner Test",
            "-E", "EV-7", "-D", "generated benign test image", "-N", "test notes", "-d", "sha1", "-c", compress]
    if segment:
        args += ["-S", segment]
    run(*args, raw)
    return target.with_suffix(".E01")


def corrupt_ewf_hash(first_segment: Path) -> None:
    """Flip the stored MD5 in the last segment's ``digest`` and ``hash`` sections, fixing their
    Adler-32 so libewf still reads them: the image now claims a hash its media does not have."""
    import struct
    import zlib

    segments = sorted(first_segment.parent.glob(first_segment.stem + ".E[0-9][0-9]"))
    last = segments[-1]
    data = bytearray(last.read_bytes())
    off = 13
    patched = 0
    while True:
        kind = bytes(data[off:off + 16]).rstrip(b"\0")
        nxt = struct.unpack_from("<Q", data, off + 16)[0]
        body = off + 76
        if kind in (b"digest", b"hash"):
            n = 76 if kind == b"digest" else 32
            data[body] ^= 0xFF
            struct.pack_into("<I", data, body + n, zlib.adler32(bytes(data[body:body + n])))
            patched += 1
        if kind == b"done" or nxt == off:
            break
        off = nxt
    assert patched, "no hash section found"
    last.write_bytes(data)


_FLS = re.compile(r"^(?P<nt>\S)/(?P<mt>\S) (?P<del>\* )?(?P<inode>[^:(]+)(?:\(realloc\))?:\t(?P<path>.*)$")


FAT_PSEUDO = {"$ALLOC_BITMAP", "$UPCASE_TABLE", "$VOLUME_GUID", "$TEX_FAT", "$ACT", "$VOLUME_LABEL_NONE"}


HFS_RESERVED = 16  # HFS+ catalog node IDs below 16 are the volume's own files ($CatalogFile…)


def fls_paths(image: Path, offset: int = 0, ntfs: bool = False, hfs: bool = False) -> tuple[set[str], set[str]]:
    """(allocated, deleted) non-directory paths from ``fls -r -p``, minus Safehold's documented skips."""
    args = ["fls", "-r", "-p"]
    if offset:
        args += ["-o", str(offset // SECTOR)]
    alloc: set[str] = set()
    gone: set[str] = set()
    for line in run(*args, image).splitlines():
        m = _FLS.match(line)
        assert m, line
        nt, mt, path = m["nt"], m["mt"], m["path"]
        if nt in "vV" or mt in "vV" or path.startswith("$OrphanFiles/"):
            continue
        if mt == "d" or (mt == "-" and nt == "d"):
            continue
        inode = int(m["inode"].split("-")[0])
        if ntfs and (path.startswith("$Extend/") or ("/" not in path and path.startswith("$") and inode < 24)):
            continue
        if path in FAT_PSEUDO or ("/" not in path and path.endswith(" (Volume Label Entry)")):
            continue
        if hfs and "/" not in path and path.startswith("$") and inode < HFS_RESERVED:
            continue
        (gone if m["del"] else alloc).add("/" + path)
    return alloc, gone
