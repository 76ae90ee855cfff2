"""``safehold ingest`` runs the case's jobs after it; ``safehold jobs`` lists and reruns them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safehold.cli.app import app
from safehold.services import jobs as jobs_module
from safehold.services.context import ServiceContext
from safehold.testing.images import encode, synthetic_photo


def run(data: Path, *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, ["--data-dir", str(data), *args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def test_ingest_runs_the_jobs_and_jobs_lists_and_reruns_them(tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    for i in range(3):
        (ev / f"{i}.jpg").write_bytes(encode(synthetic_photo(i, (160, 120)), "JPEG"))
    data = tmp_path / "data"
    run(data, "case", "new", "op")
    run(data, "evidence", "add", "op", str(ev), "--label", "A")
    listed = [json.loads(x) for x in run(data, "jobs", "op", "--json").splitlines()]
    assert [(j["name"], j["state"], j["stale"]) for j in listed] == [
        ("gallery", "pending", True), ("match", "pending", True), ("clusters", "pending", True)]

    out = run(data, "ingest", "op", "--executor", "inline", "--quiet")
    assert "job gallery done: 3 images and videos listed" in out
    assert "job match done: nothing to match: no hash sets imported" in out
    assert "job clusters done" in out
    listed = [json.loads(x) for x in run(data, "jobs", "op", "--json").splitlines()]
    assert {j["state"] for j in listed} == {"done"} and not any(j["stale"] for j in listed)
    assert set(listed[0]) == {"name", "state", "stale", "started_at", "finished_at", "detail"}
    assert listed[0]["finished_at"].endswith("+00:00")

    assert "job" not in run(data, "ingest", "op", "--executor", "inline", "--quiet")  # nothing stale
    out = run(data, "jobs", "op", "--run", "match")
    assert out.strip() == "job match done: nothing to match: no hash sets imported"
    assert len(run(data, "jobs", "op", "--all").splitlines()) == 3
    assert "current" in run(data, "jobs", "op")
    run(data, "jobs", "op", "--run", "nope", code=1)


def test_a_stopped_job_prints_one_line_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(ctx: ServiceContext, authz: object, case_id: int) -> str:
        raise KeyboardInterrupt  # as Ctrl-C does, under stop_signals

    data = tmp_path / "data"
    run(data, "case", "new", "op")
    monkeypatch.setattr(jobs_module, "_JOBS", tuple(replace(j, run=stopped) if j.name == "match" else j
                                                    for j in jobs_module._JOBS))
    out = run(data, "jobs", "op", "--all", code=130)
    assert "Traceback" not in out
    assert out.splitlines()[-1] == ('interrupted: job match of case 1 stopped — run "safehold jobs op --run match '
                                    '--run clusters" to resume')
    listed = [json.loads(x) for x in run(data, "jobs", "op", "--json").splitlines()]
    assert [j["state"] for j in listed] == ["done", "interrupted", "pending"]
