"""NSRL-sized hash-list import and exact look-ups: Safehold against raw loaders, in one run.

Usage:
    .venv/bin/python bench/nsrl.py --rows 1_000_000 --queries 100_000 --db both
    .venv/bin/python bench/nsrl.py --rows 100_000_000 --dup 6 --db sqlite     # NSRL-like repetition
    # 100M entries, one database at a time (the list and a store do not fit beside each other):
    .venv/bin/python bench/nsrl.py --rows 100_000_000 --db sqlite --no-peers --drop-source-after-load

Generates an RDS v3-layout SQLite file (FILE/PKG/OS/VERSION, upper-case hex, random hashes made
with numpy; ``--dup N`` repeats each file's hashes N times on average, spread over the table, as
RDS v3 does once per product) plus three bad rows (a non-hex SHA-256, a short MD5, the empty
file). Then, per database:

* ``import``: ``safehold.services.hashsets.import_hashset`` (rows/s of the source, peak RSS of the
  process), with the bad rows reported by position and the indexes present afterwards;
* ``lookups``: a case with ``--queries`` contents (half of them planted from the list), matched by
  ``safehold.store.hashset_repo.exact_match`` (the SQL join matching uses); checks that matches equal
  3 x planted (MD5, SHA-1 and SHA-256 each match once per planted content);
* ``replace`` (with ``--replace``): the same list imported again as a new version (key diff, swap,
  purge of the old version by id ranges); the diff must be 0 added, 0 removed.

Peers in the same run: for the import, plain ``sqlite3`` executemany / psycopg COPY of the same
rows into an unindexed table (the raw limit), and the ``sqlite3`` CLI's ``.import`` of the rows as
CSV; for look-ups, a Python ``set`` of the list's SHA-256s queried with the same hashes (the lower
bound). PostgreSQL work happens in the schema ``safehold_bench_nsrl``, dropped at the end.
Writes ``--out`` (JSON) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pg import reset_schema  # noqa: E402

PG_ADMIN = os.environ.get("SAFEHOLD_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "safehold_bench_nsrl"
CHUNK = 500_000
BAD_ROWS = 3
SET_CACHE_MAX = 20_000_000  # distinct SHA-256s the Python-set peer may hold (~2.5 GB)
GEN_VERSION = 2

V3_SCHEMA = """
CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
 crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL, package_id INTEGER NOT NULL);
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE OS (operating_system_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
 manufacturer_id INTEGER NOT NULL);
CREATE TABLE PKG (package_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
 operating_system_id INTEGER NOT NULL, manufacturer_id INTEGER NOT NULL, language VARCHAR NOT NULL,
 application_type VARCHAR NOT NULL, PRIMARY KEY (package_id, operating_system_id, manufacturer_id,
 language, application_type));
CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL,
 build_date TIMESTAMP NOT NULL, release_date TIMESTAMP NOT NULL, description VARCHAR NOT NULL);
