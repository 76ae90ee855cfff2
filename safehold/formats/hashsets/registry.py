"""The explicit list of hash-list readers and format detection over it.

Order matters for detection: specific signatures (SQLite magic, hashdeep and NSRL headers) come
before loose ones, CAID before VICS (CAID is VICS JSON with a name hint), and PDQ before plain
lists (bare 64-hex lines are SHA-256 unless the file says PDQ); vPDQ lines (a frame number,
quality, hash and time) before PDQ lists, which would read them as bad rows.
"""

from __future__ import annotations

from pathlib import Path

from safehold.formats.hashsets.base import HashListReader, UnknownHashListFormat
from safehold.formats.hashsets.caid import CaidReader
from safehold.formats.hashsets.hashdeep import HashdeepReader
from safehold.formats.hashsets.icse import IcseReader
from safehold.formats.hashsets.nsrl import NsrlLegacyReader, NsrlRds3Reader
from safehold.formats.hashsets.pdq import PdqReader
from safehold.formats.hashsets.plain import PlainReader
from safehold.formats.hashsets.vics import VicsReader
from safehold.formats.hashsets.vpdq import VpdqReader

__all__ = ["HEAD_BYTES", "READERS", "detect_format", "reader_by_name"]

HEAD_BYTES = 64 << 10

READERS: tuple[HashListReader, ...] = (
    NsrlRds3Reader(),
    HashdeepReader(),
    NsrlLegacyReader(),
    IcseReader(),
    CaidReader(),
    VicsReader(),
    VpdqReader(),
    PdqReader(),
    PlainReader(),
)


def reader_by_name(name: str) -> HashListReader:
    """The reader stored under ``name`` (``vics``, ``nsrl-rds3``...)."""
    for reader in READERS:
        if reader.name == name:
            return reader
    known = ", ".join(r.name for r in READERS)
    raise UnknownHashListFormat(f"unknown hash list format {name!r}; known: {known}")


def detect_format(path: Path) -> HashListReader:
    """The first reader whose ``sniff`` accepts the file's first 64 KiB."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for reader in READERS:
        if reader.sniff(head, path):
            return reader
    raise UnknownHashListFormat(f"{path.name}: not a hash list format Safehold reads")
