"""``safehold export …``: hashes and metadata out; never imagery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safehold.cli.common import acting, console, service
from safehold.services.exports import export_vics, export_vpdq

app = typer.Typer(help="Exchange formats.", no_args_is_help=True)


@app.command("vics")
def vics(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="Case id or name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.json).")],
) -> None:
    """A VICS 2.0 case file: hashes, categories decided so far, file paths, PDQ."""
    with service(ctx) as svc:
        n = export_vics(svc, acting(ctx, svc), case, output)
    console.print(f"wrote {n} media records to {output}")


@app.command("vpdq")
def vpdq(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="Case id or name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.txt).")],
) -> None:
    """The case's video fingerprints: reference vpdq lines, one block per video (re-importable)."""
    with service(ctx) as svc:
        n = export_vpdq(svc, acting(ctx, svc), case, output)
    console.print(f"wrote {n} video fingerprints to {output}")
