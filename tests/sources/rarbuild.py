"""Tiny RAR writers for fixtures: no RAR compressor is installable offline, so tests build
stored (method 0) RAR5 and RAR 2.9/4.x archives byte by byte from the published layouts and
check them with ``lsar``. Only what the tests need: stored files, directories, an encryption
flag/record (data is not really encrypted; readers must refuse before decrypting), and an
archive-level encryption header."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

RAR5_SIG = b"Rar!\x1a\x07\x01\x00"
RAR4_SIG = b"Rar!\x1a\x07\x00"


@dataclass
class RarFile:
    name: str
    data: bytes = b""
    mtime: int = 1_600_000_000
    is_dir: bool = False
    encrypted: bool = False
    symlink_to: str | None = None  # RAR5 only: a Unix symlink


def vint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _block5(htype: int, hflags: int, body: bytes, extra: bytes = b"", data: bytes | None = None) -> bytes:
    fields = vint(htype)
    if extra:
        hflags |= 0x1
    if data is not None:
        hflags |= 0x2
    fields += vint(hflags)
    if extra:
        fields += vint(len(extra))
    if data is not None:
        fields += vint(len(data))
    fields += body + extra
    header = vint(len(fields)) + fields
    return struct.pack("<I", zlib.crc32(header)) + header + (data or b"")


def _record(rtype: int, payload: bytes) -> bytes:
    inner = vint(rtype) + payload
    return vint(len(inner)) + inner


def rar5(files: list[RarFile], *, header_encrypted: bool = False, solid: bool = False) -> bytes:
    out = bytearray(RAR5_SIG)
    if header_encrypted:
        body = vint(0) + vint(1) + bytes([15]) + os.urandom(16) + os.urandom(12)
        out += _block5(4, 0, body)
        out += os.urandom(256)  # headers we cannot decrypt
        return bytes(out)
    out += _block5(1, 0, vint(0x4 if solid else 0))
    for f in files:
        fflags = 0x2 | (0x1 if f.is_dir else 0x4)
        data = f.symlink_to.encode() if f.symlink_to is not None else f.data
        if f.symlink_to is not None:
            data = b""
        body = vint(fflags) + vint(0 if f.is_dir else len(f.data))
        body += vint(0o40755 if f.is_dir else (0o120777 if f.symlink_to else 0o100644))
        body += struct.pack("<I", f.mtime)
        if not f.is_dir:
            body += struct.pack("<I", zlib.crc32(data))
        body += vint(0) + vint(1)  # compression info: stored; host OS: Unix
        name = f.name.encode("utf-8")
        body += vint(len(name)) + name
        extra = b""
        if f.encrypted:
            extra += _record(0x01, vint(0) + vint(0x1) + bytes([15]) + os.urandom(16 + 16 + 12))
        if f.symlink_to is not None:
            target = f.symlink_to.encode()
            extra += _record(0x05, vint(1) + vint(0) + vint(len(target)) + target)
        out += _block5(2, 0, body, extra, None if f.is_dir else data)
    out += _block5(5, 0, vint(0))
    return bytes(out)


def _dos_time(ts: int) -> int:
    import time

    t = time.gmtime(ts)
    return ((t.tm_year - 1980) << 25) | (t.tm_mon << 21) | (t.tm_mday << 16) | (
        t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)


def _block4(htype: int, flags: int, body: bytes, data: bytes = b"") -> bytes:
    size = 7 + len(body)
    head = struct.pack("<BHH", htype, flags, size) + body
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head + data


def rar4(files: list[RarFile]) -> bytes:
    out = bytearray(RAR4_SIG)
    out += _block4(0x73, 0, b"\x00" * 6)
    for f in files:
        name = f.name.encode("utf-8")
        flags = 0x8000 | (0xE0 if f.is_dir else 0) | (0x04 if f.encrypted else 0)
        data = b"" if f.is_dir else f.data
        body = struct.pack(
            "<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), _dos_time(f.mtime),
            29, 0x30, len(name), 0o40755 if f.is_dir else 0o100644,
        ) + name
        out += _block4(0x74, flags, body, data)
    out += _block4(0x7B, 0x4000, b"")
    return bytes(out)
