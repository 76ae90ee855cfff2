"""Bulk loading of hash entries, version diffs and exact matching, in SQL.

Loads go through the driver's fastest path (COPY on PostgreSQL, executemany on SQLite) because
national lists run to 100M rows. Exact matching is a join on indexed hash columns, run inside
the database; the empty file's digests are excluded there too, whatever a list contains.

Big loads (see ``services.hashsets``) drop the three hash indexes, append, and build them again
afterwards: keeping 100M random keys sorted row by row is what makes naive imports take hours.
``ensure_hash_indexes`` puts back any that an interrupted import left missing; matching calls it
first, so a store is always usable.

Version diffs compare entries by a 64-bit key folded from every byte of their MD5, SHA-1,
SHA-256 and PDQ (``entry_keys``), counted with sorted numpy arrays: an EXCEPT over four text
columns of two 100M-row versions is a sort the databases do far more slowly. Two different
entries share a key with probability ~n²/2⁶⁵ (about 1 in 1,000 for two 100M-row versions), which
at worst makes a diff count off by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.formats.hashsets.base import EMPTY_FILE_HASHES, HashRecord
from safehold.formats.hashsets.nsrl import HashColumns
from safehold.store.hashset_models import HashEntry, Match, StoreState
from safehold.store.ingest_repo import insert_ignore
from safehold.store.models import EvidenceItem, FileInstance

__all__ = [
    "COLUMN_ENTRY_COLUMNS",
    "ENTRY_COLUMNS",
    "GENERATION_KEY",
    "HASH_INDEXES",
    "KeySet",
    "bulk_loading",
    "bump_generation",
    "column_rows",
    "copy_entries",
    "count_diff",
    "diff_imports",
    "drop_hash_indexes",
    "ensure_hash_indexes",
    "entry_keys",
    "exact_match",
    "generation",
    "purge_entries",
    "purge_import",
    "stored_keys",
    "table_rows",
]

GENERATION_KEY = "hashsets_generation"
ENTRY_COLUMNS = (
    "set_id", "import_id", "md5", "sha1", "sha256", "pdq", "pdq_quality", "photodna", "size",
    "category_scheme", "category_code", "series", "victim_identified", "offender_identified",
    "distributed", "file_name", "extra",
)
# What a ``HashColumns`` batch fills; the other columns stay NULL (fewer binds, a faster load).
COLUMN_ENTRY_COLUMNS = (
    "set_id", "import_id", "md5", "sha1", "sha256", "size", "category_scheme", "file_name", "extra",
)
# Names and columns exactly as migration 0002 creates them.
HASH_INDEXES = {"ix_hash_entries_md5": "md5", "ix_hash_entries_sha1": "sha1", "ix_hash_entries_sha256": "sha256"}
IMPORT_INDEX = ("ix_hash_entries_import", "import_id")
PURGE_CHUNK = 500_000
SQLITE_LOAD_CACHE_KIB = 256 * 1024
PG_INDEX_MEMORY = "512MB"


def entry_tuple(set_id: int, import_id: int, r: HashRecord, default_scheme: str | None) -> tuple[Any, ...]:
    extra = dict(r.extra) if r.extra else None
    return (
        set_id, import_id, r.md5, r.sha1, r.sha256, r.pdq, r.pdq_quality, r.photodna, r.size,
        (r.category_scheme or default_scheme) if r.category_code is not None else r.category_scheme,
        r.category_code, r.series, r.victim_identified, r.offender_identified, r.distributed,
        r.file_name, json.dumps(extra, ensure_ascii=False) if extra else None,
    )


class _ExtraJson:
    """``extra`` mappings → JSON text, once per shared mapping object (one per NSRL product).

    Keyed by ``id`` while holding the object, so an id is never reused for another mapping."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Mapping[str, str], str | None]] = {}

    def one(self, extra: Mapping[str, str]) -> str | None:
        hit = self._cache.get(id(extra))
        if hit is not None:
            return hit[1]
        if len(self._cache) >= 100_000:
            self._cache.clear()
        dumped = json.dumps(dict(extra), ensure_ascii=False) if extra else None
        self._cache[id(extra)] = (extra, dumped)
        return dumped

    def many(self, extras: Sequence[Mapping[str, str]]) -> list[str | None]:
        return list(map(self.one, extras))


