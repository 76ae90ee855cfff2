"""Delete a file from the root of an NTFS image the way Windows leaves it, without mounting:
its index entry is removed from the root directory's index (the bytes stay in the slack, where
TSK finds deleted names) and its MFT record is marked not in use (its runs, hence its content,
stay). Handles the root index both resident ($INDEX_ROOT) and in INDX blocks, with fix-ups."""

from __future__ import annotations

import struct
from pathlib import Path

INDX_SIZE = 4096


def _geometry(img: bytearray) -> tuple[int, int, int]:
    bps = struct.unpack_from("<H", img, 0x0B)[0]
    spc = img[0x0D]
    mft = struct.unpack_from("<Q", img, 0x30)[0] * bps * spc
    raw = struct.unpack_from("<b", img, 0x40)[0]
    record = raw * bps * spc if raw > 0 else 1 << -raw
    return mft, record, bps * spc


def _unfix(rec: bytearray) -> None:
    off, count = struct.unpack_from("<HH", rec, 4)
    for i in range(1, count):
        rec[i * 512 - 2:i * 512] = rec[off + 2 * i:off + 2 * i + 2]


def _fix(rec: bytearray) -> None:
    off, count = struct.unpack_from("<HH", rec, 4)
    usn = rec[off:off + 2]
    for i in range(1, count):
        rec[off + 2 * i:off + 2 * i + 2] = rec[i * 512 - 2:i * 512]
        rec[i * 512 - 2:i * 512] = usn


def _drop(buf: bytearray, node: int, target: bytes) -> int | None:
    """Remove the entry named ``target`` from the index node at ``node``; its MFT number."""
    first, total = struct.unpack_from("<II", buf, node)
    e = node + first
    while e < node + total:
        ref, elen, _slen, flags = struct.unpack_from("<QHHI", buf, e)
        if flags & 2:  # last entry
            return None
        nlen = buf[e + 16 + 0x40]
        if buf[e + 16 + 0x42:e + 16 + 0x42 + 2 * nlen] == target:
            end = node + total
            gone = bytes(buf[e:e + elen])
            buf[e:end - elen] = buf[e + elen:end]
            buf[end - elen:end] = gone  # left in the slack, as NTFS does
            struct.pack_into("<I", buf, node + 4, total - elen)
            return int(ref & 0xFFFFFFFFFFFF)
        e += elen
    return None


def delete_in_root(path: Path, name: str) -> int:
    img = bytearray(path.read_bytes())
    mft, size, cluster = _geometry(img)
    target = name.encode("utf-16-le")
    root = bytearray(img[mft + 5 * size:mft + 6 * size])
    _unfix(root)
    a = struct.unpack_from("<H", root, 0x14)[0]
    while struct.unpack_from("<I", root, a)[0] != 0x90:  # $INDEX_ROOT
        a += struct.unpack_from("<I", root, a + 4)[0]
    entry = _drop(root, a + struct.unpack_from("<H", root, a + 0x14)[0] + 16, target)
    if entry is not None:
        _fix(root)
        img[mft + 5 * size:mft + 6 * size] = root
    else:
        for off in range(0, len(img), cluster):
            if img[off:off + 4] != b"INDX":
                continue
            block = bytearray(img[off:off + INDX_SIZE])
            _unfix(block)
            entry = _drop(block, 0x18, target)
            if entry is not None:
                _fix(block)
                img[off:off + INDX_SIZE] = block
                break
    if entry is None:
        raise FileNotFoundError(name)
    rec = bytearray(img[mft + entry * size:mft + (entry + 1) * size])
    _unfix(rec)
    rec[0x16] &= 0xFE  # not in use
    _fix(rec)
    img[mft + entry * size:mft + (entry + 1) * size] = rec
    path.write_bytes(img)
    return entry
