"""Wrap a raw disk image into an Apple UDIF ``.dmg``, for tests (no macOS, no ``hdiutil``).

Why: DMG is a container investigators meet on every Mac seizure, and Safehold reads it through
libmodi; without a writer the DMG path could only be trusted, not tested. This writes the
layout libmodi reads (big-endian throughout):

* the data fork: the media in chunks of ``chunk_sectors`` 512-byte sectors, each stored raw,
  zlib-compressed, or (all zeros) not stored at all;
* an XML property list whose ``resource-fork`` → ``blkx`` array holds one ``mish`` block table
  (204-byte header, then one 40-byte entry per chunk: type, sector range relative to the table,
  byte range in the file, and a terminator entry);
* the 512-byte ``koly`` trailer at the very end: where the data fork and the plist are, the
  sector count, and CRC-32 checksums of the data fork and of the block table.

Only what a reader needs is written; the optional ``plst`` and resource-fork parts are left
out. Output is deterministic for the same input and arguments.
"""

from __future__ import annotations

import plistlib
import struct
import uuid
import zlib
from pathlib import Path
from typing import Literal

__all__ = ["SECTOR", "write_udif"]

SECTOR = 512
ZERO_FILL = 0x00000000  # sectors read as zeros, nothing stored
RAW = 0x00000001
IGNORE = 0x00000002  # "free" sectors, read as zeros
ZLIB = 0x80000005
COMMENT = 0x7FFFFFFE
END = 0xFFFFFFFF
CRC32 = 2  # UDIF checksum type: CRC-32, 32 bits

Mode = Literal["zlib", "raw", "mixed"]


def _checksum(crc: int) -> bytes:
    """A UDIFChecksum: type, size in bits, 128 bytes of value (a CRC-32 fills the first 4)."""
    return struct.pack(">II", CRC32, 32) + struct.pack(">I", crc).ljust(128, b"\0")


def _chunk_type(index: int, data: bytes, mode: Mode) -> int:
    if not data.strip(b"\0"):
        return IGNORE
    if mode == "raw" or (mode == "mixed" and index % 2 == 0):
        return RAW
    return ZLIB


def write_udif(raw: Path, target: Path, *, chunk_sectors: int = 256, mode: Mode = "zlib") -> Path:
    """Write ``raw`` (a disk or volume image) as the UDIF image ``target``; returns ``target``.

    ``mode``: ``zlib`` compresses every non-zero chunk (as UDZO does), ``raw`` stores them as
    they are (UDRO), ``mixed`` alternates the two so that one image exercises both.
    """
    size = raw.stat().st_size
    sectors = -(-size // SECTOR)
    step = chunk_sectors * SECTOR
    fork = bytearray()
    media_crc = 0
    entries: list[bytes] = [struct.pack(">IIQQQQ", COMMENT, 0, 0, 0, 0, 0)]
    with open(raw, "rb") as f:  # chunk by chunk: a sparse 128 MiB container stays cheap
        for index, start in enumerate(range(0, sectors * SECTOR, step)):
            data = f.read(step)
            if len(data) % SECTOR:
                data += bytes(SECTOR - len(data) % SECTOR)
            media_crc = zlib.crc32(data, media_crc)
            kind = _chunk_type(index, data, mode)
            stored = b"" if kind == IGNORE else data if kind == RAW else zlib.compress(data, 6)
            entries.append(struct.pack(">IIQQQQ", kind, 0, start // SECTOR, len(data) // SECTOR,
                                       len(fork), len(stored)))
            fork += stored
    entries.append(struct.pack(">IIQQQQ", END, 0, sectors, 0, len(fork), 0))
    body = b"".join(entries)
    mish = (b"mish" + struct.pack(">IQQQII", 1, 0, sectors, 0, 2 * chunk_sectors, 0) + b"\0" * 24
            + _checksum(zlib.crc32(bytes(fork))) + struct.pack(">I", len(entries)) + body)
    blkx = {"Attributes": "0x0050", "CFName": "whole disk (Apple_HFS : 0)", "Data": mish, "ID": "0",
            "Name": "whole disk (Apple_HFS : 0)"}
    plist = plistlib.dumps({"resource-fork": {"blkx": [blkx]}}, fmt=plistlib.FMT_XML, sort_keys=True)
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"safehold-test-udif:{media_crc}").bytes
    koly = (b"koly" + struct.pack(">III", 4, 512, 1)  # version 4, header 512 bytes, flattened
            + struct.pack(">QQQQQ", 0, 0, len(fork), 0, 0)  # running offset, data fork, resource fork
            + struct.pack(">II", 1, 1) + ident  # segment 1 of 1
            + _checksum(zlib.crc32(bytes(fork)))
            + struct.pack(">QQ", len(fork), len(plist)) + b"\0" * 120
            + _checksum(zlib.crc32(mish))
            + struct.pack(">IQ", 1, sectors) + b"\0" * 12)
    assert len(koly) == 512, len(koly)
    with open(target, "wb") as f:
        f.write(fork)
        f.write(plist)
        f.write(koly)
    return target
