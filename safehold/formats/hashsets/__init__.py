"""Streaming parsers for imported hash lists (VICS, CAID, ICSE, NSRL, hashdeep, checksum and PDQ lists).

Readers only parse: each yields ``HashRecord`` or ``BadRow`` in file order; storing and matching
belong to ``store`` and ``match``.
"""

from safehold.formats.hashsets.base import (
    BadRow,
    HashListReader,
    HashRecord,
    ParsedItem,
    SetMetadata,
    UnknownHashListFormat,
)
from safehold.formats.hashsets.registry import READERS, detect_format, reader_by_name

__all__ = [
    "READERS",
    "BadRow",
    "HashListReader",
    "HashRecord",
    "ParsedItem",
    "SetMetadata",
    "UnknownHashListFormat",
    "detect_format",
    "reader_by_name",
]
