"""The audit chain: intact logs verify; an edited, inserted or deleted record, a cut-off tail or a
deleted head is detected, by the service and by ``safehold audit verify``. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from safehold.cli.app import app as cli
from safehold.core.errors import ForbiddenError
from safehold.services.audit import (
    GENESIS,
    Anchor,
    anchors_path,
    audited,
    event_hash,
    export_audit,
    record_event,
    verify_audit,
)
from safehold.services.authz import Authz, Role
from safehold.services.context import ServiceContext
from safehold.store.review_models import AuditEvent, AuditHead

LOCAL = Authz.local("test:auditor")


def _log(ctx: ServiceContext, n: int = 6) -> None:
    for i in range(n):
        record_event(ctx, f"user:u{i % 2}", "view-item", 1, f"{i:064x}", n=i, note="ünïcode")


def _problems(ctx: ServiceContext) -> list[str]:
    return verify_audit(ctx, LOCAL).problems


def test_intact_log_verifies(ctx: ServiceContext) -> None:
    assert verify_audit(ctx, LOCAL).ok  # empty
    _log(ctx)
    v = verify_audit(ctx, LOCAL)
    assert v.ok and v.records == 6 and v.head_seq == 6
    with ctx.db.session() as s:
        rows = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))


def test_edited_record_is_detected(ctx: ServiceContext) -> None:
    _log(ctx)
    with ctx.db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="user:someone-else"))
    assert any("record 3" in p and "edited" in p for p in _problems(ctx))


def test_edit_with_recomputed_hash_breaks_the_next_link(ctx: ServiceContext) -> None:
    _log(ctx)
    with ctx.db.session() as s:
        e = s.get(AuditEvent, 3)
        assert e is not None
        e.details = json.dumps({"n": 99})
        e.hash = event_hash(e)
    assert any("record 4" in p and "link" in p for p in _problems(ctx))


def _rewrite_from(ctx: ServiceContext, seq: int) -> None:
    """The attack a bare chain misses: edit a record and recompute every hash after it."""
    with ctx.db.session() as s:
        rows = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        prev = rows[seq - 2].hash if seq > 1 else GENESIS
        for e in rows[seq - 1:]:
            if e.seq == seq:
                e.actor = "user:someone-else"
            e.prev_hash = prev
            e.hash = event_hash(e)
            prev = e.hash
        s.execute(update(AuditHead).values(hash=prev))


def test_rewritten_chain_is_caught_by_its_anchors(ctx: ServiceContext) -> None:
    _log(ctx)
    first = verify_audit(ctx, LOCAL)
    assert first.ok and first.head == f"6:{first.head_hash}" and first.anchors_checked == 0
    stored = anchors_path(ctx).read_text().splitlines()
    assert len(stored) == 1 and json.loads(stored[0])["seq"] == 6
    assert verify_audit(ctx, LOCAL).anchors_checked == 1  # the same head is not stored twice
    assert len(anchors_path(ctx).read_text().splitlines()) == 1
    _log(ctx, 2)
    _rewrite_from(ctx, 3)
    problems = _problems(ctx)
    assert problems == ["record 6 no longer has the hash anchored in audit-anchors.jsonl line 1 (the log up to "
                        "it was rewritten)"]
    assert len(anchors_path(ctx).read_text().splitlines()) == 1  # a broken log is never anchored
    # an anchor kept outside Safehold catches it even when the anchor file goes too
    anchors_path(ctx).unlink()
    assert verify_audit(ctx, LOCAL, (Anchor.parse(str(first.head)),)).problems[0].startswith("record 6 no longer")


def test_anchors_catch_a_cut_tail_and_an_edited_anchor_file(ctx: ServiceContext) -> None:
    _log(ctx)
    assert verify_audit(ctx, LOCAL).ok
    with ctx.db.session() as s:  # remove the tail and move the head back: the chain alone is intact
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
        last = s.get(AuditEvent, 4)
        assert last is not None
        s.execute(update(AuditHead).values(seq=4, hash=last.hash))
    assert any("anchors record 6 but the log ends at 4" in p for p in _problems(ctx))
    anchors_path(ctx).write_text("not json\n")
    assert any("line 1 is not an anchor" in p for p in _problems(ctx))
    with pytest.raises(ValueError, match="SEQ:HASH"):
        Anchor.parse("6:xyz")


def test_deleted_record_is_detected(ctx: ServiceContext) -> None:
    _log(ctx)
    with ctx.db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    problems = _problems(ctx)
    assert any("record 3" in p and "sequence" in p for p in problems)
    assert any("record 3" in p and "link" in p for p in problems)


def test_inserted_record_is_detected(ctx: ServiceContext) -> None:
    _log(ctx)
    with ctx.db.session() as s:  # shift the tail up and slip a forged record in at 4
        for seq in range(6, 3, -1):
            s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 1))
        prev = s.get(AuditEvent, 3)
        assert prev is not None
        forged = AuditEvent(seq=4, at=prev.at, actor="user:u0", action="login", case_id=None, target=None,
                            details="{}", prev_hash=prev.hash)
        forged.hash = event_hash(forged)
        s.add(forged)
        s.execute(update(AuditHead).values(seq=7))
    problems = _problems(ctx)
    assert any("record 5" in p for p in problems)  # moved records no longer hash to themselves


def test_truncated_tail_and_deleted_head_are_detected(ctx: ServiceContext) -> None:
    _log(ctx)
    with ctx.db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
    assert any("ends at 4" in p for p in _problems(ctx))
    with ctx.db.session() as s:
        s.execute(delete(AuditHead))
    assert any("head record is missing" in p for p in _problems(ctx))
    with pytest.raises(RuntimeError, match="tampered"):
        record_event(ctx, "user:x", "login")


def test_cli_verify_exits_2_on_tampering(ctx: ServiceContext, tmp_path: Path) -> None:
    _log(ctx, 3)
    env = {"SAFEHOLD_DATABASE_URL": ctx.db.url, "SAFEHOLD_DATA_DIR": str(ctx.settings.data_dir)}
    ok = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert ok.exit_code == 0 and "intact: 3 records" in ok.output
    out = tmp_path / "audit.jsonl"
    exported = CliRunner().invoke(cli, ["audit", "export", "-o", str(out)], env=env)
    assert exported.exit_code == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["seq"] for x in lines] == [1, 2, 3, 4] and lines[-1]["action"] == "export-audit"
    with ctx.db.session() as s:
        s.execute(text("UPDATE audit_events SET target = 'x' WHERE seq = 2"))
    bad = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert bad.exit_code == 2 and "TAMPERED" in bad.output


def test_cli_verify_checks_a_given_anchor(ctx: ServiceContext) -> None:
    _log(ctx, 4)
    env = {"SAFEHOLD_DATABASE_URL": ctx.db.url, "SAFEHOLD_DATA_DIR": str(ctx.settings.data_dir)}
    ok = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    head = ok.output.split("anchor: ")[1].strip()
    assert ok.exit_code == 0 and head.startswith("4:")
    _rewrite_from(ctx, 2)
    anchors_path(ctx).unlink()  # whoever rewrote the log also removed the local anchors
    assert CliRunner().invoke(cli, ["audit", "verify"], env=env).exit_code == 0  # the chain alone looks fine
    anchors_path(ctx).unlink()
    bad = CliRunner().invoke(cli, ["audit", "verify", "--anchor", head], env=env)
    assert bad.exit_code == 2 and "record 4 no longer has the hash anchored in --anchor" in bad.output
    wrong = CliRunner().invoke(cli, ["audit", "verify", "--anchor", "4"], env=env)
    assert wrong.exit_code == 2 and "SEQ:HASH" in wrong.output


def test_only_auditors_read_the_log(ctx: ServiceContext) -> None:
    investigator = Authz(1, "ivy", Role.INVESTIGATOR, frozenset({1}))
    with pytest.raises(ForbiddenError):
        verify_audit(ctx, investigator)
    with pytest.raises(ForbiddenError):
        export_audit(ctx, investigator, open("/dev/null", "w"))  # noqa: SIM115
    assert verify_audit(ctx, Authz(2, "aud", Role.AUDITOR)).ok


def test_concurrent_appenders_keep_one_chain(ctx: ServiceContext) -> None:
    """Threads writing at once (as the web app's thread pool does) never fork the chain."""
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(10):
                with audited(ctx) as log:
                    log(f"user:t{k}", "view-item", 1, None, i=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    v = verify_audit(ctx, LOCAL)
    assert v.ok, v.problems
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 40
