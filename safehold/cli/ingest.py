"""``safehold ingest CASE [EVIDENCE_ID…]`` with a live progress bar, then the case's stale jobs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from safehold.cli.common import EXIT_ITEM_ERRORS, acting, console, err_console, service
from safehold.ingest.executor import make_executor
from safehold.ingest.interrupt import stop_signals
from safehold.services.ingest import IngestResult, run_ingest
from safehold.services.jobs import JobPublic, run_jobs

__all__ = ["RichProgress", "print_job", "print_result", "progress_bar", "register"]


class RichProgress:
    """Files (archive members included), bytes of evidence done, rate and ETA."""

    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task: TaskID | None = None
        self.files = 0

    def begin(self, evidence_label: str, total_bytes: int, files_already: int, bytes_already: int) -> None:
        if self.task is not None:
            self.p.remove_task(self.task)
        self.files = files_already
        self.task = self.p.add_task(evidence_label, total=max(total_bytes, 1), completed=bytes_already,
                                    files=self.files)

    def advance(self, files: int, nbytes: int) -> None:
        if self.task is None:
            return
        self.files += files
        self.p.update(self.task, advance=nbytes, files=self.files)

    def note(self, message: str) -> None:
        self.p.console.print(f"[yellow]{message}[/yellow]")


def progress_bar(quiet: bool = False) -> Progress:
    """Files found (archive members included), evidence bytes done, rate and time left."""
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.fields[files]} files"), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=err_console, disable=quiet, transient=False)


def print_result(result: IngestResult) -> None:
    for r in result.runs:
        if r.skipped:
            console.print(f"evidence {r.evidence_id} ({r.label}): already ingested, nothing to do")
        else:
            resumed = f", {r.resumed_batches} batches already done" if r.resumed_batches else ""
            console.print(f"evidence {r.evidence_id} ({r.label}): {r.records_written} file records written"
                          f"{resumed}; {r.errors} with errors")


def print_job(job: JobPublic) -> None:
    """One line as each job ends."""
    colour = {"done": "green", "failed": "red"}.get(job.state, "yellow")
    detail = f": {job.detail}" if job.detail else ""
    console.print(f"job {job.name} [{colour}]{job.state}[/{colour}]{detail}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        ctx: typer.Context,
        case: Annotated[str, typer.Argument(help="Case id or name.")],
        evidence_ids: Annotated[list[int] | None, typer.Argument(help="Only these evidence items.")] = None,
        executor: Annotated[str, typer.Option(help="local (all cores) or inline (one process).")] = "local",
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Find, hash and describe every file; then run the case's stale jobs (listing, matching,
        clusters). Resumable after any interruption: run the same command again.

        Exit status: 0 no errors, 3 some files have recorded errors, 1 the command (or a job)
        failed, 130 stopped by Ctrl-C or SIGTERM.
        """
        ex = make_executor(ctx.obj.settings(), executor)  # workers warm up while the store opens
        with stop_signals(), service(ctx) as svc:
            authz = acting(ctx, svc)
            with progress_bar(quiet) as bar:
                result = run_ingest(svc, authz, case, evidence_ids or (), ex, RichProgress(bar))
            print_result(result)
            jobs = run_jobs(svc, authz, case, report=print_job)
        if any(j.state == "failed" for j in jobs):
            raise typer.Exit(1)
        if result.errors:
            raise typer.Exit(EXIT_ITEM_ERRORS)
