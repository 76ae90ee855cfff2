"""PDQ range search at scale: Safehold's PdqIndex against python-threatexchange's PDQIndex, same data, one run.

Usage:
    .venv/bin/python bench/match.py                                  # 10M hashes, 1M queries
    .venv/bin/python bench/match.py --n 1_000_000 --queries 100_000  # a quick check
    .venv/bin/python bench/match.py --skip-pytx --threads 1

Data are random 256-bit hashes (numpy). Queries: ``--planted`` of them are copies of indexed hashes with
exactly d distinct bits flipped, d = 0..31 in equal shares; the rest are random (non-matches). Phases:
build (time, peak RSS), save, load in a fresh process (time, peak RSS: the index's real footprint), bulk
query throughput, recall against exact brute force (FAISS ``IndexBinaryFlat`` range search on a sample of
queries) overall and per distance band, then python-threatexchange's ``PDQIndex`` (``IndexBinaryMultiHash``,
what HMA uses) on the same hashes and queries through its bulk path, timed in rounds alternating with
Safehold's so that both meet the same load on a shared machine (wall and CPU-time ratios are both
reported; the verdict uses wall time). Exit status 0: every target met.

Exact (MD5/SHA-1/SHA-256 table) look-ups are not measured here: see bench/nsrl.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from numpy.typing import NDArray

from safehold.match.pdq_index import PdqIndex

MB = 2**20
BANDS = ((0, 7), (8, 15), (16, 23), (24, 27), (28, 31))
TARGETS = {"recall": 0.99, "recall_28_31": 0.97, "speedup_vs_pytx": 10.0, "load_s": 10.0, "load_rss_mb": 2048}
Hashes = NDArray[np.uint8]


# ---------------------------------------------------------------- data


def flip_bits(rng: np.random.Generator, h: Hashes, distances: NDArray[np.int64]) -> Hashes:
    """Each row of ``h`` with exactly ``distances[i]`` distinct bits flipped (in blocks, bounded memory)."""
    out = np.empty_like(h)
    for s in range(0, len(h), 65_536):
        bits = np.unpackbits(h[s : s + 65_536], axis=1)
        order = np.argsort(rng.random(bits.shape, dtype=np.float32), axis=1)
        flip = np.arange(256)[None, :] < distances[s : s + 65_536, None]
        rows = np.broadcast_to(np.arange(len(bits))[:, None], bits.shape)
        bits[rows[flip], order[flip]] ^= 1
        out[s : s + 65_536] = np.packbits(bits, axis=1)
    return out


def make_data(n: int, queries: int, planted: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    db = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    ids = np.arange(n, dtype=np.int64) + 1_000_000  # ids are not row numbers
    p = int(queries * planted)
    dist = np.arange(p, dtype=np.int64) % 32  # every distance 0..31, equal shares
    src = rng.integers(0, n, size=p)
    q = np.concatenate([flip_bits(rng, db[src], dist), rng.integers(0, 256, size=(queries - p, 32), dtype=np.uint8)])
    order = rng.permutation(queries)  # planted and random queries interleaved
    src_all = np.concatenate([src, np.full(queries - p, -1)])[order]
    dist_all = np.concatenate([dist, np.full(queries - p, -1)])[order]
    return {"db": db, "ids": ids, "queries": q[order], "src": src_all, "dist": dist_all}


# ---------------------------------------------------------------- measuring


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Samples this process's RSS every 20 ms; yields a dict filled with base and peak (MB) on exit."""
    proc, out, stop = psutil.Process(), {"base_mb": 0.0, "peak_mb": 0.0}, threading.Event()
    out["base_mb"] = out["peak_mb"] = proc.memory_info().rss / MB

    def sample() -> None:
        while not stop.wait(0.02):
            out["peak_mb"] = max(out["peak_mb"], proc.memory_info().rss / MB)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join()
        out["peak_mb"] = max(out["peak_mb"], proc.memory_info().rss / MB)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t


