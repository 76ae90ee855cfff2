"""NIST NSRL RDS known-good sets: RDS v3 SQLite databases and legacy RDS 2.x ``NSRLFile.txt``.

Full sets hold ~100M+ rows, so both readers stream: v3 iterates ``FILE`` in rowid order with
``fetchmany`` (no join, no sort) and looks products up through a small cache; legacy files go
through the csv module decoded as ISO-8859-1, which every byte sequence is.

``read`` yields one ``HashRecord`` per row like every reader. ``read_columns`` is the bulk path the
importer uses: it yields whole batches as columns (``HashColumns``) after checking each column at
once (lower-cased, right length, hex, not an empty-file digest) instead of building a validated
record per row (~4 µs each, an hour over 1e9 rows of a full set's three hashes). A batch that
fails any of those checks is re-read row by row through ``HashRecord``, so bad rows are still
reported with their position and reason, exactly as ``read`` reports them.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable

from safehold.core.hashrecords import NSRL_SCHEME, HashColumns
from safehold.formats.hashsets.base import (
    EMPTY_FILE_HASHES,
    BadRow,
    HashRecord,
    ParsedItem,
    SetMetadata,
    csv_rows,
)

__all__ = ["ColumnReader", "HashColumns", "NsrlLegacyReader", "NsrlRds3Reader", "open_readonly"]

SCHEME = NSRL_SCHEME
_SQLITE_MAGIC = b"SQLite format 3\x00"
_FETCH = 20_000
_PKG_CACHE_MAX = 65_536
_LEGACY_CODES = ("ProductCode", "OpSystemCode", "SpecialCode")
_LEGACY_HEADER = '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'
_LEGACY_ROW_BYTES = 110  # a typical NSRLFile.txt line, for the size hint
_NO_EXTRA: Mapping[str, str] = MappingProxyType({})


@runtime_checkable
class ColumnReader(Protocol):
    """A reader with a bulk path: batches of checked columns, and a cheap estimate of its rows.

    Lists read this way are file catalogues where one file's hashes repeat once per product that
    ships it; the importer keeps the first row of each (md5, sha1, sha256).
    """

    def read_columns(self, path: Path) -> Iterator[HashColumns | BadRow]: ...

    def size_hint(self, path: Path) -> int: ...


def _hex_column(values: Sequence[Any], digits: int) -> list[str] | None:
    """Lower-cased values when every one is ``digits`` hex digits and none is an empty-file
    digest; None (check row by row) otherwise. A handful of C-level passes over the batch."""
    try:
        low = list(map(str.lower, values))
    except TypeError:  # None, an integer, bytes: the per-row path says which row and why
        return None
    if not low:
        return low
    joined = "".join(low)
    if len(joined) != digits * len(low) or max(map(len, low)) != digits:
        return None
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        return None
    if 2 * len(raw) != len(joined):  # fromhex skips whitespace between digit pairs
        return None
    if not EMPTY_FILE_HASHES.isdisjoint(low):
        return None
    return low


def _sizes(values: Sequence[Any]) -> list[int | None] | None:
    """Integers ≥ 0 (a v3 INTEGER column) or None for the per-row path."""
    if not values:
        return []
    if set(map(type, values)) != {int} or min(values) < 0:
        return None
    return list[int | None](values)


def _text_sizes(values: Sequence[str]) -> list[int | None] | None:
    """Sizes as NSRLFile.txt writes them (decimal text), or None for the per-row path."""
    try:
        sizes = list(map(int, values))
    except ValueError:  # empty cells or garbage
        return None
    return list[int | None](sizes) if not sizes or min(sizes) >= 0 else None


def _names(values: Sequence[Any]) -> list[str | None] | None:
    if values and set(map(type, values)) != {str}:
        return None
    return [v or None for v in values] if "" in values else list(values)


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
            return _NO_EXTRA
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

    def many(self, package_ids: Sequence[int]) -> list[Mapping[str, str]]:
        """``info`` for a batch of integer ids: one query per package not seen yet."""
        missing = set(package_ids).difference(self._cache)
        if len(self._cache) + len(missing) >= _PKG_CACHE_MAX:
            self._cache.clear()
            missing = set(package_ids)
        for package_id in missing:
            self.info(package_id)
        return list(map(self._cache.__getitem__, package_ids))


def _lower(value: object) -> str | None:
    if value is None:
        return None
    return str(value).strip().lower() or None


_V3_WANTED = ("sha256", "sha1", "md5", "file_name", "file_size", "package_id")


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

    def size_hint(self, path: Path) -> int:
        """Rows in ``FILE`` as far as its largest rowid tells (no count: that would scan it)."""
        try:
            with closing(open_readonly(path)) as con:
                return int(con.execute("SELECT max(rowid) FROM FILE").fetchone()[0] or 0)
        except sqlite3.DatabaseError:
            return 0

    def read(self, path: Path) -> Iterator[ParsedItem]:
        done = 0  # one item per FILE row, so this numbers the row that failed
        try:
            for item in self._read(path):
                done += 1
                yield item
        except sqlite3.DatabaseError as err:  # not a database, or a corrupt page mid-scan
            yield BadRow(f"row {done + 1}", f"SQLite error: {err}")

    def read_columns(self, path: Path) -> Iterator[HashColumns | BadRow]:
        done = 0  # rows handed out so far, good or bad
        try:
            for item in self._read_columns(path):
                done += len(item) if isinstance(item, HashColumns) else 1
                yield item
        except sqlite3.DatabaseError as err:
            yield BadRow(f"row {done + 1}", f"SQLite error: {err}")

    def _scan(self, con: sqlite3.Connection) -> sqlite3.Cursor:
        columns = {str(row[1]).lower() for row in con.execute("PRAGMA table_info(FILE)")}
        select = ", ".join(col if col in columns else "NULL" for col in _V3_WANTED)
        return con.execute(f"SELECT {select} FROM FILE")  # noqa: S608 - names from a fixed tuple

    @staticmethod
    def _record(row: tuple[Any, ...], packages: _Packages) -> HashRecord:
        sha256, sha1, md5, file_name, file_size, package_id = row
        return HashRecord(
            md5=_lower(md5),
            sha1=_lower(sha1),
            sha256=_lower(sha256),
            size=int(file_size) if file_size is not None else None,
            category_scheme=SCHEME,
            file_name=file_name or None,
            extra=packages.info(package_id if isinstance(package_id, int) else None),
        )

    def _row_batches(self, path: Path) -> Iterator[tuple[list[Any], _Packages] | BadRow]:
        """FILE rows in fetch-sized batches with the package lookup, or one BadRow without a FILE table."""
        with closing(open_readonly(path)) as con:
            tables = _tables(con)
            if "FILE" not in tables:
                yield BadRow("table FILE", "not an RDS v3 database: no FILE table")
                return
            packages = _Packages(con, tables)
            cur = self._scan(con)
            while rows := cur.fetchmany(_FETCH):
                yield rows, packages

    def _read(self, path: Path) -> Iterator[ParsedItem]:
        number = 0
        for batch in self._row_batches(path):
            if isinstance(batch, BadRow):
                yield batch
                return
            rows, packages = batch
            for row in rows:
                number += 1
                try:
                    yield self._record(row, packages)
                except ValueError as err:
                    yield BadRow(f"row {number}", str(err))

    def _read_columns(self, path: Path) -> Iterator[HashColumns | BadRow]:
        number = 0
        for batch in self._row_batches(path):
            if isinstance(batch, BadRow):
                yield batch
                return
            rows, packages = batch
            columns = self._columns(rows, packages)
            if columns is not None:
                yield columns
            else:  # something in this batch is off: find it row by row
                good: list[HashRecord] = []
                for offset, row in enumerate(rows, number + 1):
                    try:
                        good.append(self._record(row, packages))
                    except ValueError as err:
                        yield BadRow(f"row {offset}", str(err))
                yield HashColumns.from_records(good)
            number += len(rows)

    @staticmethod
    def _columns(rows: list[tuple[Any, ...]], packages: _Packages) -> HashColumns | None:
        sha256, sha1, md5, names, sizes, package_ids = zip(*rows, strict=True)
        hex256, hex1, hex5 = _hex_column(sha256, 64), _hex_column(sha1, 40), _hex_column(md5, 32)
        size, name = _sizes(sizes), _names(names)
        if hex256 is None or hex1 is None or hex5 is None or size is None or name is None:
            return None
        if set(map(type, package_ids)) != {int}:
            return None
        return HashColumns(list(hex5), list(hex1), list(hex256), size, name, packages.many(package_ids))


def _header_name(cell: str) -> str:
    # A UTF-8 BOM read as ISO-8859-1 is three characters, and it keeps csv from seeing the quote.
    return cell.strip().lstrip("\ufeff\xef\xbb\xbf").strip('"').upper()


@dataclass(slots=True)
class _Layout:
    """Where NSRLFile.txt keeps each field, from its header."""

    sha1: int
    md5: int
    name: int
    size: int
    codes: list[tuple[str, int]]
    width: int


class NsrlLegacyReader:
    """RDS 2.x ``NSRLFile.txt``; product, OS and special codes go to ``extra`` as raw text."""

    name: ClassVar[str] = "nsrl-legacy"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.lstrip(b"\xef\xbb\xbf").startswith(b'"SHA-1","MD5"')

    def metadata(self, path: Path) -> SetMetadata:
        return SetMetadata(format=self.name, category_scheme=SCHEME)

    def size_hint(self, path: Path) -> int:
        return path.stat().st_size // _LEGACY_ROW_BYTES

    @staticmethod
    def _layout(reader: Any) -> _Layout | BadRow:
        header = next(csv_rows(reader), None)
        if header is None or isinstance(header, BadRow):
            return BadRow("line 1", "no NSRLFile.txt header")
        index = {_header_name(name): i for i, name in enumerate(header)}
        if "SHA-1" not in index and "MD5" not in index:
            return BadRow("line 1", f"not an NSRLFile.txt header; expected {_LEGACY_HEADER}")
        codes = [(label, index[label.upper()]) for label in _LEGACY_CODES if label.upper() in index]
        return _Layout(index.get("SHA-1", -1), index.get("MD5", -1), index.get("FILENAME", -1),
                       index.get("FILESIZE", -1), codes, max(index.values()) + 1)

    def read(self, path: Path) -> Iterator[ParsedItem]:
        with path.open(encoding="iso-8859-1", newline="") as handle:
            reader = csv.reader(handle)
            layout = self._layout(reader)
            if isinstance(layout, BadRow):
                yield layout
                return
            extras = _Extras(layout.codes)
            for row in csv_rows(reader):
                if isinstance(row, BadRow):
                    yield row
                    continue
                item = self._row(row, reader.line_num, layout, extras)
                if item is not None:
                    yield item

    def read_columns(self, path: Path) -> Iterator[HashColumns | BadRow]:
        with path.open(encoding="iso-8859-1", newline="") as handle:
            reader = csv.reader(handle)
            layout = self._layout(reader)
            if isinstance(layout, BadRow):
                yield layout
                return
            extras = _Extras(layout.codes)
            rows: list[list[str]] = []
            lines: list[int] = []
            for row in csv_rows(reader):
                if isinstance(row, BadRow):
                    yield row
                    continue
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) >= _FETCH:
                    yield from self._batch(rows, lines, layout, extras)
                    rows, lines = [], []
            if rows:
                yield from self._batch(rows, lines, layout, extras)

    def _batch(self, rows: list[list[str]], lines: list[int], layout: _Layout,
               extras: _Extras) -> Iterator[HashColumns | BadRow]:
        batch = self._columns(rows, layout, extras)
        if batch is not None:
            yield batch
            return
        good: list[HashRecord] = []
        for row, line in zip(rows, lines, strict=True):
            item = self._row(row, line, layout, extras)
            if isinstance(item, BadRow):
                yield item
            elif item is not None:
                good.append(item)
        yield HashColumns.from_records(good)

    @staticmethod
    def _columns(rows: list[list[str]], layout: _Layout, extras: _Extras) -> HashColumns | None:
        if min(map(len, rows)) < layout.width:
            return None
        cols = list(zip(*rows, strict=False))  # rows may be wider than the header
        n = len(rows)
        none: list[Any] = [None] * n
        sha1 = _hex_column(cols[layout.sha1], 40) if layout.sha1 >= 0 else none
        md5 = _hex_column(cols[layout.md5], 32) if layout.md5 >= 0 else none
        size = _text_sizes(cols[layout.size]) if layout.size >= 0 else none
        name = _names(cols[layout.name]) if layout.name >= 0 else none
        if sha1 is None or md5 is None or size is None or name is None:
            return None
        keys: list[tuple[str, ...]] = (list(zip(*(cols[i] for _, i in layout.codes), strict=True))
                                        if layout.codes else [()] * n)
        return HashColumns(list(md5), list(sha1), list(none), size, name, extras.many(keys))

    @staticmethod
    def _row(row: list[str], line: int, layout: _Layout, extras: _Extras) -> ParsedItem | None:
        if len(row) < layout.width:
            return BadRow(f"line {line}", f"{len(row)} columns, expected {layout.width}") if row else None
        try:
            return HashRecord(
                md5=(row[layout.md5].lower() or None) if layout.md5 >= 0 else None,
                sha1=(row[layout.sha1].lower() or None) if layout.sha1 >= 0 else None,
                size=int(row[layout.size]) if layout.size >= 0 and row[layout.size] else None,
                category_scheme=SCHEME,
                file_name=(row[layout.name] or None) if layout.name >= 0 else None,
                extra=extras.one(row),
            )
        except ValueError as err:
            return BadRow(f"line {line}", str(err))


class _Extras:
    """Product/OS/special code triples → one shared ``extra`` mapping each (there are few)."""

    def __init__(self, codes: list[tuple[str, int]]) -> None:
        self._codes = codes
        self._pick = itemgetter(*(i for _, i in codes)) if codes else None
        self._shared: dict[tuple[str, ...], Mapping[str, str]] = {}

    def _make(self, key: tuple[str, ...]) -> Mapping[str, str]:
        if len(self._shared) >= _PKG_CACHE_MAX:
            self._shared.clear()
        extra = self._shared[key] = MappingProxyType(
            {label: value for (label, _), value in zip(self._codes, key, strict=True) if value})
        return extra

    def one(self, row: list[str]) -> Mapping[str, str]:
        if self._pick is None:
            return _NO_EXTRA
        picked = self._pick(row)
        key = picked if isinstance(picked, tuple) else (picked,)
        found = self._shared.get(key)
        return found if found is not None else self._make(key)

    def many(self, keys: list[tuple[str, ...]]) -> list[Mapping[str, str]]:
        if self._pick is None:
            return [_NO_EXTRA] * len(keys)
        missing = set(keys).difference(self._shared)
        if len(self._shared) + len(missing) >= _PKG_CACHE_MAX:
            self._shared.clear()
            missing = set(keys)
        for key in missing:
            self._make(key)
        return list(map(self._shared.__getitem__, keys))
