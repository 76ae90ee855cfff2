"""Hash-list storage at NSRL scale, in small: the bulk path (duplicates, bad rows, empty-file
hashes), version diffs and purges, the big-load index drop/rebuild, interrupted imports, and the
entry keys the diffs use. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, text

import safehold.services.hashsets as hashsets
from safehold.formats.hashsets.base import EMPTY_FILE_HASHES, EMPTY_FILE_REASON
from safehold.formats.hashsets.nsrl import HashColumns, NsrlRds3Reader
from safehold.services.authz import Authz
from safehold.services.context import ServiceContext
from safehold.services.hashsets import get_set, import_hashset, remove_set
from safehold.store.hashset_models import HashEntry, HashSet, HashSetImport
from safehold.store.hashset_repo import (
    HASH_INDEXES,
    KeySet,
    count_diff,
    diff_imports,
    drop_hash_indexes,
    entry_keys,
    exact_match,
)
from safehold.store.models import Case, Content, EvidenceItem, FileInstance
from tests.formats.hashsets.hashset_fixtures import (
    EMPTY_MD5,
    EMPTY_SHA1,
    EMPTY_SHA256,
    md5,
    sha1,
    sha256,
    write_nsrl_v3,
)

OPERATOR = Authz.local("test:officer")  # the local operator: use cases need an actor's rights

ALL_INDEXES = {*HASH_INDEXES, "ix_hash_entries_import"}


def _rds(path: Path, ids: range, *, dups: int = 0, extra: tuple[tuple[Any, ...], ...] = ()) -> Path:
    """An RDS v3 file with files ``ids``; the first ``dups`` of them listed again in other packages."""
    rows = [(sha256(i).upper(), sha1(i).upper(), md5(i).upper(), "0", f"f{i}.dll", 10 + i, i % 3) for i in ids]
    rows += [(sha256(i).upper(), sha1(i).upper(), md5(i).upper(), "0", f"again{i}.dll", 10 + i, 2)
             for i in list(ids)[:dups]]
    return write_nsrl_v3(path, 0, extra_rows=tuple(rows) + extra)


def _indexes(ctx: ServiceContext) -> set[str]:
    with ctx.db.engine.connect() as c:
        if ctx.db.dialect == "postgresql":
            q = "SELECT indexname FROM pg_indexes WHERE tablename='hash_entries' AND schemaname=current_schema()"
        else:
            q = "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='hash_entries'"
        return {r[0] for r in c.execute(text(q))}


def _entries(ctx: ServiceContext, import_id: int | None = None) -> list[tuple[Any, ...]]:
    with ctx.db.session() as s:
        q = select(HashEntry.import_id, HashEntry.md5, HashEntry.sha1, HashEntry.sha256, HashEntry.file_name)
        if import_id is not None:
            q = q.where(HashEntry.import_id == import_id)
        return [tuple(r) for r in s.execute(q.order_by(HashEntry.id))]


def _case_with(ctx: ServiceContext, ids: list[int]) -> int:
    """A case whose evidence holds files with the hashes of benign fixtures ``ids``."""
    with ctx.db.session() as s:
        case = Case(name="c")
        s.add(case)
        s.flush()
        ev = EvidenceItem(case_id=case.id, label="x", source_kind="folder", source_path="/x",
                          acquisition_hash="0" * 64, acquisition_method="manifest-sha256", size_bytes=0,
                          top_file_count=0)
        s.add(ev)
        s.flush()
        for i in ids:
            s.add(Content(sha256=sha256(i), md5=md5(i), sha1=sha1(i), size=10))
            s.flush()
            s.add(FileInstance(evidence_id=ev.id, locator_hash=sha256(i), locator=f"l{i}", display=f"d{i}",
                               depth=0, name=f"n{i}", path=f"n{i}", size=10, sha256=sha256(i), batch_seq=0))
        return case.id


@pytest.fixture(params=["small", "bulk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``bulk``: every import drops and rebuilds the hash indexes, as a 100M-row one does."""
    if request.param == "bulk":
        monkeypatch.setattr(hashsets, "BULK_MIN_ROWS", 0)
        monkeypatch.setattr(hashsets, "BULK_TABLE_SHARE", 0.0)
    return str(request.param)


