"""``safehold hashset …``"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from safehold.cli.common import acting, console, dump_json, err_console, service
from safehold.services.hashsets import get_set, import_hashset, list_sets, remove_set
from safehold.services.matching import match_all

app = typer.Typer(help="Hash lists: known abuse material, known-good (NSRL), watch lists.", no_args_is_help=True)

FORMATS = "auto|vics|caid|icse|nsrl|nsrl-rds3|nsrl-legacy|hashdeep|md5sum|pdq"


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The list as received.")],
    name: Annotated[str, typer.Option("--name", help="Set name; importing under an existing name replaces it.")],
    kind: Annotated[str, typer.Option("--kind", help="known-abuse, known-good or watch.")],
    fmt: Annotated[str, typer.Option("--format", help=FORMATS)] = "auto",
    source: Annotated[str | None, typer.Option(help="Who issued the list (e.g. 'Project VIC').")] = None,
    version: Annotated[str | None, typer.Option(help="The issuer's version label.")] = None,
    set_date: Annotated[str | None, typer.Option("--date", help="The issuer's date for this version.")] = None,
    licence: Annotated[str | None, typer.Option(help="Terms the list was received under.")] = None,
    pdq_threshold: Annotated[int | None, typer.Option(help="PDQ distance for this set (default 31).")] = None,
    no_match: Annotated[bool, typer.Option("--no-match", help="Do not re-check cases now.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import (or replace) a list; bad rows are reported and skipped; cases are re-matched."""
    if fmt == "nsrl":
        fmt = "auto"  # RDS v3 and legacy are told apart by content
    with service(ctx) as svc:
        authz = acting(ctx, svc)
        report = import_hashset(svc, authz, file, name, kind, fmt, source, version, set_date, licence, pdq_threshold)
        matched = [] if no_match else match_all(svc, authz)
    if as_json:
        dump_json({"import": report, "matches": matched})
        return
    verb = "replaced" if report.replaced else "imported"
    console.print(f"{verb} set {report.set_id} '{report.name}' ({report.format}): {report.entries} entries, "
                  f"{report.bad_rows} bad rows skipped", highlight=False)
    if report.duplicates:
        console.print(f"  {report.duplicates} repeated rows of the same hashes kept once", highlight=False)
    if report.replaced:
        console.print(f"  diff against the previous version: +{report.added} / -{report.removed}")
    for b in report.bad_samples[:20]:
        err_console.print(f"  skipped {b['position']}: {b['reason']}", highlight=False)
    if report.bad_rows > 20:
        err_console.print(f"  … and {report.bad_rows - 20} more (safehold hashset show {report.set_id})")
    for m in matched:
        if m.exact_added or m.pdq_added:
            console.print(f"  case {m.case_id}: {m.exact_added} new exact matches, {m.pdq_added} PDQ matches")


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sets with their kind, version and size."""
    with service(ctx) as svc:
        sets = list_sets(svc, acting(ctx, svc))
    if as_json:
        dump_json(sets)
        return
    t = Table("id", "name", "kind", "format", "version", "entries", "PDQ radius")
    for s in sets:
        t.add_row(str(s.id), s.name, s.kind, s.format, s.version or "", str(s.entries), str(s.pdq_threshold))
    console.print(t)


@app.command("show")
def show(ctx: typer.Context, ref: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One set with its provenance and import history (diffs, bad rows)."""
    with service(ctx) as svc:
        s = get_set(svc, acting(ctx, svc), ref)
    if as_json:
        dump_json(s)
        return
    console.print(f"[bold]{s.id} {s.name}[/bold] ({s.kind}, {s.format}) {s.entries} entries", highlight=False)
    console.print(f"  source {s.source or '-'}, version {s.version or '-'}, date {s.set_date or '-'}, "
                  f"licence {s.licence or '-'}, category scheme {s.category_scheme or '-'}", highlight=False)
    for h in s.history:
        console.print(f"  import {h['import_id']} [{h['status']}] {h['finished_at'] or h['started_at']} by "
                      f"{h['actor']}: {h['file_name']} sha256 {h['file_sha256']}, {h['entries']} entries, "
                      f"+{h['added']}/-{h['removed']}, {h['bad_rows']} bad rows", highlight=False)


@app.command("remove")
def remove(ctx: typer.Context, ref: str) -> None:
    """Delete a set, its entries and the matches it produced."""
    with service(ctx) as svc:
        s = remove_set(svc, acting(ctx, svc), ref)
    console.print(f"removed set {s.id} '{s.name}' ({s.entries} entries)")
