"""Big-load upkeep of ``hash_entries``: its indexes, per-connection load settings, and purges.

Big loads (see ``services.hashsets``) drop the three digest indexes, append, and build them again
afterwards: keeping 100M random keys sorted row by row is what makes naive imports take hours.
``ensure_hash_indexes`` puts back any that an interrupted import left missing; matching calls it
first, so a store is always usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.orm import Session

from safehold.store.hashset_models import HashEntry, HashExtra

__all__ = [
    "HASH_INDEXES",
    "IMPORT_INDEX",
    "PG_INDEX_MEMORY",
    "SQLITE_LOAD_CACHE_KIB",
    "build_hash_indexes",
    "bulk_loading",
    "drop_hash_indexes",
    "ensure_hash_indexes",
    "purge_entries",
    "purge_import",
    "table_rows",
]

# Names and columns exactly as the migrations create them.
HASH_INDEXES = {"ix_hash_entries_md5": "md5", "ix_hash_entries_sha1": "sha1", "ix_hash_entries_sha256": "sha256"}
IMPORT_INDEX = ("ix_hash_entries_import", "import_id")
PURGE_CHUNK = 500_000
SQLITE_LOAD_CACHE_KIB = 256 * 1024
PG_INDEX_MEMORY = "512MB"


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


def build_hash_indexes(engine: Engine) -> list[str]:
    """``ensure_hash_indexes`` after a big load: one transaction per index, and on SQLite the WAL
    emptied after each. A 100M-row index is gigabytes of new pages that go through the WAL, and
    the WAL file keeps its largest size; built together, the three would need their sum free."""
    built: list[str] = []
    for _ in range(len(HASH_INDEXES) + 1):
        with engine.begin() as conn:
            wanted = {**HASH_INDEXES, IMPORT_INDEX[0]: IMPORT_INDEX[1]}
            missing = [name for name in wanted if name not in _index_names(conn)]
            if not missing:
                break
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_MEMORY}'"))
            else:
                conn.execute(text("PRAGMA threads = 4"))
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {missing[0]} ON hash_entries ({wanted[missing[0]]})"))
            built.append(missing[0])
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return built


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
    s.execute(delete(HashExtra).where(HashExtra.import_id == import_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_entries(engine: Engine, import_id: int, chunk: int = PURGE_CHUNK) -> int:
    """``purge_import`` for big imports: by id ranges, one short transaction each, so neither
    SQLite's WAL nor PostgreSQL's transaction grows with the version's size. Only for imports
    that are not current (nothing reads them), so stopping half-way is harmless."""
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(HashEntry.id), func.max(HashEntry.id))
                              .where(HashEntry.import_id == import_id)).one()
    removed = 0
    if lo is not None:
        for start in range(int(lo), int(hi) + 1, chunk):
            with engine.begin() as conn:
                result = conn.execute(delete(HashEntry).where(
                    HashEntry.import_id == import_id, HashEntry.id >= start, HashEntry.id < start + chunk))
                removed += int(result.rowcount or 0)
    with engine.begin() as conn:  # the import's extras last: no entry refers to them any more
        conn.execute(delete(HashExtra).where(HashExtra.import_id == import_id))
    return removed

