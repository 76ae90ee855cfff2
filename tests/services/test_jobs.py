"""Jobs after ingest: listed with their state and staleness, run when stale or named, a failure
recorded without stopping the next job, an interrupted or killed job run again."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from safehold.core.errors import ForbiddenError, SafeholdError
from safehold.ingest.executor import InlineExecutor
from safehold.ingest.interrupt import Interrupted
from safehold.services import jobs as jobs_module
from safehold.services.authz import Authz, Role
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.hashsets import import_hashset
from safehold.services.ingest import run_ingest
from safehold.services.jobs import JOB_NAMES, JobPublic, list_jobs, run_jobs
from safehold.store.job_models import JobRow
from safehold.store.review_models import AuditEvent
from safehold.testing.images import encode, synthetic_photo

LOCAL = Authz.local("test:officer")

OPERATOR = Authz.local("test:officer")


@pytest.fixture
def case_id(ctx: ServiceContext, tmp_path: Path) -> int:
    """An ingested case of three photos, one a re-encoded copy of another."""
    ev = tmp_path / "ev"
    ev.mkdir()
    a = synthetic_photo(1, (320, 240))
    (ev / "a.jpg").write_bytes(encode(a, "JPEG", quality=90))
    (ev / "a_small.jpg").write_bytes(encode(a.resize((160, 120)), "JPEG", quality=70))
    (ev / "b.jpg").write_bytes(encode(synthetic_photo(2, (320, 240)), "JPEG", quality=90))
    case = create_case(ctx, OPERATOR, "op")
    add_evidence(ctx, OPERATOR, case.id, ev, "laptop")
    run_ingest(ctx, LOCAL, case.id, executor=InlineExecutor(ctx.settings))
    return case.id


def _states(jobs: list[JobPublic]) -> dict[str, tuple[str, bool]]:
    return {j.name: (j.state, j.stale) for j in jobs}


def test_a_new_case_lists_every_job_as_pending(ctx: ServiceContext) -> None:
    case = create_case(ctx, OPERATOR, "empty")
    assert _states(list_jobs(ctx, LOCAL, case.id)) == {n: ("pending", True) for n in JOB_NAMES}


def test_ingest_leaves_jobs_pending_and_run_jobs_runs_the_stale_ones(ctx: ServiceContext, case_id: int,
                                                                    tmp_path: Path) -> None:
    assert _states(list_jobs(ctx, LOCAL, "op")) == {n: ("pending", True) for n in JOB_NAMES}
    heard: list[str] = []
    ran = run_jobs(ctx, LOCAL, "op", report=lambda j: heard.append(j.name))
    assert [j.name for j in ran] == heard == list(JOB_NAMES)
    by_name = {j.name: j for j in ran}
    assert by_name["gallery"].detail == "3 images and videos listed"
    assert by_name["match"].detail == "nothing to match: no hash sets imported"
    assert by_name["clusters"].detail == "1 cluster of near-duplicates"
    listed = list_jobs(ctx, LOCAL, case_id)
    assert _states(listed) == {n: ("done", False) for n in JOB_NAMES}
    for j in listed:
        assert j.started_at is not None and j.finished_at is not None
        assert j.started_at.tzinfo is not None and j.started_at <= j.finished_at
    assert run_jobs(ctx, LOCAL, case_id) == []  # nothing stale

    # a new list makes matching stale, and only matching
    listed_md5 = hashlib.md5((tmp_path / "ev" / "b.jpg").read_bytes()).hexdigest()
    (tmp_path / "list.md5").write_text(f"{listed_md5}  b.jpg\n")
    import_hashset(ctx, OPERATOR, tmp_path / "list.md5", "unit list", "known-abuse")
    assert _states(list_jobs(ctx, LOCAL, case_id))["match"] == ("done", True)
    assert [j.name for j in run_jobs(ctx, LOCAL, case_id)] == ["match"]
    assert [j.name for j in run_jobs(ctx, LOCAL, case_id, ["clusters"])] == ["clusters"]  # named: runs anyway
    assert len(run_jobs(ctx, LOCAL, case_id, only_stale=False)) == 3

    with ctx.db.session() as s:
        audit = s.execute(select(AuditEvent.action, AuditEvent.details).where(AuditEvent.action == "job-run")
                          .order_by(AuditEvent.seq)).all()
    assert len(audit) == 3 + 1 + 1 + 3
    assert '"job":"gallery"' in audit[0][1] and '"state":"done"' in audit[0][1]
    with pytest.raises(SafeholdError, match="no job thumbnails"):
        run_jobs(ctx, LOCAL, case_id, ["thumbnails"])


def test_a_failed_job_records_its_error_and_the_next_jobs_still_run(ctx: ServiceContext, case_id: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: ServiceContext, authz: object, case_id: int) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs_module, "_JOBS", tuple(replace(j, run=broken) if j.name == "gallery" else j
                                                    for j in jobs_module._JOBS))
    ran = run_jobs(ctx, LOCAL, case_id)
    assert _states(ran) == {"gallery": ("failed", True), "match": ("done", False), "clusters": ("done", False)}
    assert ran[0].detail == "RuntimeError: disk full"
    monkeypatch.undo()
    assert [j.name for j in run_jobs(ctx, LOCAL, case_id)] == ["gallery"]  # the failed one, again


def test_an_interrupted_job_stops_the_run_and_runs_again_next_time(ctx: ServiceContext, case_id: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(ctx: ServiceContext, authz: object, case_id: int) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs_module, "_JOBS", tuple(replace(j, run=stopped) if j.name == "match" else j
                                                    for j in jobs_module._JOBS))
    with pytest.raises(Interrupted) as info:
        run_jobs(ctx, LOCAL, "op")
    assert info.value.resume == "safehold jobs op --run match --run clusters"
    states = _states(list_jobs(ctx, LOCAL, case_id))
    assert states == {"gallery": ("done", False), "match": ("interrupted", True), "clusters": ("pending", True)}
    monkeypatch.undo()
    assert [j.name for j in run_jobs(ctx, LOCAL, case_id)] == ["match", "clusters"]


def test_a_job_left_running_by_a_dead_process_is_interrupted(ctx: ServiceContext, case_id: int) -> None:
    run_jobs(ctx, LOCAL, case_id)
    with ctx.db.session() as s:
        dead = s.get(JobRow, (case_id, "clusters"))
        assert dead is not None
        dead.state, dead.owner = "running", f"{socket.gethostname()}:{2**22 + 17}"  # above any pid
        elsewhere = s.get(JobRow, (case_id, "match"))
        assert elsewhere is not None
        elsewhere.state, elsewhere.owner = "running", "another-host:1"  # cannot be checked from here
    states = _states(list_jobs(ctx, LOCAL, case_id))
    assert states["clusters"] == ("interrupted", True) and states["match"] == ("running", True)
    assert [j.name for j in run_jobs(ctx, LOCAL, case_id)] == ["match", "clusters"]


def test_reviewers_list_jobs_but_only_investigators_run_them(ctx: ServiceContext, case_id: int) -> None:
    rex = Authz(7, "rex", Role.REVIEWER, frozenset({case_id}))
    assert len(list_jobs(ctx, rex, case_id)) == 3
    with pytest.raises(ForbiddenError):
        run_jobs(ctx, rex, case_id)
    stranger = Authz(8, "otto", Role.INVESTIGATOR, frozenset())
    with pytest.raises(ForbiddenError):
        list_jobs(ctx, stranger, case_id)
    ivy = Authz(9, "ivy", Role.INVESTIGATOR, frozenset({case_id}))
    assert len(run_jobs(ctx, ivy, case_id)) == 3