def test_nsrl_import_dedupes_reports_bad_rows_and_never_stores_empty_hashes(
        ctx: ServiceContext, tmp_path: Path, mode: str) -> None:
    empty = (EMPTY_SHA256.upper(), EMPTY_SHA1.upper(), EMPTY_MD5.upper(), "0", "empty.txt", 0, 1)
    mixed = (sha256(50).upper(), EMPTY_SHA1.upper(), md5(50).upper(), "0", "half.txt", 0, 1)
    broken = ("XYZ", sha1(51).upper(), md5(51).upper(), "0", "f", 1, 0)
    path = _rds(tmp_path / "rds.db", range(40), dups=15, extra=(empty, mixed, broken))
    rep = import_hashset(ctx, OPERATOR, path, "NSRL", "known-good", fmt="nsrl-rds3")
    assert (rep.entries, rep.duplicates, rep.bad_rows) == (40, 15, 3)
    assert [b["position"] for b in rep.bad_samples] == ["row 56", "row 57", "row 58"]
    assert rep.bad_samples[0]["reason"] == EMPTY_FILE_REASON and "SHA-256" in rep.bad_samples[2]["reason"]
    rows = _entries(ctx)
    assert len(rows) == 40 and not {h for r in rows for h in r[1:4]} & EMPTY_FILE_HASHES
    assert [r[4] for r in rows[:2]] == ["f0.dll", "f1.dll"]  # the first row of a repeated file is kept
    assert _indexes(ctx) >= ALL_INDEXES


def test_replacing_records_the_diff_purges_the_old_version_and_keeps_indexes(
        ctx: ServiceContext, tmp_path: Path, mode: str) -> None:
    other = _rds(tmp_path / "other.db", range(1000, 1010))
    import_hashset(ctx, OPERATOR, other, "Other", "known-good", fmt="nsrl-rds3")  # shares the table, must survive
    v1 = import_hashset(ctx, OPERATOR, _rds(tmp_path / "v1.db", range(0, 30)), "NSRL", "known-good")
    v2 = import_hashset(ctx, OPERATOR, _rds(tmp_path / "v2.db", range(10, 45), dups=5), "NSRL", "known-good")
    assert v2.replaced and (v2.added, v2.removed) == (15, 10) and v2.entries == 35
    history = get_set(ctx, OPERATOR, "NSRL").history
    assert [h["status"] for h in history] == ["replaced", "current"]
    assert (history[1]["added"], history[1]["removed"]) == (15, 10)
    with ctx.db.session() as s:
        counts = dict(s.execute(select(HashEntry.import_id, func.count()).group_by(HashEntry.import_id)).all())
        current = s.scalar(select(HashSet.current_import_id).where(HashSet.name == "NSRL"))
        assert diff_imports(s, current, current) == (0, 0)
    assert counts == {history[1]["import_id"]: 35, get_set(ctx, OPERATOR, "Other").history[0]["import_id"]: 10}
    assert v1.entries == 30 and _indexes(ctx) >= ALL_INDEXES
    case_id = _case_with(ctx, [5, 20, 1003, 99])
    with ctx.db.session() as s:
        assert exact_match(s, case_id) == 6  # 20 (NSRL v2) and 1003 (Other), by MD5, SHA-1 and SHA-256
    remove_set(ctx, OPERATOR, "NSRL")
    assert {r[0] for r in _entries(ctx)} == {get_set(ctx, OPERATOR, "Other").history[0]["import_id"]}


