"""Exact matching in SQL, the hash-set generation counter, and PDQ match rows.

Exact matching is a join on the indexed digest columns, run inside the database; the empty
file's digests are excluded there too, whatever a list contains. Contents keep their hashes as
hex text (``contents``: one row per file's bytes, read by everything), list entries as bytes
(``hash_entries``: up to 100M rows); the join converts the case's side only, once per hash,
into a small temporary table sorted like the index it probes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.core.hashrecords import EMPTY_FILE_HASHES
from safehold.store.digests import DIGEST_BYTES, unhex_sql
from safehold.store.hashset_bulk import SQLITE_LOAD_CACHE_KIB, ensure_hash_indexes
from safehold.store.hashset_models import Match, StoreState
from safehold.store.models import EvidenceItem, FileInstance
from safehold.store.upsert import insert_ignore

__all__ = [
    "GENERATION_KEY",
    "analyze",
    "bump_generation",
    "case_contents",
    "exact_match",
    "generation",
    "insert_pdq_matches",
]

GENERATION_KEY = "hashsets_generation"


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
_TEMP_TABLES = ("_sh_probe", "_sh_keys", "_sh_hits", "_sh_found")
PG_MATCH_WORK_MEM = "256MB"


@contextmanager
def _match_settings(conn: Connection) -> Iterator[None]:
    """Settings for one matching run, restored after.

    SQLite: a bigger page cache. PostgreSQL (``SET LOCAL``, gone at commit): sorts of a million
    keys in memory rather than in temporary files, and no JIT (simple joins; compiling them
    costs more than it saves)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL work_mem = '{PG_MATCH_WORK_MEM}'"))
        conn.execute(text("SET LOCAL jit = off"))
        yield
        return
    old = conn.execute(text("PRAGMA cache_size")).scalar()
    conn.execute(text(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}"))
    try:
        yield
    finally:
        conn.execute(text(f"PRAGMA cache_size = {int(old or -2000)}"))


def _case_scope(case_id: int | None, params: dict[str, Any]) -> str:
    scope = "SELECT DISTINCT f.sha256 FROM files f"
    if case_id is not None:
        scope += " JOIN evidence_items ev ON ev.id = f.evidence_id WHERE ev.case_id = :case_id AND"
        params["case_id"] = case_id
    else:
        scope += " WHERE"
    return scope + " f.sha256 IS NOT NULL"


def _sorted_keys(conn: Connection, method: str, params: dict[str, Any]) -> None:
    """``_sh_keys``: the probe's ``method`` hashes as digest bytes (converted once each; text
    that is not hex of the right size, and the empty file's digests, left out), sorted."""
    digest = unhex_sql(conn.dialect.name, method, DIGEST_BYTES[method])
    empty = ", ".join(f":{k}" for k in _EMPTY)
    conn.execute(text(
        f"CREATE TEMPORARY TABLE _sh_keys AS SELECT sha256, h FROM (SELECT sha256, {digest} AS h"  # noqa: S608
        f" FROM _sh_probe WHERE {method} IS NOT NULL AND lower({method}) NOT IN ({empty})) p"
        " WHERE h IS NOT NULL ORDER BY h"), params)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE _sh_keys"))


def _insert_matches(conn: Connection, hits: str) -> int:
    """Insert ``hits`` (sha256, entry_id, set_id, method) into ``matches``, sorted by content
    (the order of its unique index); returns how many were new."""
    result = conn.execute(text(
        "INSERT INTO matches (sha256, entry_id, set_id, method, distance, matched_at)"  # noqa: S608
        f" SELECT sha256, entry_id, set_id, method, 0, :now FROM ({hits}) x"
        " WHERE 1 = 1 ORDER BY sha256, entry_id, method ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("now", type_=Match.__table__.c.matched_at.type)), {"now": utcnow()})
    return int(result.rowcount or 0)


def _hits_sqlite(conn: Connection) -> int:
    """SQLite: an index holds the row id, so the probes read only the indexes (CROSS JOIN keeps
    the sorted keys as the outer loop); the hits' rows are then read in row-id order, one
    forward sweep, for their set and version."""
    conn.execute(text("CREATE TEMPORARY TABLE _sh_hits (sha256 VARCHAR(64), entry_id BIGINT, method VARCHAR(10))"))
    for method in ("md5", "sha1", "sha256"):
        _sorted_keys(conn, method, dict(_EMPTY))
        conn.execute(text(
            f"INSERT INTO _sh_hits SELECT k.sha256, e.id, '{method}' FROM _sh_keys k"  # noqa: S608
            f" CROSS JOIN hash_entries e ON e.{method} = k.h"))
        conn.execute(text("DROP TABLE _sh_keys"))
    conn.execute(text("CREATE TEMPORARY TABLE _sh_found AS SELECT sha256, entry_id, method FROM _sh_hits"
                      " ORDER BY entry_id"))
    return _insert_matches(conn, "SELECT f.sha256, f.entry_id, e.set_id, f.method FROM _sh_found f"
                           " CROSS JOIN hash_entries e ON e.id = f.entry_id JOIN hash_sets hs ON hs.id = e.set_id"
                           " AND hs.current_import_id = e.import_id")


def _hits_pg(conn: Connection) -> int:
    """PostgreSQL: an index holds a row's place, not its id, so every hit reads its row anyway;
    set and version are taken then, and the entries are not joined a second time.

    The planner, left alone, hashes the keys and scans the whole table for each hash (at 10M
    entries with 1M keys it prices a seq scan below a million index probes); a scan of 100M rows
    per hash is what made look-ups slow, so hash and merge joins are off for these statements:
    the sorted keys drive index probes, as SQLite's CROSS JOIN makes them."""
    conn.execute(text("CREATE TEMPORARY TABLE _sh_hits (sha256 VARCHAR(64), entry_id BIGINT, set_id INTEGER,"
                      " import_id INTEGER, method VARCHAR(10))"))
    conn.execute(text("SET LOCAL enable_hashjoin = off"))
    conn.execute(text("SET LOCAL enable_mergejoin = off"))
    for method in ("md5", "sha1", "sha256"):
        _sorted_keys(conn, method, dict(_EMPTY))
        conn.execute(text(
            f"INSERT INTO _sh_hits SELECT k.sha256, e.id, e.set_id, e.import_id, '{method}' FROM _sh_keys k"  # noqa: S608
            f" JOIN hash_entries e ON e.{method} = k.h"))
        conn.execute(text("DROP TABLE _sh_keys"))
    conn.execute(text("SET LOCAL enable_hashjoin TO DEFAULT"))
    conn.execute(text("SET LOCAL enable_mergejoin TO DEFAULT"))
    return _insert_matches(conn, "SELECT h.sha256, h.entry_id, h.set_id, h.method FROM _sh_hits h"
                           " JOIN hash_sets hs ON hs.id = h.set_id AND hs.current_import_id = h.import_id")


def exact_match(s: Session, case_id: int | None) -> int:
    """Insert exact matches (MD5, SHA-1, SHA-256) for a case's contents; returns rows added.

    The case's hashes are copied to a temporary table as digest bytes, sorted by the hash being
    matched, so the probes walk each ``hash_entries`` index in order (each page read once, not
    once per probe: what matters when the index is gigabytes and the case has a million files);
    only entries of a set's current version match, and the hits go into ``matches`` sorted by
    content for the same reason."""
    conn = s.connection()
    ensure_hash_indexes(conn)
    params: dict[str, Any] = {}
    scope = _case_scope(case_id, params)
    with _match_settings(conn):
        for name in _TEMP_TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
        # All names here are constants of this module; values travel as bound parameters.
        conn.execute(text(
            "CREATE TEMPORARY TABLE _sh_probe AS SELECT c.sha256 AS sha256, c.md5 AS md5, c.sha1 AS sha1"  # noqa: S608
            f" FROM contents c JOIN ({scope}) sc ON sc.sha256 = c.sha256 WHERE c.size > 0"), params)
        added = (_hits_pg if conn.dialect.name == "postgresql" else _hits_sqlite)(conn)
        for name in _TEMP_TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
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
