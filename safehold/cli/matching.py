"""``safehold match`` and ``safehold triage``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from safehold.cli.common import acting, console, dump_json, err_console, service
from safehold.services.matching import match_all, match_case
from safehold.services.triage import TRIAGE_CLASSES, triage_case

__all__ = ["print_triage", "register"]

LABELS = {"known": "known (abuse lists, exact)", "near_known": "near-known (PDQ, vPDQ)", "watch": "watch lists",
          "unknown": "unknown images/videos (NEW)", "known_good": "known-good (hidden)"}


def print_triage(t: dict[str, Any], limit: int) -> None:
    console.print(f"[bold]Triage of case {t['case']['id']}: {t['case']['name']}[/bold]")
    table = Table("class", "contents", box=None)
    for c in TRIAGE_CLASSES:
        table.add_row(LABELS[c], str(t["counts"][c]))
    console.print(table)
    for set_name, cats in t["known_by_set"].items():
        console.print(f"  {set_name}: " + ", ".join(f"{k} × {v}" for k, v in sorted(cats.items())),
                      highlight=False)
    for cls, items in t["items"].items():
        if not items:
            continue
        console.print(f"\n[bold]{LABELS[cls]}[/bold]")
        for it in items[:limit]:
            extra = f" d={it['best_distance']}" if it["best_distance"] is not None else ""
            sets = ", ".join(sorted({m["set"] for m in it["matches"]}))
            console.print(f"  {it['sha256'][:16]}… {it['media_type'] or '-'}{extra} {sets}", highlight=False)
            for m in it["matches"]:
                if "detail" in m:
                    console.print(f"      {_video_match(m)}", highlight=False)
            if it.get("related_videos"):
                console.print(f"      shares footage with {len(it['related_videos'])} other stored video(s)",
                              highlight=False)
            for loc in it["locators"][:5]:
                console.print(f"      {loc['locator']}{' (deleted)' if loc['deleted'] else ''}", highlight=False)
        if len(items) > limit:
            console.print(f"  … {len(items) - limit} more (--json for all)")


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _video_match(m: dict[str, Any]) -> str:
    """One line per vPDQ match: which listed item, how much of each, and where."""
    d = m["detail"]
    if m["method"] == "vpdq-frame":
        times = ", ".join(_clock(t) for t in d["times"][:6])
        return f"{m['set']}: still of listed image {m.get('listed_name') or ''} at {times} (d={m['distance']})"
    ranges = "; ".join(f"{_clock(g['query_start'])}-{_clock(g['query_end'])} = "
                       f"{_clock(g['target_start'])}-{_clock(g['target_end'])}" for g in d["segments"][:4])
    return (f"{m['set']}: {d['query_share']:.0f}% of this video in listed {m.get('listed_name') or 'video'}, "
            f"{d['target_share']:.0f}% of it here; {ranges}")


def register(app: typer.Typer) -> None:
    @app.command("match")
    def match(
        ctx: typer.Context,
        case: Annotated[str | None, typer.Argument(help="Case id or name.")] = None,
        all_cases: Annotated[bool, typer.Option("--all", help="Re-check every case.")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Match a case's content against the hash sets (exact and PDQ)."""
        if (case is None) == (not all_cases):
            err_console.print("give a CASE or --all")
            raise typer.Exit(2)
        with service(ctx) as svc:
            authz = acting(ctx, svc)
            reports = match_all(svc, authz) if all_cases else [match_case(svc, authz, case or "")]
        if as_json:
            dump_json(reports)
            return
        for r in reports:
            console.print(f"case {r.case_id}: {r.exact_added} new exact matches, {r.pdq_added} PDQ matches "
                          f"({r.pdq_queries} PDQ queries incl. rotations/flips); {r.videos} videos: "
                          f"{r.video_matches} listed-video and {r.video_frame_matches} listed-image matches, "
                          f"{r.video_links} links to other stored videos")

    @app.command("triage")
    def triage(
        ctx: typer.Context,
        case: Annotated[str, typer.Argument(help="Case id or name.")],
        known_good: Annotated[bool, typer.Option("--known-good", help="Also list known-good content.")] = False,
        limit: Annotated[int, typer.Option(help="Items shown per class (text output).")] = 20,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Known, near-known, known-good and unknown (new) material, with locators."""
        with service(ctx) as svc:
            t = triage_case(svc, acting(ctx, svc), case, known_good)
        if as_json:
            dump_json(t)
        else:
            print_triage(t, limit)
