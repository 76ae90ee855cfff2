"""``safehold extractors``, ``safehold analyse`` and ``safehold artifacts``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from safehold.cli.common import EXIT_ITEM_ERRORS, acting, console, dump_json, err_console, service
from safehold.core.errors import SafeholdError
from safehold.ingest.interrupt import stop_signals

if TYPE_CHECKING:  # the extractors load decoders (~0.3 s): only the commands that run them import them
    from safehold.services.analyse import AnalyseReport

__all__ = ["register"]


class _Bar:
    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task: TaskID | None = None

    def begin(self, total: int) -> None:
        if total:
            self.task = self.p.add_task("analysing contents", total=total)

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.p.update(self.task, advance=done)


def _print_report(r: AnalyseReport) -> None:
    if not r.planned:
        console.print(f"nothing to do: {', '.join(r.extractors)} already ran at their current versions",
                      soft_wrap=True)
        return
    runs = ", ".join(f"{name} {n}" for name, n in sorted(r.by_extractor.items()))
    console.print(f"{r.analysed} of {r.planned} contents analysed ({runs}); {r.artifacts} artifacts; "
                  f"{r.errors} with extractor errors; {r.unreachable} could not be read back", soft_wrap=True)
    for p in r.problems:
        console.print(f"  [yellow]{p}[/yellow]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("extractors")
    def extractors(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
        """List every registered extractor: name, version, what it reads and accepts, where it comes from."""
        from safehold.extractors.registry import load_registry

        for info in load_registry().infos:
            if as_json:
                dump_json(info)
                continue
            if info.problem:
                console.print(f"[red]{info.name}[/red]  not loaded: {info.problem}  ({info.origin})", highlight=False)
                continue
            acc = info.accepts or {}
            accepts = ", ".join([*acc.get("kinds", []), *acc.get("mimes", [])]) or "everything"
            console.print(f"{info.name:<20} v{info.version:<4} {info.reads:<8} {accepts:<28} {info.origin}",
                          highlight=False)

    @app.command("analyse")
    def analyse(
        ctx: typer.Context,
        case: Annotated[str | None, typer.Argument(help="Case id or name (or --all).")] = None,
        extractor: Annotated[list[str] | None, typer.Option("--extractor", "-x",
                                                            help="Only this extractor (repeatable).")] = None,
        all_cases: Annotated[bool, typer.Option("--all", help="Every case you run.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Run new or newer extractors over contents already ingested; resumable, a no-op when current.

        Exit status: 0 done, 3 some contents had extractor errors or could not be read back, 1 failed.
        """
        from safehold.extractors.base import ExtractorError
        from safehold.extractors.registry import load_registry
        from safehold.services.analyse import analyse_all, run_analyse

        if (case is None) == (not all_cases):
            err_console.print("[red]error:[/red] name one case, or --all")
            raise typer.Exit(2)
        with stop_signals(), service(ctx) as svc:
            try:
                registry = load_registry()
                registry.select(extractor or ())
            except ExtractorError as exc:
                raise SafeholdError(str(exc)) from None
            progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=err_console, disable=quiet)
            with progress:
                who = acting(ctx, svc)
                if case is None:
                    report = analyse_all(svc, who, extractor or (), progress=_Bar(progress), registry=registry)
                else:
                    report = run_analyse(svc, who, case, extractor or (), progress=_Bar(progress), registry=registry)
        _print_report(report)
        if report.errors or report.unreachable:
            raise typer.Exit(EXIT_ITEM_ERRORS)

    @app.command("artifacts")
    def artifacts(
        ctx: typer.Context,
        case: Annotated[str, typer.Argument(help="Case id or name.")],
        extractor: Annotated[str | None, typer.Option("--extractor", help="Only this extractor's.")] = None,
        kind: Annotated[str | None, typer.Option("--kind", help="Only this kind (email, phone, ...).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """What the extractors found inside the case's contents, with where and by which version."""
        from safehold.services.artifacts import list_artifacts

        with service(ctx) as svc:
            for a in list_artifacts(svc, acting(ctx, svc), case, extractor, kind):
                if as_json:
                    dump_json(a)
                    continue
                where = f"@{a.offset}" if a.offset is not None else (a.where or "")
                first = a.locators[0] if a.locators else "-"
                print(f"{a.kind:<14} {a.value[:60]:<60} {where:<12} {a.extractor} v{a.version}  {first}")
