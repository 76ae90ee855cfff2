"""Shared test helpers: read every member of a container, and build raw zips byte by byte
(zipfile cannot write NUL names, lying sizes, encryption flags or foreign methods)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from safehold.core.errors import ItemError, ItemProblem
from safehold.core.settings import Limits
from safehold.sources.base import Blob, ContainerReader, Member


@dataclass
class Got:
    member: Member
    data: bytes | None
    error: ItemError | None

    @property
    def path(self) -> str:
        return self.member.path


def collect(reader: ContainerReader, blob: Blob, scratch: Path, limits: Limits | None = None) -> list[Got]:
    """Open and read every member in order, recording the ItemProblem of those that fail."""
    scratch.mkdir(parents=True, exist_ok=True)
    out: list[Got] = []
    for m in reader.members(blob, limits or Limits(), scratch):
        try:
            with m.open() as f:
                out.append(Got(m, f.read(), None))
        except ItemProblem as exc:
            out.append(Got(m, None, exc.error))
    return out


def by_path(got: list[Got]) -> dict[str, Got]:
    return {g.path: g for g in got}


@dataclass
class RawEntry:
    name: bytes
    payload: bytes  # bytes as stored (already compressed for method 8)
    size: int  # declared uncompressed size
    crc: int
    method: int = 0
    flags: int = 0
    extra: bytes = b""


def stored(name: str | bytes, data: bytes, **kw: int) -> RawEntry:
    n = name.encode() if isinstance(name, str) else name
    return RawEntry(n, data, len(data), zlib.crc32(data), **kw)  # type: ignore[arg-type]


def deflated(name: str, data: bytes) -> RawEntry:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return RawEntry(name.encode(), c.compress(data) + c.flush(), len(data), zlib.crc32(data), method=8)


def raw_zip(entries: list[RawEntry]) -> bytes:
    """Local headers, data, central directory, end record: the minimum zipfile accepts."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        offset = len(out)
        fields = (20, e.flags, e.method, 0, 0x21, e.crc, len(e.payload), e.size, len(e.name), len(e.extra))
        out += b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + e.name + e.extra + e.payload
        central += b"PK\x01\x02" + struct.pack(
            "<HHHHHHIIIHHHHHII", 0x031E, 20, e.flags, e.method, 0, 0x21, e.crc, len(e.payload), e.size,
            len(e.name), len(e.extra), 0, 0, 0, 0o100644 << 16, offset) + e.name + e.extra
    n = len(entries)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0)
    return bytes(out + central + end)


def generator(members: Iterator[Member]) -> Generator[Member, None, None]:
    """Readers are generators; say so, for tests that close one early."""
    assert isinstance(members, Generator)
    return members
