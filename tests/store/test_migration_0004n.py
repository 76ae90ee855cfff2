"""Migration 0004n on a store that already holds hash entries (the text layout of 0002, with
0004v's ``vpdq``, as 0004w leaves it): digests become bytes, extras move to ``hash_extras``,
listed videos' vPDQ, ids, matches (and their detail) and the id sequence carry on, and the
downgrade gives the text layout back. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from safehold.store.db import Database
from safehold.store.hashset_models import HashEntry, HashExtra, Match
from safehold.store.hashset_repo import exact_match
from safehold.store.migrate import alembic_config, upgrade
from tests.formats.hashsets.hashset_fixtures import md5, sha1, sha256

PRODUCT = {"package_id": "7", "product": "Benign Product 7", "os": "TestOS"}
OTHER = {"path": "photos/a.jpg"}
VPDQ = bytes(range(41)) * 2  # two packed frames of a listed video (no digests of its own)


@pytest.fixture
def old_store(db_url: str) -> Iterator[Database]:
    """A store at 0004w with a case, a set, entries in the text layout (one a listed video) and
    two matches (one a video match with its detail)."""
    d = Database(db_url)
    upgrade(d.engine, "0004w")
    pg = d.dialect == "postgresql"
    as_json = "CAST(:extra AS JSON)" if pg else ":extra"
    detail = "CAST(:detail AS JSON)" if pg else ":detail"
    entries: list[dict[str, Any]] = [
        # two entries of one product (one JSON text), one with its own extra, JSON null, SQL NULL,
        # an upper-case digest an older writer might have left, and a PDQ-only entry
        {"id": 1, "import_id": 1, "md5": md5(1), "sha1": sha1(1), "sha256": sha256(1), "pdq": None,
         "extra": json.dumps(PRODUCT), "vpdq": None},
        {"id": 2, "import_id": 1, "md5": md5(2), "sha1": sha1(2), "sha256": None, "pdq": None,
         "extra": json.dumps(PRODUCT), "vpdq": None},
        {"id": 5, "import_id": 1, "md5": md5(5).upper(), "sha1": None, "sha256": None, "pdq": None,
         "extra": json.dumps(OTHER), "vpdq": None},
        {"id": 6, "import_id": 1, "md5": None, "sha1": None, "sha256": None, "pdq": sha256(66), "extra": "null",
         "vpdq": None},
        {"id": 7, "import_id": 1, "md5": None, "sha1": None, "sha256": None, "pdq": None, "extra": None,
         "vpdq": VPDQ},
        {"id": 9, "import_id": 2, "md5": md5(9), "sha1": None, "sha256": None, "pdq": None, "extra": None,
         "vpdq": None},
        {"id": 10, "import_id": 2, "md5": md5(10), "sha1": None, "sha256": None, "pdq": None,
         "extra": json.dumps(PRODUCT), "vpdq": None},
    ]
    with d.engine.begin() as c:
        c.execute(text("INSERT INTO cases (id, name, status, created_at) VALUES (1, 'c', 'open', CURRENT_TIMESTAMP)"))
        c.execute(text(
            "INSERT INTO evidence_items (id, case_id, label, source_kind, source_path, acquisition_hash,"
            " acquisition_method, size_bytes, top_file_count, added_at, ingest_state)"
            " VALUES (1, 1, 'x', 'folder', '/x', :h, 'manifest-sha256', 0, 0, CURRENT_TIMESTAMP, 'done')"),
            {"h": "0" * 64})
        for i in (1, 2, 3):
            c.execute(text("INSERT INTO contents (sha256, md5, sha1, size) VALUES (:s, :m, :h1, 10)"),
                      {"s": sha256(i), "m": md5(i), "h1": sha1(i)})
            c.execute(text(
                "INSERT INTO files (evidence_id, locator_hash, locator, display, depth, name, path, size, sha256,"
                " deleted, batch_seq) VALUES (1, :s, :l, :l, 0, 'n', 'n', 10, :s, false, 0)"),
                {"s": sha256(i), "l": f"l{i}"})
        c.execute(text(
            "INSERT INTO hash_sets (id, name, kind, format, pdq_threshold, current_import_id, entry_count, created_at)"
            " VALUES (1, 'old', 'known-good', 'nsrl-rds3', 31, 1, 4, CURRENT_TIMESTAMP)"))
        c.execute(text(
            "INSERT INTO hash_entries (id, set_id, import_id, md5, sha1, sha256, pdq, category_scheme, file_name,"
            f" size, extra, vpdq) VALUES (:id, 1, :import_id, :md5, :sha1, :sha256, :pdq, 'nsrl', 'f.dll', 10,"
            f" {as_json}, :vpdq)"), entries)
        c.execute(text("INSERT INTO matches (sha256, entry_id, set_id, method, distance, matched_at)"
                       " VALUES (:s, 1, 1, 'md5', 0, CURRENT_TIMESTAMP)"), {"s": sha256(1)})
        c.execute(text("INSERT INTO matches (sha256, entry_id, set_id, method, distance, matched_at, detail)"
                       f" VALUES (:s, 7, 1, 'vpdq', 3, CURRENT_TIMESTAMP, {detail})"),
                  {"s": sha256(3), "detail": json.dumps({"query_share": 100.0})})
        if pg:  # ids so far came from the test, not the sequence: move it on as real inserts would have
            c.execute(text("SELECT setval(pg_get_serial_sequence('hash_entries', 'id'), 10)"))
    yield d
    d.dispose()


def test_upgrade_converts_rows_and_downgrade_restores_them(old_store: Database) -> None:
    d = old_store
    d.migrate()
    with d.session() as s:
        rows = {e.id: (e.md5, e.sha1, e.sha256, e.pdq, e.extra, e.file_name)
                for e in s.scalars(select(HashEntry).order_by(HashEntry.id))}
        assert rows == {
            1: (md5(1), sha1(1), sha256(1), None, PRODUCT, "f.dll"),
            2: (md5(2), sha1(2), None, None, PRODUCT, "f.dll"),
            5: (md5(5), None, None, None, OTHER, "f.dll"),  # lower-case now
            6: (None, None, None, sha256(66), None, "f.dll"),
            7: (None, None, None, None, None, "f.dll"),
            9: (md5(9), None, None, None, None, "f.dll"),
            10: (md5(10), None, None, None, PRODUCT, "f.dll"),
        }
        extras = s.execute(select(HashExtra.import_id, HashExtra.data).order_by(HashExtra.id)).all()
        assert sorted(map(tuple, extras), key=repr) == sorted([(1, PRODUCT), (1, OTHER), (2, PRODUCT)], key=repr)
        assert s.scalar(select(HashEntry.vpdq).where(HashEntry.id == 7)) == VPDQ
        assert {m.entry_id: (m.method, m.detail) for m in s.scalars(select(Match))} == {
            1: ("md5", None), 7: ("vpdq", {"query_share": 100.0})}
        s.add(HashEntry(set_id=1, import_id=2, md5=md5(11)))
        s.flush()
        assert s.scalar(select(func.max(HashEntry.id))) == 11  # the id sequence carried on
    names = {ix["name"] for ix in inspect(d.engine).get_indexes("hash_entries")}
    assert {"ix_hash_entries_md5", "ix_hash_entries_sha1", "ix_hash_entries_sha256", "ix_hash_entries_import"} <= names
    with d.session() as s:
        s.execute(text("DELETE FROM matches WHERE method = 'md5'"))
        assert exact_match(s, 1) == 5  # contents 1 (MD5, SHA-1, SHA-256) and 2 (MD5, SHA-1) of import 1

    command.downgrade(alembic_config(d.engine), "0004w")
    with d.engine.connect() as c:
        back = c.execute(text("SELECT id, md5, sha1, pdq, extra, vpdq FROM hash_entries ORDER BY id")).all()
    decoded = [(i, m, h, p, json.loads(x) if isinstance(x, str) else x, None if v is None else bytes(v))
               for i, m, h, p, x, v in back]
    assert decoded[:5] == [(1, md5(1), sha1(1), None, PRODUCT, None), (2, md5(2), sha1(2), None, PRODUCT, None),
                           (5, md5(5), None, None, OTHER, None), (6, None, None, sha256(66), None, None),
                           (7, None, None, None, None, VPDQ)]
    assert "hash_extras" not in inspect(d.engine).get_table_names()
    d.migrate()  # and up again
    with d.session() as s:
        assert s.scalar(select(func.count()).select_from(HashEntry)) == 8
        assert s.scalar(select(HashEntry.vpdq).where(HashEntry.id == 7)) == VPDQ