def test_interrupted_import_leaves_the_previous_version_current_and_queryable(
        ctx: ServiceContext, tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import_hashset(ctx, OPERATOR, _rds(tmp_path / "v1.db", range(0, 20)), "NSRL", "known-good", fmt="nsrl-rds3")
    before = get_set(ctx, OPERATOR, "NSRL")
    real = NsrlRds3Reader.read_columns

    def dies(self: NsrlRds3Reader, path: Path) -> Iterator[HashColumns | Any]:
        for item in real(self, path):
            yield item
            raise KeyboardInterrupt  # the investigator pressed Ctrl-C mid-load

    monkeypatch.setattr(NsrlRds3Reader, "read_columns", dies)
    with pytest.raises(KeyboardInterrupt):
        import_hashset(ctx, OPERATOR, _rds(tmp_path / "v2.db", range(100, 130)), "NSRL", "known-good", fmt="nsrl-rds3")
    after = get_set(ctx, OPERATOR, "NSRL")
    assert after.entries == before.entries == 20
    assert [h["status"] for h in after.history] == ["current", "failed"]
    assert {r[0] for r in _entries(ctx)} == {before.history[0]["import_id"]}  # the partial rows are gone
    assert _indexes(ctx) >= ALL_INDEXES
    case_id = _case_with(ctx, [3, 105])
    with ctx.db.session() as s:
        assert exact_match(s, case_id) == 3


def test_matching_restores_indexes_a_killed_import_left_dropped(ctx: ServiceContext, tmp_path: Path) -> None:
    import_hashset(ctx, OPERATOR, _rds(tmp_path / "v1.db", range(0, 20)), "NSRL", "known-good", fmt="nsrl-rds3")
    with ctx.db.engine.begin() as conn:
        drop_hash_indexes(conn)  # what a process killed mid-load leaves
    # and a half-loaded import that was never marked finished
    with ctx.db.session() as s:
        hs = s.scalar(select(HashSet).where(HashSet.name == "NSRL"))
        assert hs is not None
        stale = HashSetImport(set_id=hs.id, actor="t", file_name="x", file_sha256="0" * 64, file_size=0, format="x")
        s.add(stale)
        s.flush()
        s.add(HashEntry(set_id=hs.id, import_id=stale.id, md5=md5(7)))
    assert not _indexes(ctx) & set(HASH_INDEXES)
    case_id = _case_with(ctx, [7])
    with ctx.db.session() as s:
        assert exact_match(s, case_id) == 3  # the stale row is not current: not matched
    assert _indexes(ctx) >= ALL_INDEXES
    rep = import_hashset(ctx, OPERATOR, _rds(tmp_path / "v2.db", range(0, 25)), "NSRL", "known-good", fmt="nsrl-rds3")
    assert (rep.added, rep.removed) == (5, 0)
    assert len(_entries(ctx)) == 25  # the stale import's row was purged
    assert [h["status"] for h in get_set(ctx, OPERATOR, "NSRL").history] == ["replaced", "failed", "current"]


def test_entry_keys_fold_every_byte_and_treat_missing_alike() -> None:
    a, b = "0" * 31 + "1", "0" * 31 + "2"
    assert entry_keys([a], [None], [None])[0] != entry_keys([b], [None], [None])[0]
    assert entry_keys([a], [None], [None])[0] != entry_keys([None], [None], [a + a])[0]
    mixed = entry_keys([md5(1), None], [sha1(1), None], [None, sha256(2)])
    alone = entry_keys([md5(1)], [sha1(1)], [None])
    assert mixed[0] == alone[0] and (mixed != 0).all()
    keys = entry_keys([md5(i) for i in range(5000)], [sha1(i) for i in range(5000)], [sha256(i) for i in range(5000)])
    assert len(np.unique(keys)) == 5000


def test_keyset_marks_first_occurrences_across_batches_and_growth() -> None:
    rng = np.random.default_rng(3)
    keys = rng.integers(1, 2**63, 300_000, dtype=np.int64).astype(np.uint64)
    stream = np.concatenate([keys, keys[:1000], keys[5:10]])
    ks = KeySet()  # starts small: grows several times
    firsts = np.concatenate([ks.add(stream[i:i + 7000]) for i in range(0, len(stream), 7000)])
    assert firsts[:300_000].all() and not firsts[300_000:].any() and len(ks) == 300_000
    assert (ks.sorted() == np.sort(keys)).all()
    assert count_diff(np.sort(keys[:10]), np.sort(keys[5:20])) == (5, 10)
