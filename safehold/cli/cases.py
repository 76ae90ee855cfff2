"""``safehold case …``"""

from __future__ import annotations

from typing import Annotated

import typer

from safehold.cli.common import console, dump_json, service
from safehold.services.cases import create_case, list_cases

app = typer.Typer(help="Cases (investigations).", no_args_is_help=True)


@app.command("new")
def new(
    ctx: typer.Context,
    name: str,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the case as JSON.")] = False,
) -> None:
    """Open a case; prints its id."""
    with service(ctx) as svc:
        case = create_case(svc, name, description)
    if as_json:
        dump_json(case)
    else:
        print(case.id)


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List cases."""
    with service(ctx) as svc:
        cases = list_cases(svc)
    if as_json:
        dump_json(cases)
        return
    for c in cases:
        console.print(f"{c.id}\t{c.name}\t{c.status}\t{c.created_at}")
