"""``safehold case …``"""

from __future__ import annotations

from typing import Annotated

import typer

from safehold.cli.common import acting, console, dump_json, service
from safehold.services.cases import CASE_STATUSES, create_case, list_cases, update_case

app = typer.Typer(help="Cases (investigations).", no_args_is_help=True)


@app.command("new")
def new(
    ctx: typer.Context,
    name: str,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the case as JSON.")] = False,
) -> None:
    """Open a case; prints its id. A named account (--as) joins the case it opens."""
    with service(ctx) as svc:
        case = create_case(svc, acting(ctx, svc), name, description)
    if as_json:
        dump_json(case)
    else:
        print(case.id)


@app.command("update")
def update(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="Case id or name.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    status: Annotated[str | None, typer.Option(help=" | ".join(CASE_STATUSES))] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Rename a case, or change its description or status (audited with old and new values)."""
    with service(ctx) as svc:
        c = update_case(svc, acting(ctx, svc), case, name=name, description=description, status=status)
    if as_json:
        dump_json(c)
    else:
        console.print(f"{c.id}\t{c.name}\t{c.status}", highlight=False)


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List cases (with --as, the account's own)."""
    with service(ctx) as svc:
        cases = list_cases(svc, acting(ctx, svc))
    if as_json:
        dump_json(cases)
        return
    for c in cases:
        console.print(f"{c.id}\t{c.name}\t{c.status}\t{c.created_at}")
