"""NIST NSRL RDS known-good sets: RDS v3 SQLite databases and legacy RDS 2.x ``NSRLFile.txt``.

Full sets hold ~100M rows, so both readers stream: v3 iterates ``FILE`` in rowid order with
``fetchmany`` (no join, no sort) and looks products up through a small cache; legacy files go
through the csv module decoded as ISO-8859-1, which every byte sequence is.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from safehold.formats.hashsets.base import BadRow, HashRecord, ParsedItem, SetMetadata, csv_rows

__all__ = ["NsrlLegacyReader", "NsrlRds3Reader", "open_readonly"]

SCHEME = "nsrl"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_FETCH = 20_000
_PKG_CACHE_MAX = 65_536
_LEGACY_CODES = ("ProductCode", "OpSystemCode", "SpecialCode")
_LEGACY_HEADER = '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open evidence-grade: read-only and immutable, so SQLite writes no journal or WAL beside it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def _tables(con: sqlite3.Connection) -> set[str]:
    rows = con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
    return {str(name).upper() for (name,) in rows}


class _Packages:
    """package_id → shared ``extra`` mapping (product, version, OS); rows of one package share it."""

    def __init__(self, con: sqlite3.Connection, tables: set[str]) -> None:
        self._con = con
        self._cache: dict[int, Mapping[str, str]] = {}
        if "PKG" not in tables:
            self._query = ""
        elif "OS" in tables:
            self._query = (
                "SELECT p.name, p.version, o.name FROM PKG p LEFT JOIN OS o"
                " ON o.operating_system_id = p.operating_system_id WHERE p.package_id = ? LIMIT 1"
            )
        else:
            self._query = "SELECT name, version, NULL FROM PKG WHERE package_id = ? LIMIT 1"

    def info(self, package_id: int | None) -> Mapping[str, str]:
        if package_id is None:
            return MappingProxyType({})
        found = self._cache.get(package_id)
        if found is not None:
            return found
        info = {"package_id": str(package_id)}
        if self._query:
            try:
                row = self._con.execute(self._query, (package_id,)).fetchone()
            except sqlite3.DatabaseError:
                row = None
            if row:
                for key, value in zip(("product", "product_version", "os"), row, strict=True):
                    if value not in (None, ""):
                        info[key] = str(value)
        if len(self._cache) >= _PKG_CACHE_MAX:
            self._cache.clear()
        found = self._cache[package_id] = MappingProxyType(info)
        return found


def _lower(value: object) -> str | None:
    if value is None:
        return None
    return str(value).strip().lower() or None


class NsrlRds3Reader:
    """RDS v3 SQLite (``FILE``/``PKG``/``OS``/``VERSION``); opened read-only, never modified."""

    name: ClassVar[str] = "nsrl-rds3"

    def sniff(self, head: bytes, path: Path) -> bool:
        if not head.startswith(_SQLITE_MAGIC):
            return False
        try:
            with closing(open_readonly(path)) as con:
                return "FILE" in _tables(con)
        except sqlite3.DatabaseError:
            return False

    def metadata(self, path: Path) -> SetMetadata:
        with closing(open_readonly(path)) as con:
            if "VERSION" not in _tables(con):
                return SetMetadata(format=self.name, category_scheme=SCHEME)
            cur = con.execute("SELECT * FROM VERSION")
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        if row is None:
            return SetMetadata(format=self.name, category_scheme=SCHEME)
        info = {name: str(value) for name, value in zip(names, row, strict=True) if value is not None}
        return SetMetadata(format=self.name, version=info.get("version"), category_scheme=SCHEME, extra=info)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        done = 0  # one item per FILE row, so this numbers the row that failed
        try:
            for item in self._read(path):
                done += 1
                yield item
        except sqlite3.DatabaseError as err:  # not a database, or a corrupt page mid-scan
            yield BadRow(f"row {done + 1}", f"SQLite error: {err}")

    def _read(self, path: Path) -> Iterator[ParsedItem]:
        with closing(open_readonly(path)) as con:
            tables = _tables(con)
            if "FILE" not in tables:
                yield BadRow("table FILE", "not an RDS v3 database: no FILE table")
                return
            columns = {str(row[1]).lower() for row in con.execute("PRAGMA table_info(FILE)")}
            wanted = ("sha256", "sha1", "md5", "file_name", "file_size", "package_id")
            select = ", ".join(col if col in columns else "NULL" for col in wanted)
            packages = _Packages(con, tables)
            cur = con.execute(f"SELECT {select} FROM FILE")  # noqa: S608 - names from a fixed tuple
            number = 0
            while rows := cur.fetchmany(_FETCH):
                for sha256, sha1, md5, file_name, file_size, package_id in rows:
                    number += 1
                    try:
                        yield HashRecord(
                            md5=_lower(md5),
                            sha1=_lower(sha1),
                            sha256=_lower(sha256),
                            size=int(file_size) if file_size is not None else None,
                            category_scheme=SCHEME,
                            file_name=file_name or None,
                            extra=packages.info(package_id if isinstance(package_id, int) else None),
                        )
                    except ValueError as err:
                        yield BadRow(f"row {number}", str(err))


def _header_name(cell: str) -> str:
    # A UTF-8 BOM read as ISO-8859-1 is three characters, and it keeps csv from seeing the quote.
    return cell.strip().lstrip("\ufeff\xef\xbb\xbf").strip('"').upper()


class NsrlLegacyReader:
    """RDS 2.x ``NSRLFile.txt``; product, OS and special codes go to ``extra`` as raw text."""

    name: ClassVar[str] = "nsrl-legacy"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.lstrip(b"\xef\xbb\xbf").startswith(b'"SHA-1","MD5"')

    def metadata(self, path: Path) -> SetMetadata:
        return SetMetadata(format=self.name, category_scheme=SCHEME)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        with path.open(encoding="iso-8859-1", newline="") as handle:
            reader = csv.reader(handle)
            header = next(csv_rows(reader), None)
            if header is None or isinstance(header, BadRow):
                yield BadRow("line 1", "no NSRLFile.txt header")
                return
            index = {_header_name(name): i for i, name in enumerate(header)}
            if "SHA-1" not in index and "MD5" not in index:
                yield BadRow("line 1", f"not an NSRLFile.txt header; expected {_LEGACY_HEADER}")
                return
            i_sha1, i_md5 = index.get("SHA-1", -1), index.get("MD5", -1)
            i_name, i_size = index.get("FILENAME", -1), index.get("FILESIZE", -1)
            codes = [(label, index[label.upper()]) for label in _LEGACY_CODES if label.upper() in index]
            width = max(index.values()) + 1
            shared: dict[object, Mapping[str, str]] = {}  # few distinct code triples: share them
            pick = itemgetter(*(i for _, i in codes)) if codes else (lambda _row: ())
            for row in csv_rows(reader):
                if isinstance(row, BadRow):
                    yield row
                    continue
                if len(row) < width:
                    if row:
                        yield BadRow(f"line {reader.line_num}", f"{len(row)} columns, expected {width}")
                    continue
                key = pick(row)
                extra = shared.get(key)
                if extra is None:
                    if len(shared) >= _PKG_CACHE_MAX:
                        shared.clear()
                    extra = shared[key] = MappingProxyType({label: row[i] for label, i in codes if row[i]})
                try:
                    yield HashRecord(
                        md5=(row[i_md5].lower() or None) if i_md5 >= 0 else None,
                        sha1=(row[i_sha1].lower() or None) if i_sha1 >= 0 else None,
                        size=int(row[i_size]) if i_size >= 0 and row[i_size] else None,
                        category_scheme=SCHEME,
                        file_name=(row[i_name] or None) if i_name >= 0 else None,
                        extra=extra,
                    )
                except ValueError as err:
                    yield BadRow(f"line {reader.line_num}", str(err))
