"""``safehold files`` and ``safehold summary``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from safehold.cli.common import acting, console, dump_json, service
from safehold.services.files import case_summary, iter_files

__all__ = ["print_summary", "register"]


def print_summary(s: dict[str, Any]) -> None:
    console.print(f"[bold]Case {s['case']['id']}: {s['case']['name']}[/bold]")
    for e in s["evidence"]:
        console.print(f"  evidence {e['id']} {e['label']} [{e['ingest_state']}] "
                      f"{e['acquisition_method']} {e['acquisition_hash']}", highlight=False)
    t = Table(show_header=False, box=None)
    t.add_row("files", str(s["files"]))
    t.add_row("bytes", str(s["bytes"]))
    t.add_row("unique contents", str(s["unique_contents"]))
    for k, v in s["by_media_type"].items():
        t.add_row(f"  {'not read (see errors)' if k == 'none' else k}", str(v))
    t.add_row("images with PDQ", str(s["images_with_pdq"]))
    t.add_row("videos with vPDQ", str(s["videos_with_vpdq"]))
    t.add_row("camera serials", str(s["camera_serials"]))
    t.add_row("deleted", str(s["deleted"]))
    t.add_row("errors", str(s["errors"]))
    for k, v in s["errors_by_code"].items():
        t.add_row(f"  {k}", str(v))
    console.print(t)


def register(app: typer.Typer) -> None:
    @app.command("files")
    def files(
        ctx: typer.Context,
        case: Annotated[str, typer.Argument(help="Case id or name.")],
        media_type: Annotated[str | None, typer.Option("--type", help="image, video, archive or other.")] = None,
        errors: Annotated[bool, typer.Option("--errors", help="Only files with a recorded error.")] = False,
        evidence: Annotated[int | None, typer.Option("--evidence", help="Only this evidence item.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """List files with locators, hashes, PDQ, EXIF and errors."""
        with service(ctx) as svc:
            for f in iter_files(svc, acting(ctx, svc), case, media_type, errors, evidence):
                if as_json:
                    dump_json(f)
                else:
                    line = f"{f['sha256'] or '-':64}  {f['size'] if f['size'] is not None else '-':>10}  {f['locator']}"
                    if f["error"]:
                        line += f"  [{f['error']}]"
                    print(line)

    @app.command("summary")
    def summary(
        ctx: typer.Context,
        case: Annotated[str, typer.Argument(help="Case id or name.")],
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Counts by media type, unique contents, errors by kind."""
        with service(ctx) as svc:
            s = case_summary(svc, acting(ctx, svc), case)
        if as_json:
            dump_json(s)
        else:
            print_summary(s)