"""
# NIST's FILE also has a primary key over all seven columns (an index as big as the table);
# the importer reads FILE in rowid order and never uses it, so the bench file leaves it out.


# ---------------------------------------------------------------- data
def _splitmix(x: npt.NDArray[np.uint64], lane: int) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15) * np.uint64(lane + 1)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hex_digests(ids: npt.NDArray[np.uint64], nbytes: int, salt: int) -> list[str]:
    """Upper-case hex of ``nbytes`` pseudo-random bytes per id (the same id, the same digest)."""
    lanes = -(-nbytes // 8)
    words = np.empty((len(ids), lanes), dtype=">u8")
    for lane in range(lanes):
        words[:, lane] = _splitmix(ids, salt * 8 + lane)
    text = words.view(np.uint8).reshape(len(ids), lanes * 8)[:, :nbytes].tobytes().hex().upper()
    width = 2 * nbytes
    return [text[i:i + width] for i in range(0, len(text), width)]


def file_ids(start: int, stop: int, distinct: int, dup: float) -> npt.NDArray[np.uint64]:
    """Which distinct file each FILE row holds; with repetition, copies are spread far apart."""
    rows = np.arange(start, stop, dtype=np.uint64)
    if dup <= 1:
        return rows
    return (rows * np.uint64(2_654_435_761)) % np.uint64(distinct)  # a prime: every id, copies far apart


def generate(path: Path, rows: int, dup: float) -> dict[str, Any]:
    manifest = path.with_suffix(".json")
    distinct = rows if dup <= 1 else max(1, int(rows / dup))
    want = {"version": GEN_VERSION, "rows": rows, "dup": dup, "distinct": distinct}
    if path.exists() and manifest.exists() and json.loads(manifest.read_text()).get("params") == want:
        return json.loads(manifest.read_text())  # type: ignore[no-any-return]
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.executescript(V3_SCHEMA)
    packages = max(1, rows // 2000)
    con.execute("INSERT INTO MFG VALUES (1, 'Benign Software Co')")
    con.executemany("INSERT INTO OS VALUES (?, ?, '1.0', 1)", [(o, f"BenchOS {o}") for o in range(50)])
    con.executemany("INSERT INTO PKG VALUES (?, ?, ?, ?, 1, 'English', 'Utility')",
                    [(p, f"Benign Product {p}", f"{p % 20}.0", p % 50) for p in range(packages)])
    con.execute("INSERT INTO VERSION VALUES ('2026.03.1', 'modern minimal', '2026-03-01', '2026-03-15', 'bench')")
    rng = np.random.default_rng(7)
    names = np.array([f"file{i}.dll" for i in range(10_000)], dtype=object)
    for start in range(0, rows, CHUNK):
        stop = min(rows, start + CHUNK)
        ids = file_ids(start, stop, distinct, dup)
        n = len(ids)
        con.executemany("INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)", zip(
            hex_digests(ids, 32, 0), hex_digests(ids, 20, 1), hex_digests(ids, 16, 2), hex_digests(ids, 4, 3),
            names[ids % np.uint64(len(names))].tolist(), (ids % np.uint64(9_999_999) + np.uint64(1)).tolist(),
            rng.integers(0, packages, n).tolist(), strict=True))
    empty = ("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
             "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "D41D8CD98F00B204E9800998ECF8427E")
    bad = [("XYZ" + "0" * 61, "1" * 40, "2" * 32), ("3" * 64, "4" * 40, "5" * 31), empty]
    con.executemany("INSERT INTO FILE VALUES (?, ?, ?, '00000000', 'bad.bin', 1, 0)", bad)
    con.commit()
    con.close()
    info = {"params": want, "seconds": round(time.perf_counter() - t0, 1), "bytes": path.stat().st_size,
            "bad_positions": [f"row {rows + i}" for i in range(1, BAD_ROWS + 1)]}
    manifest.write_text(json.dumps(info))
    return info


def queries(distinct: int, count: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """(present ids, absent ids): half drawn from the list, half never in it."""
    rng = np.random.default_rng(11)
    half = min(count // 2, distinct)
    present = rng.choice(distinct, size=half, replace=False).astype(np.uint64)
    absent = np.arange(distinct + 1000, distinct + 1000 + (count - half), dtype=np.uint64)
    return present, absent


# ---------------------------------------------------------------- helpers
def pg_url() -> str:
    # client_connection_check_interval: a killed bench (disk guard, Ctrl-C) also stops its server work
    return f"{PG_ADMIN}?options=-csearch_path%3D{PG_SCHEMA}%20-cclient_connection_check_interval%3D5000"


def pg_reset(drop_only: bool = False) -> None:
    reset_schema(PG_ADMIN, PG_SCHEMA, drop_only)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def storage(engine: Any, rows: int) -> dict[str, Any]:
    """Bytes on disk of the hash-entry tables and their indexes, and per stored entry.

    SQLite: ``dbstat`` (pages of each b-tree, free space inside them included) and the file;
    PostgreSQL: ``pg_relation_size`` per table and index (TOAST and free-space maps included
    in the table figure through ``pg_total_relation_size`` minus its indexes)."""
    from sqlalchemy import text

    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            names = [r[0] for r in c.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename LIKE 'hash_e%'"))]
            parts: dict[str, int] = {}
            for table in names:
                total = int(c.execute(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"),
                                      {"t": table}).scalar())
                idx = dict(c.execute(text(
                    "SELECT indexname, pg_relation_size(CAST(indexname AS regclass)) FROM pg_indexes"
                    " WHERE tablename = :t AND schemaname = current_schema()"), {"t": table}).all())
                parts[table] = total - sum(int(v) for v in idx.values())
                parts.update({k: int(v) for k, v in idx.items()})
            file_bytes = None
        else:
            parts = {str(k): int(v) for k, v in c.execute(text(
                "SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE '%hash_e%' GROUP BY name"))}
            file_bytes = Path(str(engine.url.database)).stat().st_size
    total = sum(parts.values())
    return {"bytes": parts, "total_bytes": total, "bytes_per_row": round(total / max(rows, 1), 1),
            "file_bytes": file_bytes, "file_bytes_per_row": round(file_bytes / max(rows, 1), 1) if file_bytes else None}


def _source_rows(src: Path) -> Any:
    con = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    cur = con.execute("SELECT sha256, sha1, md5, file_name, file_size, package_id FROM FILE")
    while rows := cur.fetchmany(20_000):
        yield rows
    con.close()


# ---------------------------------------------------------------- per-database run (child process)
def run_db(db: str, src: Path, work: Path, distinct: int, nqueries: int, bad_positions: list[str],
           result: Any, opts: dict[str, Any]) -> None:
    from sqlalchemy import text

    from safehold.core.settings import Settings
    from safehold.services.authz import Authz
    from safehold.services.cases import create_case
    from safehold.services.context import ServiceContext
    from safehold.services.evidence import add_evidence
    from safehold.services.hashsets import import_hashset
    from safehold.store.hashset_repo import exact_match

    out: dict[str, Any] = {"db": db}
    store = work / f"store-{db}"
    shutil.rmtree(store, ignore_errors=True)
    if db == "postgresql":
        pg_reset()
    settings = Settings(data_dir=store, database_url=pg_url() if db == "postgresql" else None)
    ctx = ServiceContext.open(settings, actor="bench:nsrl")
    operator = Authz.local(ctx.actor)
    rss0 = peak_rss_mb()
    t_start, step = time.perf_counter(), [0]

    def progress(entries: int, bad: int) -> None:  # a line per ~5M rows: enough to extrapolate a killed run
        if opts["drop_source"] and entries >= distinct and bad >= BAD_ROWS and src.exists():
            src.unlink()  # every row read (the bad ones come last): its space back before the index builds
            print(f"  [{db}] source list removed after the load, {time.perf_counter() - t_start:.0f} s", flush=True)
        if entries // 5_000_000 > step[0]:
            step[0] = entries // 5_000_000
            print(f"  [{db}] {entries:,} entries stored after {time.perf_counter() - t_start:.0f} s", flush=True)

    secs, rep = timed(lambda: import_hashset(ctx, operator, src, "NSRL bench", "known-good", fmt="nsrl-rds3",
                                             on_progress=progress))
    print(f"  [{db}] import done in {secs:.0f} s", flush=True)
    source_rows = rep.entries + rep.duplicates + rep.bad_rows
    out["import"] = {
        "seconds": round(secs, 2), "source_rows": source_rows, "rows_per_s": round(source_rows / secs),
        "entries": rep.entries, "duplicates": rep.duplicates, "bad_rows": rep.bad_rows,
        "bad_positions_ok": [b["position"] for b in rep.bad_samples] == bad_positions,
        "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(rss0),
    }
    with ctx.db.engine.connect() as c:
        if db == "postgresql":
            names = {r[0] for r in c.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename='hash_entries' AND schemaname=current_schema()"))}
        else:
            names = {r[0] for r in c.execute(text(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='hash_entries'"))}
    out["import"]["indexes_ok"] = {"ix_hash_entries_md5", "ix_hash_entries_sha1", "ix_hash_entries_sha256",
                                   "ix_hash_entries_import"} <= names
    out["storage"] = storage(ctx.db.engine, rep.entries)
    print(f"  [{db}] storage: {out['storage']['bytes_per_row']} bytes per entry {out['storage']['bytes']}", flush=True)

    # the case: contents and files for the query hashes, bulk-inserted
    folder = work / "evidence"
    folder.mkdir(exist_ok=True)
    (folder / "placeholder.txt").write_text("bench")
    case = create_case(ctx, operator, "nsrl-bench")
    ev = add_evidence(ctx, operator, case.id, folder, "bench")
    present, absent = queries(distinct, nqueries)
    ids = np.concatenate([present, absent])
    s256 = [h.lower() for h in hex_digests(ids, 32, 0)]
    s1 = [h.lower() for h in hex_digests(ids, 20, 1)]
    m5 = [h.lower() for h in hex_digests(ids, 16, 2)]
    t0 = time.perf_counter()
    # sorted by SHA-256 (the contents key and, here, the files' locator hash): index appends, not random inserts
    contents = sorted(zip(s256, m5, s1, [100] * len(ids), strict=True))
    s256 = [c[0] for c in contents]
    files = [(ev.id, h, f'["bench",{i}]', f"bench/{i}", 1, f"f{i}", f"f{i}", 100, h, False, 0)
             for i, h in enumerate(s256)]
    with ctx.db.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        fcols = "evidence_id, locator_hash, locator, display, depth, name, path, size, sha256, deleted, batch_seq"
        if db == "postgresql":
            with cur.copy("COPY contents (sha256, md5, sha1, size) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for row in contents:
                    cp.write_row(row)
            with cur.copy(f"COPY files ({fcols}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for row in files:
                    cp.write_row(row)
            cur.execute("ANALYZE contents")
            cur.execute("ANALYZE files")
        else:
            cur.execute("PRAGMA cache_size = -524288")
            cur.executemany("INSERT INTO contents (sha256, md5, sha1, size) VALUES (?, ?, ?, ?)", contents)
            cur.executemany(f"INSERT INTO files ({fcols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", files)
            cur.execute("ANALYZE")
            cur.execute("PRAGMA cache_size = -2000")
        cur.close()
    out["case_setup_seconds"] = round(time.perf_counter() - t0, 1)
    del contents, files

    def match() -> int:
        with ctx.db.session() as s:
            return exact_match(s, case.id)

    print(f"  [{db}] case of {len(ids):,} contents set up in {out['case_setup_seconds']} s; matching", flush=True)
    secs, matched = timed(match)
    out["lookups"] = {"queries": len(ids), "planted": len(present), "seconds": round(secs, 2),
                      "lookups_per_s": round(len(ids) / secs), "matches": matched,
                      "matches_ok": matched == 3 * len(present)}

    if opts["replace"]:  # the same list again as a new version: diff, swap, purge of the old version
        secs, rep2 = timed(lambda: import_hashset(ctx, operator, src, "NSRL bench", "known-good", fmt="nsrl-rds3"))
        out["replace"] = {"seconds": round(secs, 2), "rows_per_s": round(source_rows / secs),
                          "added": rep2.added, "removed": rep2.removed,
                          "diff_ok": (rep2.added, rep2.removed) == (0, 0)}
        print(f"  [{db}] replace done in {secs:.0f} s", flush=True)

    # raw-limit peer: the same rows into an unindexed table, no checks
    if opts["no_peers"]:
        pass
    elif db == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN.replace("+psycopg", "")) as pg:
            pg.execute(f'CREATE TABLE "{PG_SCHEMA}".raw_file (sha256 text, sha1 text, md5 text, '
                       "file_name text, file_size bigint, package_id int)")
            t0 = time.perf_counter()
            with pg.cursor() as cur, cur.copy(f'COPY "{PG_SCHEMA}".raw_file FROM STDIN') as cp:
                for rows in _source_rows(src):
                    for row in rows:
                        cp.write_row(row)
            pg.commit()
            secs = time.perf_counter() - t0
            pg.execute(f'DROP TABLE "{PG_SCHEMA}".raw_file')
        out["peer_raw"] = {"name": "psycopg COPY, unindexed", "seconds": round(secs, 2),
                           "rows_per_s": round(source_rows / secs)}
    else:
        rawdb = work / "raw-peer.db"
        rawdb.unlink(missing_ok=True)
        con = sqlite3.connect(rawdb)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE raw_file (sha256, sha1, md5, file_name, file_size, package_id)")
        t0 = time.perf_counter()
        for rows in _source_rows(src):
            con.executemany("INSERT INTO raw_file VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.commit()
        secs = time.perf_counter() - t0
        con.close()
        rawdb.unlink()
        out["peer_raw"] = {"name": "sqlite3 executemany, unindexed", "seconds": round(secs, 2),
                           "rows_per_s": round(source_rows / secs)}
    ctx.db.dispose()
    if not opts["keep_store"]:
        shutil.rmtree(store, ignore_errors=True)
    result.put(out)


def csv_import_peer(src: Path, work: Path, rows: int) -> dict[str, Any] | None:
    cli = shutil.which("sqlite3")
    if cli is None:
        return None
    csv_path, target = work / "file.csv", work / "csv-peer.db"
    target.unlink(missing_ok=True)
    export = f".mode csv\n.output {csv_path}\nSELECT sha256, sha1, md5, file_name, file_size, package_id FROM FILE;\n"
    subprocess.run([cli, f"file:{src}?mode=ro&immutable=1"], input=export, text=True, check=True)
    script = ("PRAGMA journal_mode=WAL;\nCREATE TABLE raw_file (sha256, sha1, md5, file_name, file_size, package_id);\n"
              f".import --csv {csv_path} raw_file\n")
    t0 = time.perf_counter()
    subprocess.run([cli, str(target)], input=script, text=True, check=True, capture_output=True)
    secs = time.perf_counter() - t0
    csv_path.unlink()
    target.unlink()
    return {"name": "sqlite3 CLI .import CSV, unindexed", "seconds": round(secs, 2), "rows_per_s": round(rows / secs)}


def set_peer(src: Path, distinct: int, nqueries: int) -> dict[str, Any] | None:
    if distinct > SET_CACHE_MAX:
        return None
    known: set[str] = set()
    for rows in _source_rows(src):
        known.update(r[0].lower() for r in rows)
    present, absent = queries(distinct, nqueries)
    ids = np.concatenate([present, absent])
    q = [h.lower() for h in hex_digests(ids, 32, 0)]
    secs, hits = timed(lambda: sum(1 for h in q if h in known))
    return {"name": "Python set of SHA-256s", "seconds": round(secs, 3), "lookups_per_s": round(len(q) / secs),
            "hits": hits, "hits_ok": hits == len(present)}


# ---------------------------------------------------------------- main
def watch_child(proc: Any, work: Path, min_free_gb: float, every: float = 10.0) -> dict[str, Any]:
    """Wait for ``proc``, sampling the load average and the free disk space; stop it (and so its
    PostgreSQL session) if free space falls under ``min_free_gb``, since the disk is shared."""
    loads: list[float] = []
    free_min = float("inf")
    stopped = False
    while proc.is_alive():
        proc.join(every)
        loads.append(os.getloadavg()[0])
        free = shutil.disk_usage(work).free / 1e9
        free_min = min(free_min, free)
        if free < min_free_gb and proc.is_alive():
            print(f"  only {free:.1f} GB free (< {min_free_gb} GB): stopping this run", flush=True)
            proc.terminate()
            proc.join()
            stopped = True
    return {"load_1min_mean": round(sum(loads) / len(loads), 2) if loads else None,
            "load_1min_max": round(max(loads), 2) if loads else None,
            "disk_free_min_gb": round(free_min, 1), "stopped_for_disk": stopped}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=lambda v: int(v.replace("_", "")), default=100_000_000)
    ap.add_argument("--queries", type=lambda v: int(v.replace("_", "")), default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--dup", type=float, default=1.0, help="average copies of each file's hashes (RDS v3: ~6)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/safehold-nsrl"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "nsrl.json")
    ap.add_argument("--no-peers", action="store_true", help="skip the peer runs")
    ap.add_argument("--keep", action="store_true", help="keep the generated list in --work")
    ap.add_argument("--replace", action="store_true", help="also time importing the list again as a new version")
    ap.add_argument("--keep-store", action="store_true",
                    help="leave the store (SQLite file, PostgreSQL schema) for inspection; the next run drops it")
    ap.add_argument("--drop-source-after-load", action="store_true",
                    help="delete the generated list as soon as the import has read it (one --db, --no-peers, no "
                         "--replace): at 100M rows the list (~18 GB) and the store do not fit beside each other "
                         "on a shared disk")
    ap.add_argument("--min-free-gb", type=float, default=15.0,
                    help="stop a database's run when the disk holding --work has less free space than this")
    args = ap.parse_args()
    if args.drop_source_after_load and (args.db == "both" or not args.no_peers or args.replace or args.keep):
        ap.error("--drop-source-after-load needs one --db, --no-peers, and neither --replace nor --keep")
    args.work.mkdir(parents=True, exist_ok=True)
    src = args.work / f"rds_{args.rows}_{args.dup:g}.db"
    print(f"generating {args.rows:,} FILE rows (dup {args.dup:g}) in {src} ...", flush=True)
    gen = generate(src, args.rows, args.dup)
    distinct = gen["params"]["distinct"]
    print(f"  {gen['bytes'] / 1e9:.2f} GB, {gen['seconds']} s", flush=True)
    report: dict[str, Any] = {"rows": args.rows, "dup": args.dup, "distinct": distinct, "queries": args.queries,
                              "generate": gen, "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "runs": []}
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    ctx = mp.get_context("spawn")
    failed = False
    for db in dbs:
        print(f"[{db}] import + look-ups ...", flush=True)
        q: Any = ctx.Queue()
        opts = {"replace": args.replace, "no_peers": args.no_peers, "keep_store": args.keep_store,
                "drop_source": args.drop_source_after_load}
        proc = ctx.Process(target=run_db, args=(db, src, args.work, distinct, args.queries, gen["bad_positions"], q,
                                                   opts))
        proc.start()
        watch = watch_child(proc, args.work, args.min_free_gb)
        if proc.exitcode != 0:
            print(f"[{db}] failed with exit code {proc.exitcode}: {watch}", flush=True)
            failed = True
            if not args.keep_store:
                shutil.rmtree(args.work / f"store-{db}", ignore_errors=True)
                (args.work / "raw-peer.db").unlink(missing_ok=True)
            continue
        out = q.get()
        out["machine"] = watch
        report["runs"].append(out)
        print(json.dumps(out), flush=True)
    if "postgresql" in dbs and not args.keep_store:
        pg_reset(drop_only=True)
    if not args.no_peers:
        if "sqlite" in dbs:
            report["peer_csv"] = csv_import_peer(src, args.work, args.rows + BAD_ROWS)
        report["peer_set"] = set_peer(src, distinct, args.queries)
    report["load_avg_end"] = os.getloadavg()
    if not args.keep:
        src.unlink(missing_ok=True)
        src.with_suffix(".json").unlink(missing_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_table(report)
    ok = all(r["import"]["bad_positions_ok"] and r["import"]["indexes_ok"] and r["lookups"]["matches_ok"]
             and r.get("replace", {}).get("diff_ok", True) for r in report["runs"])
    return 0 if ok and not failed else 1


def print_table(report: dict[str, Any]) -> None:
    print(f"\nNSRL bench: {report['rows']:,} FILE rows, {report['distinct']:,} distinct, "
          f"{report['queries']:,} queries, {report['cpus']} CPUs, load {report['load_avg'][0]:.1f}")
    print(f"{'what':52} {'seconds':>9} {'rate/s':>12} {'ratio':>7}  notes")
    csv_peer = report.get("peer_csv")
    set_p = report.get("peer_set")
    for r in report["runs"]:
        imp, lk, raw = r["import"], r["lookups"], r.get("peer_raw")
        if r.get("machine"):
            m = r["machine"]
            print(f"[{r['db']}] 1-min load average during the run: mean {m['load_1min_mean']}, "
                  f"max {m['load_1min_max']}; "
                  f"least free disk {m['disk_free_min_gb']} GB")
        print(f"{'import_hashset [' + r['db'] + ']':52} {imp['seconds']:9.1f} {imp['rows_per_s']:12,} {'1.00':>7}  "
              f"{imp['entries']:,} entries, {imp['duplicates']:,} dups, {imp['bad_rows']} bad, "
              f"RSS {imp['peak_rss_mb']} MB, indexes {'ok' if imp['indexes_ok'] else 'MISSING'}")
        if r.get("storage"):
            st = r["storage"]
            print(f"{'  storage [' + r['db'] + ']':52} {st['total_bytes'] / 1e9:8.2f}G {st['bytes_per_row']:12,} "
                  f"{'':>7}  bytes per entry, hash tables and their indexes")
        if r.get("replace"):
            rp = r["replace"]
            print(f"{'  replace (same list again) [' + r['db'] + ']':52} {rp['seconds']:9.1f} {rp['rows_per_s']:12,} "
                  f"{rp['seconds'] / imp['seconds']:7.2f}  added {rp['added']}, removed {rp['removed']} "
                  f"({'ok' if rp['diff_ok'] else 'WRONG'}); ratio to the first import")
        if raw:
            print(f"{'  peer: ' + raw['name']:52} {raw['seconds']:9.1f} {raw['rows_per_s']:12,} "
                  f"{imp['seconds'] / raw['seconds']:7.2f}  (Safehold time / peer time)")
        if csv_peer and r["db"] == "sqlite":
            print(f"{'  peer: ' + csv_peer['name']:52} {csv_peer['seconds']:9.1f} {csv_peer['rows_per_s']:12,} "
                  f"{imp['seconds'] / csv_peer['seconds']:7.2f}")
        print(f"{'exact_match [' + r['db'] + ']':52} {lk['seconds']:9.1f} {lk['lookups_per_s']:12,} {'1.00':>7}  "
              f"{lk['matches']:,} matches for {lk['planted']:,} planted ({'ok' if lk['matches_ok'] else 'WRONG'})")
        if set_p:
            print(f"{'  peer: ' + set_p['name']:52} {set_p['seconds']:9.3f} {set_p['lookups_per_s']:12,} "
                  f"{lk['seconds'] / set_p['seconds']:7.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
