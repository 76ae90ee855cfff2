"""The ``safehold`` command. Commands are thin: they parse, call ``services``, and print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safehold.cli import (
    analysis,
    audit,
    cases,
    demo,
    evidence,
    exports,
    hashsets,
    ingest,
    jobs,
    matching,
    results,
    serve,
    users,
)
from safehold.cli.common import State

__all__ = ["app"]

app = typer.Typer(
    name="safehold",
    help="Offline forensic platform for child-protection investigations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="SAFEHOLD_DATA_DIR",
                                                  help="Where the SQLite store and derived files live.")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="SAFEHOLD_DATABASE_URL",
                                                     help="SQLAlchemy URL, e.g. postgresql+psycopg://…")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1,
                                                help="Worker processes (default: all cores).")] = None,
    as_user: Annotated[str | None, typer.Option(
        "--as", envvar="SAFEHOLD_USER", metavar="NAME",
        help="Act as this account, with its rights (default: the local operator, with all).")] = None,
) -> None:
    ctx.obj = State(data_dir=data_dir, database_url=database_url, workers=workers, as_user=as_user)


app.add_typer(cases.app, name="case")
app.add_typer(evidence.app, name="evidence")
app.add_typer(hashsets.app, name="hashset")
app.add_typer(exports.app, name="export")
app.add_typer(users.app, name="user")
app.add_typer(audit.app, name="audit")
ingest.register(app)
jobs.register(app)
results.register(app)
matching.register(app)
demo.register(app)
serve.register(app)
analysis.register(app)
