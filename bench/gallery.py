"""The review gallery at scale, over HTTP from a real server (uvicorn in this process).

Usage:
    .venv/bin/python bench/gallery.py                              # 1M items, SQLite and PostgreSQL
    .venv/bin/python bench/gallery.py --items 100000 --db sqlite   # a quick check

Queue pages: a case of ``--items`` synthetic items (``safehold.testing.gallery``; rows written
straight into the store) is browsed as an investigator would: the first page of *unknown*, a page
near the end, *all* sorted by size, *all* filtered by camera make, and *known*, ``--rounds`` times
each, the whole HTML page timed (queue page, tab counts, filter options, template); the deep page
is fetched by its cursor, as scrolling reaches it. The peer, on
the same case in the same run, is the live-table path Safehold uses while an ingest is still adding
files (the case marked *running*); then the case is marked done, the per-case listing is built as
the end of an ingest builds it (timed apart), and the first view (which counts the tabs once,
timed apart) and the rest use it.

Thumbnails (SQLite only): ``--photos`` generated 12-MP JPEGs are ingested; each gallery thumbnail is
fetched cold (read through its locator, verified, decoded at draft scale, three variants made and
cached) and again cached. The peer is Pillow alone on the same files: open, draft, orient, reduce,
one JPEG.

Targets (exit 0 when all are met): listing pages median <= 0.3 s and p95 <= 0.5 s; the listing
>= 3x faster than the live path (medians); a cold thumbnail >= 0.5x the Pillow peer's rate; a
cached one <= 10 ms. PostgreSQL runs in the schema ``safehold_bench_gallery``, dropped at the end.
Writes bench/out/gallery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from sqlalchemy import text, update  # noqa: E402

from bench._pg import reset_schema  # noqa: E402
from safehold.core.settings import Settings, WebSettings  # noqa: E402
from safehold.ingest.executor import InlineExecutor  # noqa: E402
from safehold.services.accounts import add_user, grant_case  # noqa: E402
from safehold.services.authz import Authz  # noqa: E402
from safehold.services.cases import create_case  # noqa: E402
from safehold.services.context import ServiceContext  # noqa: E402
from safehold.services.evidence import add_evidence  # noqa: E402
from safehold.services.files import iter_files  # noqa: E402
from safehold.services.gallery import ensure_gallery  # noqa: E402
from safehold.services.ingest import run_ingest  # noqa: E402
from safehold.services.queues import QueueFilter, queue_page  # noqa: E402
from safehold.store.models import EvidenceItem  # noqa: E402
from safehold.testing.gallery import KNOWN_EVERY, fill_gallery  # noqa: E402
from safehold.testing.images import synthetic_photo  # noqa: E402
from safehold.web.app import create_app  # noqa: E402

OPERATOR = Authz.local("bench")

PG_ADMIN = os.environ.get("SAFEHOLD_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "safehold_bench_gallery"
PASSWORD = "bench password, generated case"
TARGETS = {"page_median_s": 0.3, "page_p95_s": 0.5, "listing_vs_live": 3.0, "thumb_vs_pillow": 0.5,
           "cached_thumb_ms": 10.0}


def pg_url() -> str:
    return f"{PG_ADMIN}?options=-csearch_path%3D{PG_SCHEMA}"


def pg_reset(drop_only: bool = False) -> None:
    reset_schema(PG_ADMIN, PG_SCHEMA, drop_only)


@contextmanager
def server(settings: Settings, ctx: ServiceContext) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, ctx), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def sign_in(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=600)
    form = c.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    r = c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)})
    assert r.status_code in (200, 303), r.text
    return c


def set_state(ctx: ServiceContext, evidence_id: int, state: str) -> None:
    with ctx.db.session() as s:
        s.execute(update(EvidenceItem).where(EvidenceItem.id == evidence_id).values(ingest_state=state))


def page_urls(ctx: ServiceContext, case_id: int, items: int) -> dict[str, str]:
    """The pages timed; the deep one is reached as a reviewer scrolling there would, by the cursor
    of the page before it (found here, untimed)."""
    q = f"/cases/{case_id}/queues"
    deep = max(0, items - items // KNOWN_EVERY - 120) // 60 * 60  # a page near the end of *unknown*
    before = queue_page(ctx, Authz.local("bench"), case_id, "unknown", QueueFilter(), "path", deep - 60, 60)
    assert before.next_after is not None
    return {"unknown p1": f"{q}/unknown", "unknown deep": f"{q}/unknown/page?{urlencode({'after': before.next_after})}",
            "all by size": f"{q}/all?sort=-size", "all canon": f"{q}/all?make=canon&sort=date",
            "known p1": f"{q}/known"}


def time_pages(c: httpx.Client, urls: dict[str, str], rounds: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {k: [] for k in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            t = time.perf_counter()
            r = c.get(url)
            times[name].append(time.perf_counter() - t)
            assert r.status_code == 200 and 'data-sha="' in r.text, (url, r.status_code)
    every = sorted(x for v in times.values() for x in v)
    return {"median_s": statistics.median(every), "p95_s": every[max(0, int(0.95 * len(every)) - 1)],
            "per_page_median_s": {k: round(statistics.median(v), 4) for k, v in times.items()}}


def bench_pages(db: str, work: Path, items: int, rounds: int) -> dict[str, Any]:
    store = work / f"store-{db}"
    shutil.rmtree(store, ignore_errors=True)
    if db == "postgresql":
        pg_reset()
    settings = Settings(data_dir=store, database_url=pg_url() if db == "postgresql" else None, workers=1,
                        web=WebSettings(secure_cookies=False))
    ctx = ServiceContext.open(settings, actor="bench:gallery")
    (work / "empty").mkdir(exist_ok=True)
    case = create_case(ctx, OPERATOR, f"gallery {db}")
    ev = add_evidence(ctx, OPERATOR, case.id, work / "empty", "synthetic")
    t = time.perf_counter()
    fill_gallery(ctx, ev.id, items, chunk=20_000)
    fill_s = time.perf_counter() - t
    print(f"  [{db}] {items:,} items written in {fill_s:.0f} s", flush=True)
    add_user(ctx, Authz.local("bench"), "bench", "investigator", PASSWORD)
    grant_case(ctx, Authz.local("bench"), "bench", case.id)
    out: dict[str, Any] = {"db": db, "items": items, "fill_s": fill_s}
    set_state(ctx, ev.id, "running")  # no listing until the "ingest" ends
    if db == "postgresql":  # as autovacuum would have by now on a real ingest
        with ctx.db.session() as s:
            s.execute(text("ANALYZE"))
    urls = page_urls(ctx, case.id, items)
    with server(settings, ctx) as base:
        c = sign_in(base)
        out["live"] = time_pages(c, urls, rounds)
        print(f"  [{db}] live path: median {out['live']['median_s']:.3f} s", flush=True)
        set_state(ctx, ev.id, "done")
        t = time.perf_counter()
        ensure_gallery(ctx, case.id)  # what the gallery job after an ingest does
        out["listing_build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        c.get(urls["unknown p1"])
        out["first_view_after_ingest_s"] = time.perf_counter() - t  # the tab counts are made once
        out["listing"] = time_pages(c, urls, rounds)
        print(f"  [{db}] listing: median {out['listing']['median_s']:.3f} s", flush=True)
        c.close()
    ctx.db.dispose()
    shutil.rmtree(store, ignore_errors=True)
    return out


def pillow_thumb(path: Path, px: int) -> bytes:
    import io

    with Image.open(path) as im:
        im.draft("RGB", (px, px))
        img = ImageOps.exif_transpose(im).convert("RGB")
    img.thumbnail((px, px), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=82)
    return buf.getvalue()


def bench_thumbs(work: Path, photos: int) -> dict[str, Any]:
    evidence = work / "photos"
    shutil.rmtree(evidence, ignore_errors=True)
    evidence.mkdir(parents=True)
    for i in range(photos):
        synthetic_photo(i, (4000, 3000)).save(evidence / f"IMG_{i:04d}.jpg", "JPEG", quality=90)
    store = work / "store-thumbs"
    shutil.rmtree(store, ignore_errors=True)
    settings = Settings(data_dir=store, workers=1, web=WebSettings(secure_cookies=False))
    ctx = ServiceContext.open(settings, actor="bench:gallery")
    case = create_case(ctx, OPERATOR, "thumbs")
    add_evidence(ctx, OPERATOR, case.id, evidence, "photos")
    run_ingest(ctx, OPERATOR, case.id, executor=InlineExecutor(settings))
    add_user(ctx, Authz.local("bench"), "bench", "investigator", PASSWORD)
    grant_case(ctx, Authz.local("bench"), "bench", case.id)
    shas = [str(f["sha256"]) for f in iter_files(ctx, OPERATOR, case.id, media_type="image")]
    px = settings.web.thumb_px
    t = time.perf_counter()
    for p in sorted(evidence.iterdir()):
        pillow_thumb(p, px)
    peer_s = (time.perf_counter() - t) / photos
    with server(settings, ctx) as base:
        c = sign_in(base)
        cold: list[float] = []
        cached: list[float] = []
        for sha in shas:
            for bucket in (cold, cached):
                t = time.perf_counter()
                r = c.get(f"/cases/{case.id}/media/{sha}/thumb.jpg")
                bucket.append(time.perf_counter() - t)
                assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        c.close()
    ctx.db.dispose()
    shutil.rmtree(store, ignore_errors=True)
    return {"photos": photos, "pillow_s": peer_s, "cold_s": statistics.median(cold),
            "cached_s": statistics.median(cached)}


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    out = []
    for run in r["pages"]:
        db, lst, live = run["db"], run["listing"], run["live"]
        ratio = live["median_s"] / lst["median_s"]
        out += [(f"[{db}] listing page median", f"{lst['median_s']:.3f} s", f"<= {TARGETS['page_median_s']} s",
                 lst["median_s"] <= TARGETS["page_median_s"]),
                (f"[{db}] listing page p95", f"{lst['p95_s']:.3f} s", f"<= {TARGETS['page_p95_s']} s",
                 lst["p95_s"] <= TARGETS["page_p95_s"]),
                (f"[{db}] listing vs live path", f"{ratio:.1f}x", f">= {TARGETS['listing_vs_live']}x",
                 ratio >= TARGETS["listing_vs_live"])]
    if "thumbs" in r:
        t = r["thumbs"]
        ratio = t["pillow_s"] / t["cold_s"]
        out += [("cold thumbnail vs Pillow", f"{ratio:.2f}x ({t['cold_s'] * 1e3:.0f} ms)",
                 f">= {TARGETS['thumb_vs_pillow']}x", ratio >= TARGETS["thumb_vs_pillow"]),
                ("cached thumbnail", f"{t['cached_s'] * 1e3:.1f} ms", f"<= {TARGETS['cached_thumb_ms']} ms",
                 t["cached_s"] * 1e3 <= TARGETS["cached_thumb_ms"])]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--photos", type=int, default=40, help="12-MP JPEGs for the thumbnail phase (0: skip)")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    a = ap.parse_args(argv)
    work = a.work or Path(tempfile.mkdtemp(prefix="safehold-bench-gallery-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"load_avg_start": os.getloadavg(), "cpus": os.cpu_count(), "pages": []}
    try:
        for db in ("sqlite", "postgresql") if a.db == "both" else (a.db,):
            report["pages"].append(bench_pages(db, work, a.items, a.rounds))
        if a.photos:
            report["thumbs"] = bench_thumbs(work, a.photos)
    finally:
        if a.db != "sqlite":
            pg_reset(drop_only=True)
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report["load_avg_end"] = os.getloadavg()
    checks = verdicts(report)
    report["verdicts"] = [{"what": w, "got": g, "target": t, "pass": ok} for w, g, t, ok in checks]
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "gallery.json").write_text(json.dumps(report, indent=2))
    for run in report["pages"]:
        print(f"[{run['db']}] listing built at the end of ingest in {run['listing_build_s']:.1f} s; first view "
              f"{run['first_view_after_ingest_s']:.2f} s")
        for name, secs in run["listing"]["per_page_median_s"].items():
            print(f"  {name:<14} listing {secs:.3f} s   live {run['live']['per_page_median_s'][name]:.3f} s")
    for what, got, target, ok in checks:
        print(f"  {what:<34} {got:<22} {target:<10} {'PASS' if ok else 'FAIL'}")
    print(f"load average {report['load_avg_start'][0]:.2f} -> {report['load_avg_end'][0]:.2f}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
