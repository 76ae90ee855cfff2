"""Ingest throughput and memory: Safehold against its peers, measured on the same files in one run.

Usage:
    .venv/bin/python bench/ingest.py              # full size: 2 GB, 2,000 + 2,000 JPEGs, 1M small files
    .venv/bin/python bench/ingest.py --scale 0.02 --small-files 2000   # a quick check
    .venv/bin/python bench/ingest.py --skip small,jpeg2 --workers 4 --cache warm

Phases: ``startup`` (one tiny file: Safehold's fixed cost), ``large`` (8 big random files), ``jpeg12``
(12-MP JPEGs), ``jpeg2`` (1-2 MP JPEGs), ``small`` (a tree of tiny files, for Safehold's peak RSS).
Corpora are benign (scikit-image sample photos, random bytes), are generated once under ``--work`` and
reused while their manifest exists. Before every timed run the page cache is dropped (``--cache cold``,
needs root) or every file is read once (``--cache warm``). ``SAFEHOLD_*`` variables pass through to
Safehold (e.g. ``SAFEHOLD_BATCH_BYTES``). A column ``other`` shows the share of the CPUs that processes
outside the bench used during each run: above ~10% the figures are noisy; use ``--repeat``.
Exit status: 0 all targets met, 1 a target missed or a contender failed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image, ImageChops

MIB = 2**20
PHASES = ("startup", "large", "jpeg12", "jpeg2", "small")
SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina", "immunohistochemistry")
CAMERAS = (("Canon", "Canon EOS 5D Mark IV"), ("NIKON CORPORATION", "NIKON D750"), ("Apple", "iPhone 12"))
CORPUS_VERSION = 1
EXIT_ITEM_ERRORS = 3  # safehold ingest: finished, some files have recorded errors


# ---------------------------------------------------------------- corpus generation
def _write_large(args: tuple[Path, int, int]) -> int:
    path, size, seed = args
    rng = np.random.default_rng(seed)
    with path.open("wb") as f:
        for start in range(0, size, 16 * MIB):
            f.write(rng.bytes(min(16 * MIB, size - start)))
    return size


_noise: Image.Image | None = None


def _photo(seed: int, width: int, height: int) -> Image.Image:
    """A real photo, cropped, colour-shifted and upscaled differently for every seed, with film grain."""
    global _noise
    from skimage import data

    rng = np.random.default_rng(seed)
    src = getattr(data, SAMPLES[seed % len(SAMPLES)])()[..., :3].astype(np.float32)
    h, w = src.shape[:2]
    ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = src[y:y + ch, x:x + cw] * rng.uniform(0.8, 1.2, 3) + rng.uniform(-20, 20, 3)
    img = Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8))
    img = img.resize((width, height), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if _noise is None:  # one grain field per worker; every image takes a different window of it
        _noise = Image.fromarray(np.random.default_rng(0).integers(0, 16, (4200, 4200, 3), dtype=np.uint8))
    nx, ny = int(rng.integers(0, 4200 - width + 1)), int(rng.integers(0, 4200 - height + 1))
    return ImageChops.add(img, _noise.crop((nx, ny, nx + width, ny + height)), offset=-8)


def _write_jpeg(args: tuple[Path, int, int, int]) -> int:
    path, seed, width, height = args
    img = _photo(seed, width, height)
    exif = img.getexif()
    exif[0x010F], exif[0x0110] = CAMERAS[seed % len(CAMERAS)]
    img.save(path, "JPEG", quality=90, exif=exif)
    return path.stat().st_size


def _write_small(args: tuple[Path, int, int, int]) -> int:
    folder, first, count, seed = args
    rng = np.random.default_rng(seed)
    pool = rng.bytes(MIB)
    sizes = rng.integers(100, 4097, count)
    offsets = rng.integers(0, MIB - 4096, count)
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(count):
        head = b"%d\n" % (first + i)  # every file differs
        body = pool[offsets[i]:offsets[i] + max(0, int(sizes[i]) - len(head))]
        (folder / f"f{i:04d}.bin").write_bytes(head + body)
        total += len(head) + len(body)
    return total


def _jpeg_size(seed: int, phase: str) -> tuple[int, int]:
    if phase == "jpeg12":
        return (4000, 3000) if seed % 4 else (3000, 4000)
    rng = np.random.default_rng(seed + 7)
    pixels, aspect = rng.uniform(1.0e6, 2.0e6), float(rng.choice([4 / 3, 3 / 2, 16 / 9, 1.0]))
    w, h = int((pixels * aspect) ** 0.5), int((pixels / aspect) ** 0.5)
    return (w, h) if rng.random() < 0.7 else (h, w)


def ensure_corpus(work: Path, phase: str, scale: float, small_files: int, workers: int) -> Path:
    """Build the phase's corpus under ``work`` unless a complete one (its manifest) is already there."""
    count = {"startup": 1, "large": 8, "small": small_files}.get(phase, max(1, round(2000 * scale)))
    name = f"large-s{scale:g}" if phase == "large" else f"{phase}-n{count}"
    root, manifest = work / name, work / name / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("version") == CORPUS_VERSION:
        return root / "data"
    shutil.rmtree(root, ignore_errors=True)
    (data := root / "data").mkdir(parents=True)
    t0 = time.perf_counter()
    print(f"[gen] {name}: generating under {root} …", flush=True)
    fn: Callable[[Any], int]
    jobs: list[Any]
    if phase == "large":
        size = max(MIB, int(256 * MIB * scale))
        fn, jobs = _write_large, [(data / f"blob{i}.bin", size, 1000 + i) for i in range(count)]
    elif phase in ("small", "startup"):  # a/b/fNNNN.bin: 1,000 files a folder, 1,000 folders a parent
        fn, jobs = _write_small, [(data / f"a{k // 1000:03d}" / f"b{k % 1000:03d}", k * 1000,
                                   min(1000, count - k * 1000), 5000 + k)
                                  for k in range((count + 999) // 1000)]
    else:
        base = 10_000 if phase == "jpeg12" else 20_000
        fn, jobs = _write_jpeg, [(data / f"{phase}-{i:05d}.jpg", base + i, *_jpeg_size(base + i, phase))
                                 for i in range(count)]
    with mp.get_context("fork").Pool(workers) as pool:
        total = sum(pool.imap_unordered(fn, jobs, chunksize=1))
    manifest.write_text(json.dumps({"version": CORPUS_VERSION, "files": count, "bytes": total}))
    print(f"[gen] {name}: {count} files, {total / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s")
    return data


def list_files(root: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, names in os.walk(root) for f in names)


# ---------------------------------------------------------------- caches
def drop_caches() -> bool:
    os.sync()
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    return False


def warm(files: list[Path]) -> None:
    for p in files:
        with p.open("rb") as f:
            while f.read(8 * MIB):
                pass


# ---------------------------------------------------------------- peers
def _three_hashes(path: Path) -> int:
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    buf = bytearray(MIB)
    view, total = memoryview(buf), 0
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            chunk = view[:n]
            md5.update(chunk)
            sha1.update(chunk)
            sha256.update(chunk)
            total += n
    return total


def _tx_pdq(path: Path) -> int:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    return len(PdqSignal.hash_from_file(path))


def draft_target() -> tuple[tuple[int, int], str, str]:
    """The size and mode Safehold asks the JPEG decoder for (``img.draft``), read from its image
    extractor, so that the decode limit decodes exactly what Safehold decodes."""
    try:
        from safehold.extract.image import DRAFT_MODE, DRAFT_SIZE

        return ((int(DRAFT_SIZE[0]), int(DRAFT_SIZE[1])), str(DRAFT_MODE),
                "safehold.extract.image.DRAFT_SIZE, DRAFT_MODE")
    except Exception:  # broken while being edited: fall back to the value it had when this was written
        return (640, 640), "L", "assumed (640, 640), L: safehold.extract.image did not import"


_TARGET: tuple[int, int] = (640, 640)
_MODE = "L"


def _draft_decode(path: Path) -> int:
    """The decode limit: Safehold's draft decode (size and mode) and nothing else."""
    with Image.open(path) as img:
        img.draft(_MODE, _TARGET)
        img.load()
        return img.size[0]


def _draft_decode_rgb(path: Path) -> int:
    """The same decode in RGB, as a plain Pillow loop does it: shows what decoding luma only saves."""
    with Image.open(path) as img:
        img.draft("RGB", _TARGET)
        img.load()
        return img.size[0]


def _draft_pdq(path: Path) -> int:
    """The decode limit plus Safehold's own PDQ step: what an image costs before any pipeline overhead."""
    from safehold.hashing.pdq import pdq_from_image

    with Image.open(path) as img:
        source = img.size
        img.draft(_MODE, _TARGET)
        img.load()
        return len(pdq_from_image(img, source_size=source).hash_hex)


# ---------------------------------------------------------------- safehold
class RssPoller(threading.Thread):
    """Peak of the summed RSS of a process and all its descendants, sampled every 0.2 s; also
    remembers every descendant seen, so that ``reap_orphans`` can collect their CPU time."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.stopped = psutil.Process(pid), 0, threading.Event()
        self.seen: set[int] = set()

    def run(self) -> None:
        while not self.stopped.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            self.seen.update(p.pid for p in procs[1:])
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self.stopped.wait(0.2)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``).

    Safehold's workers are children of multiprocessing's forkserver, which Safehold never waits
    for: when Safehold exits, the forkserver and its workers' CPU time would be nobody's child
    time here and count as "other" load. Adopted and reaped by the bench, their time is ours.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # 36: PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans(pids: set[int], wait: float = 5.0) -> None:
    """Wait for the adopted descendants in ``pids`` (they exit once Safehold has), so that their
    CPU time joins this process's child times; gives up on any still running after ``wait``."""
    deadline = time.monotonic() + wait
    left = set(pids)
    while left and time.monotonic() < deadline:
        for pid in list(left):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours: reaped by its own parent, whose time we get
                left.discard(pid)
                continue
            if done:
                left.discard(pid)
        if left:
            time.sleep(0.02)


@dataclass(slots=True)
class Outcome:
    ok: bool = True
    peak_rss: int | None = None
    note: str = ""


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:240]


def safehold_setup(work: Path, phase: str, data: Path, workers: int | None) -> Callable[[], Outcome]:
    """A fresh data dir with one case and one evidence item; returns the ingest run, ready to time."""
    data_dir = work / "safehold-data" / phase
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**os.environ, "SAFEHOLD_DATA_DIR": str(data_dir)}
    base = [str(Path(sys.executable).parent / "safehold"), *(["--workers", str(workers)] if workers else [])]
    for cmd in (["case", "new", f"bench-{phase}"],
                ["evidence", "add", f"bench-{phase}", str(data), "--label", f"bench {phase}"]):
        done = subprocess.run(base + cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"safehold {cmd[0]} {cmd[1]} failed: {_last_line(done.stderr)}")
    return functools.partial(safehold_ingest, [*base, "ingest", f"bench-{phase}", "--quiet"], env)


