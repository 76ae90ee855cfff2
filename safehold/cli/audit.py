"""``safehold audit …``: verify the hash chain of the audit log (and its anchors), or export it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safehold.cli.common import acting, console, err_console, service
from safehold.services.audit import Anchor, export_audit, verify_audit

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)

EXIT_TAMPERED = 2


def _anchors(values: list[str] | None) -> tuple[Anchor, ...]:
    try:
        return tuple(Anchor.parse(v, "--anchor") for v in values or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--anchor") from exc


@app.command("verify")
def verify(ctx: typer.Context, anchor: Annotated[list[str] | None, typer.Option(
        "--anchor", metavar="SEQ:HASH",
        help="A head written down earlier (repeatable): the log must still pass through it.")] = None) -> None:
    """Recompute the chain; exit 2 and list each break if any record was edited, inserted or deleted.

    Checks the anchors kept in the data directory and those given; an intact log's head is kept as
    a new anchor and printed: write it down outside Safehold too."""
    given = _anchors(anchor)
    with service(ctx) as svc:
        result = verify_audit(svc, acting(ctx, svc), given)
    if result.ok:
        console.print(f"audit log intact: {result.records} records, {result.anchors_checked} anchors checked",
                      highlight=False)
        if result.head:
            console.print(f"anchor: {result.head}", highlight=False)
        return
    err_console.print(f"[bold red]audit log TAMPERED[/bold red] ({result.records} records):")
    for p in result.problems:
        err_console.print(f"  {p}", highlight=False)
    raise typer.Exit(EXIT_TAMPERED)


@app.command("export")
def export(ctx: typer.Context,
           output: Annotated[Path, typer.Option("-o", "--output", help="JSON lines file.")]) -> None:
    """Every record, oldest first, with its hashes."""
    with service(ctx) as svc, output.open("w", encoding="utf-8") as f:
        n = export_audit(svc, acting(ctx, svc), f)
    console.print(f"wrote {n} records to {output}")