_EXTRA_JSON = _ExtraJson()


def column_rows(set_id: int, import_id: int, cols: HashColumns,
                keep: npt.NDArray[np.bool_] | None = None) -> list[tuple[Any, ...]]:
    """Tuples in ``COLUMN_ENTRY_COLUMNS`` order, built column-wise (no per-row Python)."""
    rows = list(zip(repeat(set_id), repeat(import_id), cols.md5, cols.sha1, cols.sha256, cols.size,
                    repeat(cols.category_scheme), cols.file_name, _EXTRA_JSON.many(cols.extra)))
    if keep is not None and not keep.all():
        rows = [row for row, k in zip(rows, keep.tolist(), strict=True) if k]
    return rows


def copy_entries(conn: Connection, rows: Sequence[tuple[Any, ...]],
                 columns: Sequence[str] = ENTRY_COLUMNS) -> None:
    """Append rows (tuples in ``columns`` order) by the fastest path the driver offers."""
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


# ---------------------------------------------------------------- indexes and bulk-load settings
def _index_names(conn: Connection) -> set[str]:
    if conn.dialect.name == "postgresql":
        q = "SELECT indexname FROM pg_indexes WHERE tablename = 'hash_entries' AND schemaname = current_schema()"
    else:
        q = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hash_entries'"
    return {str(name) for (name,) in conn.execute(text(q))}


def drop_hash_indexes(conn: Connection) -> None:
    """Drop the MD5/SHA-1/SHA-256 indexes before a big append (they are rebuilt after it)."""
    for name in HASH_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def ensure_hash_indexes(conn: Connection) -> list[str]:
    """Create whichever entry indexes are missing (one that an interrupted big import dropped);
    returns their names. Reads the catalogue first, so when all exist nothing is locked."""
    wanted = {**HASH_INDEXES, IMPORT_INDEX[0]: IMPORT_INDEX[1]}
    missing = [name for name in wanted if name not in _index_names(conn)]
    if not missing:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_MEMORY}'"))
    else:
        conn.execute(text("PRAGMA threads = 4"))  # SQLite sorts with helper threads
    for name in missing:
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON hash_entries ({wanted[name]})"))
    return missing


@contextmanager
def bulk_loading(conn: Connection) -> Iterator[Connection]:
    """Per-connection settings for a big append, undone before the connection goes back to the pool.

    SQLite: a 256 MiB page cache. PostgreSQL: asynchronous commit (a crash can lose the last
    batches of the import, which an interrupted import loses anyway; it cannot corrupt anything).
    """
    sqlite = conn.dialect.name == "sqlite"
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    if sqlite:
        old_cache = cur.execute("PRAGMA cache_size").fetchone()[0]
        cur.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    else:
        cur.execute("SET synchronous_commit = off")
    cur.close()
    try:
        yield conn
    finally:
        cur = raw.cursor()
        if sqlite:
            cur.execute(f"PRAGMA cache_size = {int(old_cache)}")
        else:
            cur.execute("RESET synchronous_commit")
        cur.close()


def table_rows(conn: Connection) -> int:
    """An upper bound on the rows in ``hash_entries`` without counting them (ids only grow)."""
    lo, hi = conn.execute(text("SELECT min(id), max(id) FROM hash_entries")).one()
    return 0 if lo is None else int(hi) - int(lo) + 1


# ---------------------------------------------------------------- purge
def purge_import(s: Session, import_id: int) -> int:
    """Drop the entries of one import (a replaced version, or one interrupted while loading)."""
    result = s.execute(delete(HashEntry).where(HashEntry.import_id == import_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_entries(engine: Engine, import_id: int, chunk: int = PURGE_CHUNK) -> int:
    """``purge_import`` for big imports: by id ranges, one short transaction each, so neither
    SQLite's WAL nor PostgreSQL's transaction grows with the version's size. Only for imports
    that are not current (nothing reads them), so stopping half-way is harmless."""
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(HashEntry.id), func.max(HashEntry.id))
                              .where(HashEntry.import_id == import_id)).one()
    if lo is None:
        return 0
    removed = 0
    for start in range(int(lo), int(hi) + 1, chunk):
        with engine.begin() as conn:
            result = conn.execute(delete(HashEntry).where(
                HashEntry.import_id == import_id, HashEntry.id >= start, HashEntry.id < start + chunk))
            removed += int(result.rowcount or 0)
    return removed


