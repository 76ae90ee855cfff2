"""Content signatures: is a file a disk image, and which container holds its bytes?

Chosen by content, never by extension: a renamed E01 is still an E01 and a ``.img`` holding a
JPEG is still a plain file. The one use of a name is for a ``.dmg`` whose content says nothing
(see ``container_kind``). ``container_kind`` looks at the first 64 KiB and the last 512 bytes.
``encryption_of`` looks at the start of a volume for full-volume encryption headers.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = [
    "HEAD_BYTES",
    "container_kind",
    "encryption_of",
    "filesystem_hint",
    "has_udif_trailer",
    "looks_like_disk_image",
    "sniff_file",
]

HEAD_BYTES = 64 * 1024

EWF1 = b"EVF\x09\x0d\x0a\xff\x00"  # E01 (EnCase 1-7, FTK, ewfacquire)
EWF2 = b"EVF2\x0d\x0a\x81\x00"  # Ex01 (EnCase 7 v2)
_FAT_NAMES = (b"FAT12", b"FAT16", b"FAT32", b"FAT     ")


def _at(buf: bytes, offset: int, sig: bytes) -> bool:
    return buf[offset:offset + len(sig)] == sig


def filesystem_hint(head: bytes) -> str | None:
    """A file-system or volume-system name recognised at the start of ``head``, else None."""
    if _at(head, 3, b"NTFS    "):
        return "ntfs"
    if _at(head, 3, b"EXFAT   "):
        return "exfat"
    if _at(head, 32, b"NXSB"):
        return "apfs"
    if _at(head, 1080, b"\x53\xef"):
        return "ext"
    if head[1024:1026] in (b"H+", b"HX"):
        return "hfs"
    if _at(head, 32769, b"CD001"):
        return "iso9660"
    if _at(head, 512, b"EFI PART") or _at(head, 4096, b"EFI PART"):
        return "gpt"
    if _at(head, 510, b"\x55\xaa"):
        if any(_at(head, off, name) for off in (54, 82) for name in _FAT_NAMES):
            return "fat"
        if _valid_mbr(head):
            return "mbr"
    return None


def _valid_mbr(head: bytes) -> bool:
    """Four sane partition entries with at least one in use (a 0x55AA alone proves little)."""
    used = 0
    for i in range(4):
        entry = head[446 + 16 * i:462 + 16 * i]
        status, ptype = entry[0], entry[4]
        start, length = struct.unpack_from("<II", entry, 8)
        if status not in (0x00, 0x80):
            return False
        if ptype:
            if start == 0 or length == 0:
                return False
            used += 1
    return used > 0


def encryption_of(head: bytes) -> str | None:
    """The full-volume encryption scheme whose header starts ``head`` (a volume's first bytes)."""
    if _at(head, 3, b"-FVE-FS-"):
        return "BitLocker"
    if _at(head, 0, b"LUKS\xba\xbe"):
        return "LUKS"
    if len(head) >= 92 and _at(head, 88, b"CS") and struct.unpack_from("<H", head, 90)[0] in (1, 2):
        return "CoreStorage (FileVault 2)"
    return None


def has_udif_trailer(tail: bytes) -> bool:
    """True when the last 512 bytes are a UDIF (DMG) ``koly`` resource-file trailer."""
    return len(tail) >= 512 and _at(tail, len(tail) - 512, b"koly")


def container_kind(head: bytes, tail: bytes, name: str = "") -> str | None:
    """Which container holds the media bytes: ewf, vhd, vhdx, vmdk, qcow, dmg or raw; None if none.

    ``raw`` means the bytes themselves start with a partition table, a file-system superblock or
    a full-volume encryption header (reported later as encrypted).

    ``name`` is used only when the content says nothing: a UDIF image has no header, only a
    trailer, so a ``.dmg`` cut short (a copy or download that stopped) has no signature left.
    Calling it a DMG then makes the image an evidence item with a clear "truncated" error
    instead of one opaque file hashed as if nothing were wrong.
    """
    if _at(head, 0, EWF1) or _at(head, 0, EWF2):
        return "ewf"
    if _at(head, 0, b"vhdxfile"):
        return "vhdx"
    if _at(head, 0, b"conectix") or _at(tail, len(tail) - 512, b"conectix"):
        return "vhd"
    if _at(head, 0, b"KDMV") or _at(head, 0, b"# Disk DescriptorFile"):
        return "vmdk"
    if _at(head, 0, b"QFI\xfb"):
        return "qcow"
    if has_udif_trailer(tail):
        return "dmg"
    if filesystem_hint(head) is not None or encryption_of(head) is not None:
        return "raw"
    if name.lower().endswith(".dmg"):
        return "dmg"
    return None


def sniff_file(path: Path) -> tuple[bytes, bytes]:
    """(first 64 KiB, last 512 bytes) of a file."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        size = os.fstat(f.fileno()).st_size
        if size <= len(head):
            return head, head[-512:]
        f.seek(max(0, size - 512))
        return head, f.read(512)


def looks_like_disk_image(path: Path) -> bool:
    try:
        head, tail = sniff_file(path)
    except OSError:
        return False
    return container_kind(head, tail, path.name) is not None
