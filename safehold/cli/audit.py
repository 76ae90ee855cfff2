"""``safehold audit …``: verify the hash chain of the audit log, or export it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safehold.cli.common import console, err_console, service
from safehold.services.audit import export_audit, verify_audit
from safehold.services.authz import Authz

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)

EXIT_TAMPERED = 2


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the chain; exit 2 and list each break if any record was edited, inserted or deleted."""
    with service(ctx) as svc:
        result = verify_audit(svc, Authz.local(svc.actor))
    if result.ok:
        console.print(f"audit log intact: {result.records} records, head {result.head_seq} {result.head_hash}",
                      highlight=False)
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
        n = export_audit(svc, Authz.local(svc.actor), f)
    console.print(f"wrote {n} records to {output}")
