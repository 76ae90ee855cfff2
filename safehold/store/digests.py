"""Hash digests stored as raw bytes and handed to Python as lower-case hex text.

Hex text costs twice a digest's bytes, in the row and again in every index on it; at NSRL scale
(100M entries with an MD5, a SHA-1 and a SHA-256 each, all three indexed) that doubling was half
of the store. ``HexDigest`` keeps what callers see unchanged: they bind hex ``str`` (either case,
surrounding blanks ignored) and read lower-case hex ``str``; the database holds a BLOB (SQLite)
or BYTEA (PostgreSQL) of 16, 20 or 32 bytes, which compares and sorts like the lower-case hex did.

Bulk paths skip the ORM and the driver sees the bytes: ``binary_column`` converts a whole batch,
and SQL that joins hex text (``contents``) to digests converts with ``unhex_sql``.
"""

from __future__ import annotations

import binascii
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["DIGEST_BYTES", "HexDigest", "binary_column", "digest_bytes", "ensure_sqlite_unhex", "unhex_sql"]

# Digest sizes by hash-entry column.
DIGEST_BYTES = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}


def digest_bytes(value: str, nbytes: int) -> bytes:
    """``value`` (hex, either case, blanks around it ignored) as ``nbytes`` raw bytes.

    Raises ``ValueError`` naming the value for anything else, so a wrong digest is refused
    where it is written or looked up instead of being stored as something no hash ever equals."""
    text = value.strip()
    try:
        raw = binascii.unhexlify(text)
    except (binascii.Error, ValueError):  # odd length, non-hex, non-ASCII
        raw = b""
    if len(raw) != nbytes:
        raise ValueError(f"not a {2 * nbytes}-digit hex digest: {value[:80]!r}")
    return raw


class HexDigest(TypeDecorator[str]):
    """A digest column: ``nbytes`` raw bytes in the database, lower-case hex in Python."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, nbytes: int) -> None:
        super().__init__()
        self.nbytes = nbytes

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else digest_bytes(value, self.nbytes)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else bytes(value).hex()


def binary_column(values: Sequence[str | None], nbytes: int) -> list[bytes | None]:
    """A batch of hex digests (checked by a reader: hex of the right length, or None) as bytes.

    One C-level pass per value; a value of the wrong length raises ``ValueError``."""
    if None in values:
        out: list[bytes | None] = [None if v is None else bytes.fromhex(v) for v in values]
        sizes = {len(v) for v in out if v is not None}
    else:
        out = list(map(bytes.fromhex, values))  # type: ignore[arg-type]  # no None here
        sizes = set(map(len, out))  # type: ignore[arg-type]
    if sizes - {nbytes}:
        raise ValueError(f"a digest in this batch is not {nbytes} bytes")
    return out


def _unhex(value: object) -> bytes | None:
    """SQLite's ``unhex`` (3.41+) for older libraries: NULL for anything that is not hex."""
    if not isinstance(value, str):
        return None
    try:
        return binascii.unhexlify(value)
    except (binascii.Error, ValueError):
        return None


def ensure_sqlite_unhex(dbapi_conn: sqlite3.Connection) -> None:
    """Give a SQLite connection ``unhex(text)`` when its library predates the built-in one."""
    if sqlite3.sqlite_version_info < (3, 41, 0):
        dbapi_conn.create_function("unhex", 1, _unhex, deterministic=True)


def unhex_sql(dialect: str, column: str, nbytes: int) -> str:
    """SQL turning hex text in ``column`` into digest bytes, NULL where it is not hex of that size
    (SQLite's ``unhex`` gives NULL for non-hex; PostgreSQL's ``decode`` would raise instead)."""
    if dialect == "postgresql":  # a negated class: a third of the time of an anchored pattern
        return (f"CASE WHEN length({column}) = {2 * nbytes} AND {column} !~ '[^0-9A-Fa-f]'"
                f" THEN decode({column}, 'hex') END")
    return f"CASE WHEN length({column}) = {2 * nbytes} THEN unhex({column}) END"
