"""``safehold jobs CASE``: the case's jobs after ingest (listing, matching, clusters); run them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from safehold.cli.common import acting, console, dump_json, service
from safehold.cli.ingest import print_job
from safehold.ingest.interrupt import stop_signals
from safehold.services.jobs import JOB_NAMES, JobPublic, list_jobs, run_jobs

__all__ = ["job_record", "register"]


def _at(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def job_record(j: JobPublic) -> dict[str, Any]:
    """One job as JSON (snake_case keys, ISO times)."""
    return {"name": j.name, "state": j.state, "stale": j.stale, "started_at": _at(j.started_at),
            "finished_at": _at(j.finished_at), "detail": j.detail}


def _lines(jobs: list[JobPublic]) -> None:
    """One line per job: name, state, whether stale, when it last finished, what it did."""
    for j in jobs:
        when = f"finished {j.finished_at:%Y-%m-%d %H:%M:%S}" if j.finished_at else "never run"
        console.print(f"{j.name:<9} {j.state:<11} {'stale' if j.stale else 'current':<8} {when}"
                      f"{'  ' + j.detail if j.detail else ''}", highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    @app.command("jobs")
    def jobs(
        ctx: typer.Context,
        case: Annotated[str, typer.Argument(help="Case id or name.")],
        run: Annotated[list[str] | None, typer.Option(
            "--run", help=f"Run this job now, stale or not (repeatable): {', '.join(JOB_NAMES)}.")] = None,
        run_all: Annotated[bool, typer.Option("--all", help="Run every job now, stale or not.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per job and line.")] = False,
    ) -> None:
        """List the case's jobs (state, whether stale), or run them with --run/--all.

        Exit status: 0, 1 a job failed (its error is shown), 130 stopped by Ctrl-C or SIGTERM:
        the job is marked interrupted and runs again next time.
        """
        with stop_signals(), service(ctx) as svc:
            authz = acting(ctx, svc)
            ran = []
            if run or run_all:
                ran = run_jobs(svc, authz, case, run or JOB_NAMES, report=None if as_json else print_job)
            listed = list_jobs(svc, authz, case)
        if as_json:
            for j in listed:
                dump_json(job_record(j))
        elif not ran:
            _lines(listed)
        if any(j.state == "failed" for j in ran):
            raise typer.Exit(1)