def safehold_ingest(cmd: list[str], env: dict[str, str]) -> Outcome:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    poller = RssPoller(proc.pid)
    poller.start()
    out, err = proc.communicate()
    poller.stopped.set()
    poller.join()
    reap_orphans(poller.seen)
    ok = proc.returncode in (0, EXIT_ITEM_ERRORS)
    note = f"rc={proc.returncode} " + (_last_line(out) if ok else _last_line(err))
    return Outcome(ok, poller.peak, note)


def hashdeep(data: Path, workers: int) -> Outcome:
    subprocess.run(["hashdeep", "-c", "md5,sha1,sha256", "-j", str(workers), "-r", str(data)],
                   stdout=subprocess.DEVNULL, check=True)
    return Outcome()


def pool_run(fn: Callable[[Path], int], files: list[Path], workers: int) -> Outcome:
    with mp.get_context("fork").Pool(workers) as pool:
        for _ in pool.imap_unordered(fn, files, chunksize=max(1, min(64, len(files) // (workers * 16)))):
            pass
    return Outcome()


def cpu_busy() -> tuple[float, float]:
    """(CPU seconds the whole machine spent busy, CPU seconds of this process and its reaped children)."""
    t, mine = psutil.cpu_times(), os.times()
    idle = t.idle + getattr(t, "iowait", 0.0) + getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return (sum(t) - idle,
            mine.user + mine.system + mine.children_user + mine.children_system)


# ---------------------------------------------------------------- results
@dataclass(slots=True)
class Row:
    phase: str
    contender: str
    seconds: float
    files: int
    nbytes: int
    outcome: Outcome
    foreign_cpu: float  # share of the machine's CPU used by processes outside the bench during the run

    @property
    def mb_s(self) -> float:
        return self.nbytes / 1e6 / self.seconds if self.seconds and self.outcome.ok else 0.0

    @property
    def files_s(self) -> float:
        return self.files / self.seconds if self.seconds and self.outcome.ok else 0.0


@dataclass(slots=True)
class Check:
    phase: str
    what: str
    value: float
    target: str
    passed: bool | None  # None: informational, no target


@dataclass(slots=True)
class Bench:
    args: argparse.Namespace
    cache: str
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def timed(self, phase: str, name: str, files: list[Path], nbytes: int,
              make: Callable[[], Callable[[], Outcome]]) -> Row:
        """Best of ``--repeat`` runs; ``make`` does the untimed set-up and returns the timed part."""
        best: Row | None = None
        peak = 0
        for _ in range(self.args.repeat):
            try:
                fn = make()
            except RuntimeError as exc:
                fn = functools.partial(Outcome, False, None, str(exc))
            if self.cache == "cold" and not drop_caches():
                print("[cache] drop_caches failed: switching to a warm-cache pass before every contender")
                self.cache = "warm"
            if self.cache == "warm":
                warm(files)
            busy0, mine0 = cpu_busy()
            t0 = time.perf_counter()
            try:
                outcome = fn()
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                outcome = Outcome(False, note=str(exc))
            seconds = time.perf_counter() - t0
            busy1, mine1 = cpu_busy()
            foreign = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / (seconds * (os.cpu_count() or 1))
            rss = f"  peak RSS {outcome.peak_rss / MIB:.0f} MiB" if outcome.peak_rss else ""
            print(f"[run] {phase:<7} {name:<19} {seconds:8.2f} s  other load {foreign:4.0%}{rss}  "
                  f"{outcome.note}", flush=True)
            peak = max(peak, outcome.peak_rss or 0)
            if best is None or (outcome.ok, -seconds) > (best.outcome.ok, -best.seconds):
                best = Row(phase, name, seconds, len(files), nbytes, outcome, foreign)
            if not outcome.ok:
                break
        assert best is not None
        best.outcome.peak_rss = peak or None  # the peak over all runs, not only the fastest one
        self.rows.append(best)
        return best

    def ratio(self, sh: Row, peer: Row, by: str, at_least: float | None) -> None:
        value = getattr(sh, by) / getattr(peer, by) if getattr(peer, by) else 0.0
        passed = None if at_least is None else value >= at_least
        target = "info" if at_least is None else f">= {at_least:g}x"
        what = f"{sh.contender} / {peer.contender} ({by})"
        self.checks.append(Check(sh.phase, what, value, target, passed))

    def run_phase(self, phase: str) -> None:
        workers = self.args.workers or os.cpu_count() or 1
        data = ensure_corpus(self.args.work, phase, self.args.scale, self.args.small_files, workers)
        files = list_files(data)
        nbytes = sum(p.stat().st_size for p in files)

        def measure(name: str, fn: Callable[[], Outcome]) -> Row:
            return self.timed(phase, name, files, nbytes, lambda: fn)

        def peer(name: str, fn: Callable[[Path], int]) -> Row:
            return measure(name, functools.partial(pool_run, fn, files, workers))

        sh = self.timed(phase, "safehold", files, nbytes,
                        functools.partial(safehold_setup, self.args.work, phase, data, self.args.workers))
        if phase == "large":
            single = peer("single-pass limit", _three_hashes)
            hd = measure("hashdeep", functools.partial(hashdeep, data, workers))
            self.ratio(sh, single, "mb_s", 0.85)
            self.ratio(sh, hd, "mb_s", 3.0)
            self.ratio(single, hd, "mb_s", None)  # the most any contender can reach against hashdeep
        elif phase in ("jpeg12", "jpeg2"):
            dec, tx = peer("decode limit", _draft_decode), peer("threatexchange pdq", _tx_pdq)
            self.ratio(sh, dec, "files_s", 0.8 if phase == "jpeg12" else None)
            self.ratio(sh, peer("decode+pdq limit", _draft_pdq), "files_s", None)
            self.ratio(sh, tx, "files_s", 5.0 if phase == "jpeg12" else None)
            if _MODE != "RGB":  # what a plain Pillow loop (colour decode) would give as the limit
                self.ratio(sh, peer("decode limit RGB", _draft_decode_rgb), "files_s", None)
        elif phase == "startup":  # what every ingest pays before and after the files: imports, workers, DB
            self.checks.append(Check(phase, "safehold fixed cost: ingest of one tiny file (s)", sh.seconds,
                                     "info", None))
        else:
            self.ratio(sh, peer("single-pass limit", _three_hashes), "files_s", None)
            peak = (sh.outcome.peak_rss or 0) / MIB
            self.checks.append(Check(phase, "safehold peak RSS of process tree (MiB)", peak, "< 1024",
                                     sh.outcome.ok and peak < 1024))

    def report(self) -> bool:
        how = "page cache dropped" if self.cache == "cold" else "every file read once"
        print(f"\ncache: {self.cache} ({how} before each run); scale {self.args.scale:g}; small files "
              f"{self.args.small_files}; workers {self.args.workers or os.cpu_count()}; draft {_TARGET}")
        print(f"{'phase':<7} {'contender':<19} {'seconds':>8} {'files':>8} {'MB':>7} {'MB/s':>7} "
              f"{'files/s':>8} {'peak RSS':>9} {'other':>5}")
        for r in self.rows:
            rss = f"{r.outcome.peak_rss / MIB:.0f} MiB" if r.outcome.peak_rss else ""
            print(f"{r.phase:<7} {r.contender:<19} {r.seconds:8.2f} {r.files:8d} {r.nbytes / 1e6:7.0f} "
                  f"{r.mb_s:7.1f} {r.files_s:8.1f} {rss:>9} {r.foreign_cpu:5.0%}"
                  f"{'' if r.outcome.ok else '  FAILED: ' + r.outcome.note}")
        print(f"\n{'phase':<7} {'check':<48} {'value':>8} {'target':>8}  verdict")
        for c in self.checks:
            verdict = "-" if c.passed is None else ("PASS" if c.passed else "FAIL")
            print(f"{c.phase:<7} {c.what:<48} {c.value:8.2f} {c.target:>8}  {verdict}")
        if any(r.foreign_cpu > 0.1 for r in self.rows):
            print("warning: other processes used >10% of the CPUs in some runs ('other'): figures are noisy")
        return all(c.passed is not False for c in self.checks) and all(r.outcome.ok for r in self.rows)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{**asdict(r), "mb_s": r.mb_s, "files_s": r.files_s} for r in self.rows]
        config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(self.args).items()}
        path.write_text(json.dumps({"config": config, "cache": self.cache, "draft_target": _TARGET,
                                    "cpus": os.cpu_count(), "rows": rows,
                                    "checks": [asdict(c) for c in self.checks]}, indent=2))
        print(f"\nresults written to {path}")


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/safehold-bench"), help="corpora and scratch")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full corpora (0.1: quick run)")
    ap.add_argument("--small-files", type=int, default=1_000_000, help="files in the small-file tree")
    ap.add_argument("--skip", default="", help=f"comma list of phases to skip: {','.join(PHASES)}")
    ap.add_argument("--workers", type=int, default=None, help="processes per contender (default: cores)")
    ap.add_argument("--cache", choices=("cold", "warm"), default="cold",
                    help="cold: drop the page cache before each run (root); warm: read every file first")
    ap.add_argument("--repeat", type=int, default=1, help="runs per contender; the fastest is kept")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "ingest.json")
    args = ap.parse_args(list(argv) if argv is not None else None)
    unknown = set(filter(None, args.skip.split(","))) - set(PHASES)
    if unknown:
        ap.error(f"unknown phases in --skip: {', '.join(sorted(unknown))}")
    return args


def main(argv: Iterable[str] | None = None) -> int:
    global _TARGET, _MODE
    if argv is None and os.environ.get("OPENBLAS_NUM_THREADS") is None:
        # As Safehold's workers do (ingest.executor): one BLAS thread per process, so that the
        # decode+pdq peer's pool of one process per core does not oversubscribe the cores.
        # The variable must be set before numpy loads: start again with it.
        os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        os.execv(sys.executable, [sys.executable, *sys.argv])
    args = parse_args(argv)
    _TARGET, _MODE, source = draft_target()
    print(f"draft target for the decode limit: {_TARGET}, mode {_MODE} ({source})")
    if not become_subreaper():
        print("note: could not adopt orphaned processes: Safehold's worker CPU may show as 'other' load")
    bench = Bench(args, cache=args.cache)
    for phase in PHASES:
        if phase not in args.skip.split(","):
            bench.run_phase(phase)
    ok = bench.report()
    bench.write_json(args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
