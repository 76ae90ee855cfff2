"""Appending one import's entries to ``hash_entries``, sized for 100M-row lists.

Loads go through the driver's fastest path (COPY on PostgreSQL, executemany on SQLite). Digests
go in as bytes, converted a batch at a time (``binary_column``); what a list says beyond hashes
(``extra``: NSRL's product, version and OS) is stored once per distinct value per import in
``hash_extras`` and referenced by id (``ExtraIds``), since one product's description would
otherwise be repeated on each of its thousands of files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import compress, repeat
from typing import Any

from sqlalchemy import Connection, insert

from safehold.core.hashrecords import HashColumns, HashRecord
from safehold.store.digests import binary_column
from safehold.store.hashset_keys import KeySet, entry_keys, key_pdq
from safehold.store.hashset_models import HashExtra

__all__ = ["COLUMN_ENTRY_COLUMNS", "ENTRY_COLUMNS", "EntryWriter", "ExtraIds", "copy_entries"]

ENTRY_COLUMNS = (
    "set_id", "import_id", "md5", "sha1", "sha256", "pdq", "pdq_quality", "photodna", "size",
    "category_scheme", "category_code", "series", "victim_identified", "offender_identified",
    "distributed", "file_name", "extra_id", "vpdq",
)
# What a ``HashColumns`` batch fills; the other columns stay NULL (fewer binds, a faster load).
COLUMN_ENTRY_COLUMNS = (
    "set_id", "import_id", "md5", "sha1", "sha256", "size", "category_scheme", "file_name", "extra_id",
)
EXTRA_IDS_MAX = 100_000


def _digest(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


class ExtraIds:
    """``extra`` mappings of one import → ids of their ``hash_extras`` rows, each value stored once.

    Known first by object (the NSRL readers share one mapping per product, so a batch costs a
    dictionary look-up per row), then by JSON text. Both maps are bounded by ``limit``: past it
    they start again, which may store a value a second time but never loses one."""

    def __init__(self, import_id: int, limit: int = EXTRA_IDS_MAX) -> None:
        self.import_id = import_id
        self._limit = limit
        self._by_object: dict[int, tuple[Mapping[str, Any], int]] = {}  # holds the object: ids stay unique
        self._by_text: dict[str, int] = {}

    def ids(self, conn: Connection, extras: Sequence[Mapping[str, Any] | None]) -> list[int | None]:
        """One id per mapping (None for an empty one), storing values not seen before."""
        known = self._by_object
        fresh = {id(e): e for e in extras if e and id(e) not in known}
        if fresh:
            if len(known) + len(fresh) > self._limit:
                known.clear()
                self._by_text.clear()
                fresh = {id(e): e for e in extras if e}
            self._store(conn, list(fresh.values()))
        return [known[id(e)][1] if e else None for e in extras]

    def _store(self, conn: Connection, mappings: list[Mapping[str, Any]]) -> None:
        texts = [json.dumps(dict(m), ensure_ascii=False, sort_keys=True) for m in mappings]
        new = {t: m for t, m in zip(texts, mappings, strict=True) if t not in self._by_text}
        if new:
            rows = [{"import_id": self.import_id, "data": dict(m)} for m in new.values()]
            ids = conn.scalars(insert(HashExtra).returning(HashExtra.id, sort_by_parameter_order=True), rows).all()
            self._by_text.update(zip(new, ids, strict=True))
        for text, m in zip(texts, mappings, strict=True):
            self._by_object[id(m)] = (m, self._by_text[text])


def copy_entries(conn: Connection, rows: Sequence[tuple[Any, ...]],
                 columns: Sequence[str] = ENTRY_COLUMNS) -> None:
    """Append rows (tuples in ``columns`` order, digests as bytes) by the driver's fastest path."""
    if not rows:
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cols = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY hash_entries ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        cur = raw.cursor()
        cur.executemany(f"INSERT INTO hash_entries ({cols}) VALUES ({marks})", rows)  # noqa: S608 - constant names
        cur.close()


class EntryWriter:
    """Writes the batches of one import: rows built column-wise, digests as bytes, extras by id,
    and each entry's key added to ``keys`` (the version diff, and the fold of repeated rows)."""

    def __init__(self, set_id: int, import_id: int, default_scheme: str | None, keys: KeySet) -> None:
        self.set_id = set_id
        self.import_id = import_id
        self.default_scheme = default_scheme
        self.keys = keys
        self.extras = ExtraIds(import_id)

    def columns(self, conn: Connection, cols: HashColumns) -> int:
        """Store the first row of each distinct (MD5, SHA-1, SHA-256) not stored before by this
        import; returns how many rows were stored (the rest repeat earlier ones)."""
        md5, sha1, sha256 = binary_column(cols.md5, 16), binary_column(cols.sha1, 20), binary_column(cols.sha256, 32)
        first = self.keys.add(entry_keys(md5, sha1, sha256))
        rows = list(zip(repeat(self.set_id), repeat(self.import_id), md5, sha1, sha256, cols.size,
                        repeat(cols.category_scheme), cols.file_name, self.extras.ids(conn, cols.extra)))
        if not first.all():
            rows = list(compress(rows, first.tolist()))
        copy_entries(conn, rows, COLUMN_ENTRY_COLUMNS)
        return len(rows)

    def records(self, conn: Connection, records: Sequence[HashRecord]) -> int:
        """Store every record (two rows of one hash may carry different categories)."""
        md5, sha1 = [_digest(r.md5) for r in records], [_digest(r.sha1) for r in records]
        sha256, pdq = [_digest(r.sha256) for r in records], [_digest(r.pdq) for r in records]
        vpdq = [r.vpdq for r in records]
        self.keys.add(entry_keys(md5, sha1, sha256, list(map(key_pdq, pdq, vpdq))))  # a video: by its vPDQ
        extra_ids = self.extras.ids(conn, [r.extra for r in records])
        scheme = self.default_scheme
        rows = [
            (self.set_id, self.import_id, m, s1, s256, p, r.pdq_quality, r.photodna, r.size,
             (r.category_scheme or scheme) if r.category_code is not None else r.category_scheme,
             r.category_code, r.series, r.victim_identified, r.offender_identified, r.distributed,
             r.file_name, x, v)
            for r, m, s1, s256, p, x, v in zip(records, md5, sha1, sha256, pdq, extra_ids, vpdq, strict=True)
        ]
        copy_entries(conn, rows, ENTRY_COLUMNS)
        return len(rows)