# ---------------------------------------------------------------- entry keys and diffs
_MULT = np.uint64(0x9E3779B97F4A7C15)
_HASH_COLUMNS = (("md5", 32), ("sha1", 40), ("sha256", 64), ("pdq", 64))


def _mix(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: every input bit reaches every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _fold(values: Sequence[str | None], digits: int, salt: int) -> npt.NDArray[np.uint64]:
    """One 64-bit word per value, a polynomial over all of its bytes; ``salt`` for None."""
    n = len(values)
    nbytes = digits // 2
    width = 8 if nbytes % 8 == 0 else 4  # SHA-1's 20 bytes go as five 32-bit lanes
    present: npt.NDArray[np.bool_] | None = None
    if None in values:
        present = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        values = [v if v is not None else "0" * digits for v in values]
    try:
        raw = bytes.fromhex("".join(values))  # type: ignore[arg-type]
        if len(raw) != n * nbytes:
            raise ValueError("ragged")
    except ValueError:  # not hex of this length (never for stored lists, which are checked)
        raw = b"".join(str(v).encode().ljust(nbytes, b"\0")[:nbytes] for v in values)
    lanes = np.frombuffer(raw, dtype=f"<u{width}").reshape(n, nbytes // width)
    acc = np.full(n, np.uint64(salt), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for lane in range(lanes.shape[1]):  # values differing in any byte differ here
            acc = acc * _MULT + lanes[:, lane]
    if present is not None:
        acc[~present] = np.uint64(salt)  # what entry_keys uses for a column with no value at all
    return acc


def entry_keys(md5: Sequence[str | None], sha1: Sequence[str | None], sha256: Sequence[str | None],
               pdq: Sequence[str | None] | None = None) -> npt.NDArray[np.uint64]:
    """A 64-bit key per entry from its four hash columns (equal hashes, equal key); never 0."""
    n = len(md5)
    columns = (md5, sha1, sha256, pdq if pdq is not None else [None] * n)
    with np.errstate(over="ignore"):
        key = np.zeros(n, dtype=np.uint64)
        for salt, ((_, digits), values) in enumerate(zip(_HASH_COLUMNS, columns, strict=True), 1):
            absent = values.count(None) == n
            key = _mix(key ^ (np.uint64(salt) if absent else _fold(values, digits, salt)))
        key[key == 0] = np.uint64(1)
    return key


class KeySet:
    """A growing set of 64-bit keys (open addressing over a numpy array, probed a batch at a time).

    ~10 bytes per distinct key at most; 74M distinct NSRL entries take 1 GiB.
    """

    _MAX_LOAD = 0.7

    def __init__(self, expected: int = 0) -> None:
        size = 1 << max(16, int(expected / self._MAX_LOAD).bit_length())
        self._table = np.zeros(size, dtype=np.uint64)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """Insert ``keys`` (never 0); True where a key was not in the set before (the first of
        equal keys within the batch counts as new)."""
        new = np.zeros(len(keys), dtype=bool)
        if not len(keys):
            return new
        uniq, first = np.unique(keys, return_index=True)
        if (self._count + len(uniq)) > self._MAX_LOAD * len(self._table):
            self._grow(self._count + len(uniq))
        placed = self._insert(uniq)
        new[first[placed]] = True
        return new

    def _insert(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        table = self._table
        mask = np.uint64(len(table) - 1)
        placed = np.zeros(len(keys), dtype=bool)
        todo = np.arange(len(keys))
        slots = keys & mask
        while len(todo):
            cur = table[slots]
            pending = keys[todo]
            empty = cur == 0
            table[slots[empty]] = pending[empty]
            won = empty & (table[slots] == pending)
            placed[todo[won]] = True
            go_on = ~(won | (cur == pending))
            todo, slots = todo[go_on], (slots[go_on] + np.uint64(1)) & mask
        self._count += int(placed.sum())
        return placed

    def _grow(self, need: int) -> None:
        old = self._table[self._table != 0]
        size = len(self._table)
        while need > self._MAX_LOAD * size:
            size *= 2
        self._table = np.zeros(size, dtype=np.uint64)
        self._count = 0
        self._insert(old)

    def sorted(self) -> npt.NDArray[np.uint64]:
        return np.sort(self._table[self._table != 0])


def stored_keys(conn: Connection, import_id: int, batch: int = 50_000) -> npt.NDArray[np.uint64]:
    """Sorted distinct keys of one stored import, read in batches through the driver's cursor."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    parts: list[npt.NDArray[np.uint64]] = []
    # PostgreSQL: a server-side cursor, or the driver would fetch the whole version at once.
    cur = raw.cursor(name="safehold_stored_keys") if mark == "%s" else raw.cursor()
    try:
        cur.execute(f"SELECT md5, sha1, sha256, pdq FROM hash_entries WHERE import_id = {mark}",  # noqa: S608
                    (import_id,))
        while chunk := cur.fetchmany(batch):
            md5, sha1, sha256, pdq = (list(c) for c in zip(*chunk, strict=True))
            parts.append(np.unique(entry_keys(md5, sha1, sha256, pdq)))
    finally:
        cur.close()
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def _common(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> int:
    if not len(a) or not len(b):
        return 0
    pos = np.searchsorted(b, a)
    pos[pos == len(b)] = len(b) - 1
    return int(np.count_nonzero(b[pos] == a))


def count_diff(new: npt.NDArray[np.uint64], old: npt.NDArray[np.uint64]) -> tuple[int, int]:
    """(added, removed) between two sorted arrays of distinct keys."""
    both = _common(new, old)
    return len(new) - both, len(old) - both


def diff_imports(s: Session, new_id: int, old_id: int) -> tuple[int, int]:
    """(added, removed) between two versions, comparing each entry's hashes (as EXCEPT would)."""
    conn = s.connection()
    return count_diff(stored_keys(conn, new_id), stored_keys(conn, old_id))


# ---------------------------------------------------------------- generation and matching
def generation(s: Session) -> int:
    return int(s.scalar(select(StoreState.value).where(StoreState.key == GENERATION_KEY)) or 0)


def bump_generation(s: Session) -> int:
    """Mark every cached PDQ index stale (they compare this number on load)."""
    insert_ignore(s, StoreState.__table__, [{"key": GENERATION_KEY, "value": 0}], ["key"])  # type: ignore[arg-type]
    s.execute(update(StoreState).where(StoreState.key == GENERATION_KEY).values(value=StoreState.value + 1))
    return generation(s)


def case_contents(case_id: int | None) -> Any:
    """SHA-256s of the contents in one case (or all cases when None)."""
    q = select(FileInstance.sha256).where(FileInstance.sha256.is_not(None))
    if case_id is not None:
        q = q.join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id).where(EvidenceItem.case_id == case_id)
    return q.distinct()


_EMPTY = {f"empty{i}": h for i, h in enumerate(sorted(EMPTY_FILE_HASHES))}


@contextmanager
def _sqlite_cache(conn: Connection, kib: int) -> Iterator[None]:
    """A bigger page cache for one SQLite statement sequence (restored after); no-op elsewhere."""
    if conn.dialect.name != "sqlite":
        yield
        return
    old = conn.execute(text("PRAGMA cache_size")).scalar()
    conn.execute(text(f"PRAGMA cache_size = -{kib}"))
    try:
        yield
    finally:
        conn.execute(text(f"PRAGMA cache_size = {int(old or -2000)}"))


def exact_match(s: Session, case_id: int | None) -> int:
    """Insert exact matches (MD5, SHA-1, SHA-256) for a case's contents; returns rows added.

    The case's hashes are copied to a temporary table sorted by the hash being matched, so the
    probes walk each ``hash_entries`` index in order (each page read once, not once per probe:
    what matters when the index is gigabytes and the case has a million files), and the hits are
    sorted by content before going into ``matches`` for the same reason."""
    conn = s.connection()
    ensure_hash_indexes(conn)
    pg = conn.dialect.name == "postgresql"
    scope = "SELECT DISTINCT f.sha256 FROM files f"
    params: dict[str, Any] = dict(_EMPTY)
    if case_id is not None:
        scope += " JOIN evidence_items ev ON ev.id = f.evidence_id WHERE ev.case_id = :case_id AND"
        params["case_id"] = case_id
    else:
        scope += " WHERE"
    scope += " f.sha256 IS NOT NULL"
    empty = ", ".join(f":{k}" for k in _EMPTY)
    added = 0
    with _sqlite_cache(conn, SQLITE_LOAD_CACHE_KIB):
        for name in ("_sh_probe", "_sh_keys", "_sh_hits", "_sh_found"):
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
        # All names below are constants of this module; values travel as bound parameters.
        conn.execute(text(
            "CREATE TEMPORARY TABLE _sh_probe AS SELECT c.sha256 AS sha256, c.md5 AS md5, c.sha1 AS sha1"  # noqa: S608
            f" FROM contents c JOIN ({scope}) sc ON sc.sha256 = c.sha256 WHERE c.size > 0"), params)
        conn.execute(text("CREATE TEMPORARY TABLE _sh_hits (sha256 VARCHAR(64), entry_id BIGINT, method VARCHAR(10))"))
        # SQLite: CROSS JOIN keeps the sorted keys as the outer loop.
        join = "JOIN" if pg else "CROSS JOIN"
        for method in ("md5", "sha1", "sha256"):
            conn.execute(text(
                f"CREATE TEMPORARY TABLE _sh_keys AS SELECT sha256, {method} AS h FROM _sh_probe"  # noqa: S608
                f" WHERE {method} IS NOT NULL AND {method} NOT IN ({empty}) ORDER BY {method}"), params)
            if pg:
                conn.execute(text("ANALYZE _sh_keys"))
            # Only the index is read here (hash → row id); set and version are checked below.
            conn.execute(text(
                f"INSERT INTO _sh_hits SELECT k.sha256, e.id, '{method}' FROM _sh_keys k"  # noqa: S608
                f" {join} hash_entries e ON e.{method} = k.h"))
            conn.execute(text("DROP TABLE _sh_keys"))
        # Hits in row-id order, so the entries' rows are read in one forward sweep, not at random.
        conn.execute(text("CREATE TEMPORARY TABLE _sh_found AS SELECT sha256, entry_id, method FROM _sh_hits"
                          " ORDER BY entry_id"))
        if pg:
            conn.execute(text("ANALYZE _sh_found"))
        insert = text(
            "INSERT INTO matches (sha256, entry_id, set_id, method, distance, matched_at)"  # noqa: S608
            f" SELECT f.sha256, f.entry_id, e.set_id, f.method, 0, :now FROM _sh_found f {join} hash_entries e"
            " ON e.id = f.entry_id JOIN hash_sets hs ON hs.id = e.set_id AND hs.current_import_id = e.import_id"
            " WHERE 1 = 1 ORDER BY f.sha256, f.entry_id, f.method ON CONFLICT DO NOTHING"
        ).bindparams(bindparam("now", type_=Match.__table__.c.matched_at.type))
        result = conn.execute(insert, {"now": utcnow()})
        added = int(result.rowcount or 0)
        for name in ("_sh_probe", "_sh_hits", "_sh_found"):
            conn.execute(text(f"DROP TABLE {name}"))
    return added


def insert_pdq_matches(s: Session, rows: Iterable[dict[str, Any]]) -> int:
    batch = list(rows)
    insert_ignore(s, Match.__table__, batch, ["sha256", "entry_id", "method"])  # type: ignore[arg-type]
    return len(batch)


def analyze(s: Session) -> None:
    """Refresh planner statistics after a bulk load so the match joins use the hash indexes.

    SQLite's ANALYZE reads every index in full unless limited (minutes at 100M rows); a sample
    of a few hundred rows per index is what the planner needs."""
    if s.get_bind().dialect.name == "sqlite":
        s.execute(text("PRAGMA analysis_limit = 1000"))
    s.execute(text("ANALYZE hash_entries"))
