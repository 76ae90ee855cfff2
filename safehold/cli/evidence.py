"""``safehold evidence …``"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from safehold.cli.common import acting, console, dump_json, err_console, service
from safehold.services.evidence import add_evidence, list_evidence

app = typer.Typer(help="Evidence items and their custody.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="Case id or name.")],
    path: Annotated[Path, typer.Argument(exists=True, help="Folder or file as acquired (read only).")],
    label: Annotated[str, typer.Option("--label", help="Exhibit label, e.g. 'Laptop HP-01'.")],
    seized_by: Annotated[str | None, typer.Option("--seized-by")] = None,
    seized_at: Annotated[datetime | None, typer.Option("--seized-at", help="ISO date/time.")] = None,
    location: Annotated[str | None, typer.Option("--location")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register an evidence item: records its acquisition hash and a custody event."""
    with service(ctx) as svc:
        item = add_evidence(svc, acting(ctx, svc), case, path, label, seized_by, seized_at, location)
    if as_json:
        dump_json(item)
    else:
        print(item.id)
        console.print(f"[dim]{item.acquisition_method} {item.acquisition_hash} "
                      f"({item.top_file_count} files, {item.size_bytes} bytes)[/dim]", highlight=False)
    _print_checks(item.custody, quiet=as_json)


def _print_checks(custody: list[dict[str, Any]], quiet: bool) -> None:
    """Integrity checks made at registration (EWF verification): a failure is printed loudly, on stderr."""
    for event in custody:
        details = event["details"] or {}
        if event["action"] == "verified" and not quiet:
            hashes = ", ".join(f"{k.upper()} {v}" for k, v in sorted(details.get("computed", {}).items()))
            console.print(f"[green]verified[/green]: stored hashes match the media data ({hashes})",
                          highlight=False)
        elif event["action"] == "verification-failed":
            err_console.print(f"[bold red]WARNING: verification failed[/bold red]: {details.get('reason')} "
                              "(registered anyway; recorded in the custody trail)", highlight=False)


@app.command("list")
def list_(ctx: typer.Context, case: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Evidence items of a case with their custody events."""
    with service(ctx) as svc:
        items = list_evidence(svc, acting(ctx, svc), case)
    if as_json:
        dump_json(items)
        return
    for e in items:
        console.print(f"[bold]{e.id}[/bold] {e.label} ({e.source_kind}, {e.ingest_state}) {e.source_path}")
        console.print(f"    {e.acquisition_method} {e.acquisition_hash}", highlight=False)
        for c in e.custody:
            console.print(f"    {c['at']}  {c['action']:<16} {c['actor']}", highlight=False)