def run_queries(index: PdqIndex, q: Hashes, radius: int, threads: int) -> tuple[NDArray[np.int64], ...]:
    """All hits as (query, id, distance) arrays, through the streaming API."""
    qs, ids, ds = [], [], []
    for m in index.query_many(q, radius, threads=threads):
        qs.append(m.query)
        ids.append(m.ids)
        ds.append(m.distances.astype(np.int64))
    return np.concatenate(qs), np.concatenate(ids), np.concatenate(ds)


def load_in_child(directory: Path, threads: int) -> dict[str, Any]:
    """Loads the saved index in a fresh interpreter: load time and the footprint, free of this process."""
    cmd = [sys.executable, __file__, "--child-load", str(directory), "--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def _proc_status_mb(field: str) -> float:
    """VmHWM/VmRSS from /proc: unlike ru_maxrss, the high-water mark starts afresh at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_load(directory: Path, threads: int) -> None:
    base = _proc_status_mb("VmRSS")
    index, load_s = timed(lambda: PdqIndex.load(directory, threads=threads))
    print(json.dumps({"load_s": load_s, "peak_rss_mb": _proc_status_mb("VmHWM"), "interpreter_rss_mb": base,
                      "rss_mb": _proc_status_mb("VmRSS"), "live": len(index)}))


# ---------------------------------------------------------------- recall


def brute_force(db: Hashes, ids: NDArray[np.int64], q: Hashes, radius: int) -> tuple[NDArray[np.int64], ...]:
    """Exact ground truth: FAISS IndexBinaryFlat range search (strictly below its threshold, hence +1)."""
    import faiss

    flat = faiss.IndexBinaryFlat(256)
    flat.add(db)
    lims, dist, rows = flat.range_search(q, radius + 1)
    qi = np.repeat(np.arange(len(q), dtype=np.int64), np.diff(lims.astype(np.int64)))
    return qi, ids[rows], dist.astype(np.int64)


def recall_report(got: tuple[NDArray[np.int64], ...], truth: tuple[NDArray[np.int64], ...]) -> dict[str, Any]:
    """Recall overall and per distance band; extra hits and distance disagreements must be zero."""
    gq, gi, gd = got
    tq, ti, td = truth
    gkey = gq * 2**40 + gi
    tkey = tq * 2**40 + ti
    found = np.isin(tkey, gkey)
    # hits not in the truth, and hits whose distance differs from the truth's
    extra = int(np.count_nonzero(~np.isin(gkey, tkey)))
    order_g, order_t = np.argsort(gkey), np.argsort(tkey)
    common_g = np.isin(gkey[order_g], tkey)
    common_t = np.isin(tkey[order_t], gkey)
    wrong_d = int(np.count_nonzero(gd[order_g][common_g] != td[order_t][common_t]))
    out: dict[str, Any] = {"truth_pairs": len(tkey), "recall": float(found.mean()) if len(found) else 1.0,
                           "extra_hits": extra, "wrong_distances": wrong_d, "bands": {}}
    for lo, hi in BANDS:
        sel = (td >= lo) & (td <= hi)
        band = float(found[sel].mean()) if sel.any() else None
        out["bands"][f"{lo}-{hi}"] = {"pairs": int(sel.sum()), "recall": band}
    return out


def planted_recall(got: tuple[NDArray[np.int64], ...], data: dict[str, Any]) -> dict[str, Any]:
    """Over every planted query: was its source found, at exactly the planted distance?"""
    gq, gi, gd = got
    planted = np.flatnonzero(data["src"] >= 0)
    want = planted * 2**40 + data["ids"][data["src"][planted]]
    hit = np.isin(want, gq * 2**40 + gi)
    by_d = {int(d): float(hit[data["dist"][planted] == d].mean()) for d in range(32)}
    exact_d = np.isin(want * 64 + data["dist"][planted], (gq * 2**40 + gi) * 64 + gd)
    return {"planted": len(planted), "recall": float(hit.mean()), "distance_exact": float(exact_d.mean()),
            "worst_distance_recall": min(by_d.values())}


# ---------------------------------------------------------------- python-threatexchange


def bench_pytx(data: dict[str, Any], ours: PdqIndex, a: argparse.Namespace) -> dict[str, Any]:
    """pytx's PDQIndex (IndexBinaryIDMap2 over IndexBinaryMultiHash(256, 16, 16), nflip = radius // 16).
    Its public ``query`` takes one hash; the fair bulk path is the wrapped index's
    ``search_with_distance_in_result``, one FAISS range_search per 1,000 queries (OpenMP threads over
    queries). The machine is shared, so the two are timed in alternating rounds (pytx on its queries,
    then Safehold on 10x as many from the same mix) and the medians compared."""
    import faiss
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    n = a.pytx_n or a.n
    h = data["db"][:n].tobytes().hex()
    hexes = [h[i : i + 64] for i in range(0, len(h), 64)]
    del h
    with peak_rss() as mem:
        t0 = time.perf_counter()
        index = PDQIndex(zip(hexes, data["ids"][:n].tolist(), strict=True))
        build_s = time.perf_counter() - t0
    del hexes
    rng = np.random.default_rng(a.seed + 1)
    mine = rng.choice(len(data["queries"]), size=min(10 * a.pytx_queries, len(data["queries"])), replace=False)
    pick = mine[: a.pytx_queries]
    qhex = [row.tobytes().hex() for row in data["queries"][pick]]
    hits: list[tuple[int, int, int]] = []

    def run_pytx() -> None:
        hits.clear()
        for s in range(0, len(qhex), 1000):
            res = index.index.search_with_distance_in_result(qhex[s : s + 1000], a.radius)
            for k, qh in enumerate(qhex[s : s + 1000]):
                hits.extend((s + k, int(i), int(d)) for i, _, d in res[qh])

    rounds: dict[str, list[tuple[float, float]]] = {"pytx": [], "safehold": []}
    loads = [os.getloadavg()[0]]
    for _ in range(a.rounds):
        for name, fn, count in (("pytx", run_pytx, len(pick)),
                                ("safehold", lambda: run_queries(ours, data["queries"][mine], a.radius, a.threads),
                                 len(mine))):
            cpu = time.process_time()
            _, wall = timed(fn)
            rounds[name].append((count / wall, count / (time.process_time() - cpu)))
        loads.append(os.getloadavg()[0])
    few = qhex[: min(300, len(qhex))]
    _, single_s = timed(lambda: [index.query(x) for x in few])
    med = {k: [float(np.median([r[i] for r in v])) for i in (0, 1)] for k, v in rounds.items()}
    return {"n": n, "build_s": build_s, "build_peak_mb": mem["peak_mb"] - mem["base_mb"], "queries": len(pick),
            "rounds": rounds, "bulk_qps": med["pytx"][0], "bulk_q_per_cpu_s": med["pytx"][1],
            "safehold_qps": med["safehold"][0], "safehold_q_per_cpu_s": med["safehold"][1],
            "speedup": med["safehold"][0] / med["pytx"][0], "speedup_cpu": med["safehold"][1] / med["pytx"][1],
            "single_qps": len(few) / single_s, "loadavg": loads, "faiss_threads": faiss.omp_get_max_threads(),
            "pick": pick, "hits": hits}


# ---------------------------------------------------------------- report


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    rec, load = r["recall"], r["load"]
    rows: list[tuple[str, str, str, bool | None]] = [
        ("recall vs brute force", f"{rec['recall']:.4f}", f">= {TARGETS['recall']}",
         rec["recall"] >= TARGETS["recall"]),
        ("recall at 28-31", f"{rec['bands']['28-31']['recall']:.4f}", f">= {TARGETS['recall_28_31']}",
         rec["bands"]["28-31"]["recall"] >= TARGETS["recall_28_31"]),
        ("extra hits / wrong distances", f"{rec['extra_hits']} / {rec['wrong_distances']}", "0 / 0",
         rec["extra_hits"] == 0 and rec["wrong_distances"] == 0),
        ("load time (fresh process)", f"{load['load_s']:.2f} s", f"<= {TARGETS['load_s']} s",
         load["load_s"] <= TARGETS["load_s"]),
        ("loaded peak RSS", f"{load['peak_rss_mb']:.0f} MB", f"<= {TARGETS['load_rss_mb']} MB",
         load["peak_rss_mb"] <= TARGETS["load_rss_mb"]),
    ]
    if "pytx" in r:
        speedup = r["pytx"]["speedup"]
        rows.append(("throughput vs pytx bulk", f"{speedup:.1f}x", f">= {TARGETS['speedup_vs_pytx']}x",
                     speedup >= TARGETS["speedup_vs_pytx"]))
    return rows


def print_report(r: dict[str, Any]) -> None:
    a, b, q, ld = r["args"], r["build"], r["query"], r["load"]
    print(f"\nPDQ range search, radius {a['radius']}: {a['n']:,} hashes, {a['queries']:,} queries "
          f"({r['planted']['planted']:,} planted at 0-31), {a['threads']} threads, load avg {r['loadavg']}")
    print(f"  build      {b['seconds']:8.1f} s   peak RSS +{b['peak_mb'] - b['base_mb']:.0f} MB, "
          f"index arrays {b['index_mb']:.0f} MB")
    print(f"  save       {r['save_s']:8.1f} s   {r['disk_mb']:.0f} MB on disk")
    print(f"  load       {ld['load_s']:8.2f} s   fresh process peak RSS {ld['peak_rss_mb']:.0f} MB "
          f"(interpreter and imports {ld['interpreter_rss_mb']:.0f} MB)")
    print(f"  query      {q['qps']:8.0f} q/s ({q['seconds']:.1f} s, {q['hits']:,} hits); 1 thread "
          f"{q['qps_1thread']:.0f} q/s; {a['queries'] / q['cpu_s']:.0f} q per CPU-second; load avg "
          f"{q['loadavg'][0]:.1f} -> {q['loadavg'][1]:.1f}")
    print(f"  planted    recall {r['planted']['recall']:.4f} over every planted query, exact distance "
          f"{r['planted']['distance_exact']:.4f}")
    rc = r["recall"]
    bands = "  ".join(f"{k}: {v['recall']:.4f}" for k, v in rc["bands"].items())
    print(f"  brute      {rc['sample']:,} queries, {rc['truth_pairs']:,} true pairs, FAISS IndexBinaryFlat "
          f"{rc['flat_qps']:.0f} q/s; recall {rc['recall']:.4f}  ({bands})")
    if "pytx" in r:
        p = r["pytx"]
        print(f"  pytx       PDQIndex over {p['n']:,} hashes: build {p['build_s']:.1f} s "
              f"(+{p['build_peak_mb']:.0f} MB); query() one at a time {p['single_qps']:.0f} q/s; answers agree "
              f"with Safehold's: {p['agrees']}")
        print(f"  vs pytx    {len(p['rounds']['pytx'])} alternating rounds, medians: pytx bulk {p['bulk_qps']:.0f} q/s "
              f"({p['bulk_q_per_cpu_s']:.0f} q per CPU-second, {p['faiss_threads']} OpenMP threads), Safehold "
              f"{p['safehold_qps']:.0f} q/s ({p['safehold_q_per_cpu_s']:.0f}); {p['speedup']:.1f}x wall, "
              f"{p['speedup_cpu']:.1f}x CPU; load avg {' -> '.join(f'{x:.1f}' for x in p['loadavg'])}")
    print("\n  target                         measured        goal        verdict")
    for name, got, goal, ok in verdicts(r):
        print(f"  {name:<30} {got:<15} {goal:<11} {'-' if ok is None else ('PASS' if ok else 'FAIL')}")
    print("\n  Exact hash look-ups (NSRL-style tables) are benchmarked in bench/nsrl.py.")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000, help="indexed hashes")
    ap.add_argument("--queries", type=int, default=1_000_000)
    ap.add_argument("--planted", type=float, default=0.5, help="share of queries planted near an indexed hash")
    ap.add_argument("--radius", type=int, default=31)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--recall-sample", type=int, default=20_000, help="queries checked against brute force")
    ap.add_argument("--skip-pytx", action="store_true")
    ap.add_argument("--pytx-n", type=int, default=0, help="hashes pytx indexes (default: all --n)")
    ap.add_argument("--pytx-queries", type=int, default=2_000, help="per round; Safehold gets 10x as many")
    ap.add_argument("--rounds", type=int, default=3, help="alternating pytx/Safehold timing rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None, help="where the index is saved (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=Path("bench/out/match.json"))
    ap.add_argument("--child-load", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child_load:
        child_load(a.child_load, a.threads)
        return 0

    r: dict[str, Any] = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()},
                         "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    data, gen_s = timed(lambda: make_data(a.n, a.queries, a.planted, a.seed))
    print(f"data: {a.n:,} hashes, {a.queries:,} queries in {gen_s:.1f} s", flush=True)

    index = PdqIndex(threads=a.threads)
    with peak_rss() as mem:
        t0 = time.perf_counter()
        index.add(data["ids"], data["db"])
        index.build()
        build_s = time.perf_counter() - t0
    r["build"] = {"seconds": build_s, **mem, "index_mb": index.nbytes / MB}
    print(f"build: {build_s:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="safehold-match-") as tmp:
        work = a.work or Path(tmp) / "index"
        _, r["save_s"] = timed(lambda: index.save(work))
        r["disk_mb"] = sum(p.stat().st_size for p in work.iterdir()) / MB
        r["load"] = load_in_child(work, a.threads)
    print(f"save/load: {r['save_s']:.1f} s / {r['load']['load_s']:.2f} s", flush=True)

    load_before, cpu = os.getloadavg()[0], time.process_time()
    got, q_s = timed(lambda: run_queries(index, data["queries"], a.radius, a.threads))
    cpu = time.process_time() - cpu
    one = data["queries"][: max(1, min(len(data["queries"]), 20_000))]
    _, one_s = timed(lambda: run_queries(index, one, a.radius, 1))
    r["query"] = {"seconds": q_s, "qps": a.queries / q_s, "hits": len(got[0]), "qps_1thread": len(one) / one_s,
                  "cpu_s": cpu, "loadavg": [load_before, os.getloadavg()[0]]}
    print(f"query: {r['query']['qps']:.0f} q/s", flush=True)
    r["planted"] = planted_recall(got, data)

    rng = np.random.default_rng(a.seed + 2)
    sample = np.sort(rng.choice(a.queries, size=min(a.recall_sample, a.queries), replace=False))
    truth, flat_s = timed(lambda: brute_force(data["db"], data["ids"], data["queries"][sample], a.radius))
    in_sample = np.isin(got[0], sample)
    remap = np.searchsorted(sample, got[0][in_sample])
    r["recall"] = {"sample": len(sample), "flat_qps": len(sample) / flat_s,
                   **recall_report((remap, got[1][in_sample], got[2][in_sample]), truth)}
    print(f"recall: {r['recall']['recall']:.4f}", flush=True)

    if not a.skip_pytx:
        p = bench_pytx(data, index, a)
        pick = p.pop("pick")
        hits = p.pop("hits")
        if p["n"] == a.n:  # same hashes indexed: pytx's answers must equal ours on its queries
            picked = np.isin(got[0], pick)
            mine = set(zip(*(x[picked].tolist() for x in got), strict=True))
            row_ids = data["ids"]  # pytx reports its own row numbers
            p["agrees"] = mine == {(int(pick[k]), int(row_ids[i]), d) for k, i, d in hits}
        else:
            p["agrees"] = "n/a (subset)"
        r["pytx"] = p

    print_report(r)
    r["verdicts"] = [{"target": n, "measured": g, "goal": goal, "pass": ok} for n, g, goal, ok in verdicts(r)]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(r, indent=1, default=float))
    return 0 if all(ok is not False for *_, ok in verdicts(r)) else 1


if __name__ == "__main__":
    sys.exit(main())
