from __future__ import annotations

from sqlalchemy import inspect, select, text

from safehold.core.errors import ErrorCode, ItemError
from safehold.core.locator import Locator
from safehold.ingest.records import BatchTask, ContentFacts, FileRecord
from safehold.store.db import Database
from safehold.store.ingest_repo import done_batches, finish_batch, write_records
from safehold.store.models import Case, Content, EvidenceItem, FileInstance


def _evidence(db: Database) -> int:
    with db.session() as s:
        case = Case(name="c1")
        s.add(case)
        s.flush()
        e = EvidenceItem(case_id=case.id, label="x", source_kind="folder", source_path="/x",
                         acquisition_hash="0" * 64, acquisition_method="manifest-sha256",
                         size_bytes=0, top_file_count=0)
        s.add(e)
        s.flush()
        return e.id


def test_migrations_create_schema_and_are_idempotent(db: Database) -> None:
    db.migrate()  # second run is a no-op
    names = set(inspect(db.engine).get_table_names())
    assert {"cases", "evidence_items", "custody_events", "contents", "files", "ingest_batches",
            "alembic_version"} <= names


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with d.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
    d.dispose()


def _rec(eid: int, path: str, sha: str | None, err: ItemError | None = None) -> FileRecord:
    loc = Locator.root(eid).child("fs", path)
    content = ContentFacts(sha256=sha, md5="m" * 32, sha1="s" * 40, size=3) if sha else None
    return FileRecord(loc, path.rsplit("/", 1)[-1], path, 3, content=content, error=err)


def test_write_records_is_idempotent_and_dedupes_contents(db: Database) -> None:
    eid = _evidence(db)
    recs = [_rec(eid, "/a", "a" * 64), _rec(eid, "/b", "a" * 64), _rec(eid, "/c", None,
            ItemError(ErrorCode.UNREADABLE, "boom"))]
    for _ in range(3):  # a re-run after a crash writes the same rows again
        with db.session() as s:
            write_records(s, eid, 0, recs)
    with db.session() as s:
        files = s.scalars(select(FileInstance).order_by(FileInstance.path)).all()
        assert [f.path for f in files] == ["/a", "/b", "/c"]
        assert files[2].error_code == "unreadable" and files[2].sha256 is None
        assert s.scalar(select(Content.sha256)) == "a" * 64
        assert len(s.scalars(select(Content)).all()) == 1


def test_names_with_undecodable_bytes_and_nul_are_stored_escaped(db: Database) -> None:
    eid = _evidence(db)
    with db.session() as s:
        write_records(s, eid, 0, [_rec(eid, "/bad\udcffname", None), _rec(eid, "/nul\x00x", None)])
    with db.session() as s:
        paths = sorted(s.scalars(select(FileInstance.path)))
        assert paths == ["/bad\\xffname", "/nul\\x00x"]


def test_finished_batches_are_remembered(db: Database) -> None:
    eid = _evidence(db)
    task = BatchTask(eid, 4, "folder", "/x", ())
    with db.session() as s:
        finish_batch(s, task)
        finish_batch(s, task)
    with db.session() as s:
        assert done_batches(s, eid) == {4: ("", 0)}


def test_schema_heads_read_from_files_agree_with_alembic(db: Database) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from safehold.store.migrate import alembic_config, is_current, schema_heads

    assert schema_heads() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert is_current(db.engine)
    with db.engine.connect() as c:
        assert set(MigrationContext.configure(c).get_current_heads()) == schema_heads()


def test_a_store_behind_the_newest_schema_is_upgraded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from safehold.store.migrate import is_current, upgrade

    d = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(d.engine, "0001")
    assert not is_current(d.engine)
    d.migrate()
    assert is_current(d.engine)
    assert "hash_entries" in set(inspect(d.engine).get_table_names())
    d.dispose()
