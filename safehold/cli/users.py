"""``safehold user …``: accounts and case membership (the local operator, or ``--as`` an admin)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from safehold.cli.common import acting, console, dump_json, service
from safehold.core.errors import SafeholdError
from safehold.services.accounts import add_user, grant_case, list_users, revoke_case, set_active, set_password
from safehold.services.authz import Role

app = typer.Typer(help="Accounts for the review server, and who is on which case.", no_args_is_help=True)

ROLES = ", ".join(r.value for r in Role)


def _password() -> str:
    """From a prompt (typed twice) or, when stdin is not a terminal, its first line."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SafeholdError("the two passwords differ")
    return first


@app.command("add")
def add(ctx: typer.Context, name: str,
        role: Annotated[str, typer.Option("--role", help=ROLES)],
        case: Annotated[list[str] | None, typer.Option("--case", help="Case id or name to join (repeatable).")] = None,
        ) -> None:
    """Create an account; the password comes from a prompt or from stdin."""
    with service(ctx) as svc:
        authz = acting(ctx, svc)
        user = add_user(svc, authz, name, role, _password())
        for c in case or []:
            grant_case(svc, authz, name, c)
    console.print(f"user {user.id} '{user.name}' ({user.role})", highlight=False)


@app.command("passwd")
def passwd(ctx: typer.Context, name: str) -> None:
    """Set a new password (prompt or stdin); the user's open sessions end."""
    with service(ctx) as svc:
        set_password(svc, acting(ctx, svc), name, _password())
    console.print(f"password of '{name}' changed", highlight=False)


@app.command("disable")
def disable(ctx: typer.Context, name: str) -> None:
    """Lock an account out; its open sessions end at once."""
    with service(ctx) as svc:
        set_active(svc, acting(ctx, svc), name, False)
    console.print(f"'{name}' is disabled", highlight=False)


@app.command("enable")
def enable(ctx: typer.Context, name: str) -> None:
    """Let a disabled account sign in again."""
    with service(ctx) as svc:
        set_active(svc, acting(ctx, svc), name, True)
    console.print(f"'{name}' is enabled", highlight=False)


@app.command("grant")
def grant(ctx: typer.Context, name: str, case: Annotated[str, typer.Argument(help="Case id or name.")]) -> None:
    """Put a user on a case."""
    with service(ctx) as svc:
        grant_case(svc, acting(ctx, svc), name, case)
    console.print(f"'{name}' is on case {case}", highlight=False)


@app.command("revoke")
def revoke(ctx: typer.Context, name: str, case: Annotated[str, typer.Argument(help="Case id or name.")]) -> None:
    """Take a user off a case."""
    with service(ctx) as svc:
        revoke_case(svc, acting(ctx, svc), name, case)
    console.print(f"'{name}' is no longer on case {case}", highlight=False)


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Accounts with their roles and cases."""
    with service(ctx) as svc:
        users = list_users(svc, acting(ctx, svc))
    if as_json:
        dump_json(users)
        return
    for u in users:
        console.print(f"{u.id}\t{u.name}\t{u.role}\t{'active' if u.active else 'disabled'}\t"
                      f"cases {','.join(map(str, u.cases)) or '-'}", highlight=False)
