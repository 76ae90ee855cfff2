"""``safehold demo``: the main job on the bundled benign sample evidence."""

from __future__ import annotations

from typing import Annotated

import typer

from safehold.cli.common import acting, console, dump_json, service
from safehold.cli.ingest import RichProgress, print_job, print_result, progress_bar
from safehold.cli.matching import print_triage
from safehold.cli.results import print_summary
from safehold.ingest.executor import make_executor
from safehold.ingest.interrupt import stop_signals

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Build a benign sample case (photos, near-duplicates, nested and damaged archives),
        ingest it, run its jobs and print the summary. The damaged files are meant to show up as
        errors. Stopped with Ctrl-C, it resumes when run again."""
        from safehold.services.demo import run_demo  # the sample builder: only this command needs it
        from safehold.testing.corpus import build_demo_evidence  # generator deps load only for the demo

        with stop_signals(), service(ctx) as svc, progress_bar(quiet=as_json) as bar:
            result = run_demo(svc, acting(ctx, svc), make_executor(svc.settings), build_demo_evidence,
                              RichProgress(bar))
        if as_json:
            dump_json({"summary": result.summary, "triage": result.triage})
            return
        console.print(f"sample evidence: {result.evidence_path}")
        print_result(result.ingest)
        for job in result.jobs:
            print_job(job)
        print_summary(result.summary)
        console.print()
        print_triage(result.triage, limit=5)
        console.print("[dim]Errors above are expected: the sample holds truncated, empty, encrypted, "
                      "bomb and path-traversal files on purpose. Try `safehold files demo --errors`.[/dim]")
