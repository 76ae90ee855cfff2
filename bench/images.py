"""Disk-image ingest: Safehold against a bare pytsk3 loop (the limit) and sleuthkit's fls + icat.

Usage:
    .venv/bin/python bench/images.py                          # 200k-file ext4, 2 GB NTFS
    .venv/bin/python bench/images.py --files 20000 --ntfs-gb 0.5
    .venv/bin/python bench/images.py --skip ntfs

Images are built at bench time without mounting: ext4 with ``mkfs.ext4 -d DIR`` (small random
files, 1,000 per folder), NTFS with ``mkntfs -F`` + ``ntfscp`` (random files of a few MB in the
root; ntfscp cannot make folders). Contenders, on the same files in the same run:

* ``safehold``: ``case new`` / ``evidence add`` / ``ingest --quiet`` (subprocesses, a fresh
  SAFEHOLD_DATA_DIR); the ratio uses the ingest time (evidence add hashes the whole image once).
* ``pytsk3``: one process walks the file system, reads every file and feeds MD5+SHA-1+SHA-256.
* ``fls+icat``: ``fls -r -p`` then one ``icat`` per file, hashed likewise; at most ``--icat-max``
  files are read and the rate is extrapolated (a process per file is slow; that is the point).

Target: Safehold's ingest >= 0.7x the pytsk3 limit (files/s on ext4, MB/s on NTFS).
Prints a table and writes bench/out/images.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAFEHOLD = ROOT / ".venv" / "bin" / "safehold"
TARGET = 0.7
MIB = 2**20


@dataclass
class Result:
    image: str
    contender: str
    files: int
    bytes: int
    seconds: float
    note: str = ""

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MIB / self.seconds if self.seconds else 0.0


def sh(*args: str | Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([str(a) for a in args], check=False, capture_output=True, text=True, env=env)
    if out.returncode not in (0, 3):  # 3: safehold finished with per-file errors recorded
        raise RuntimeError(f"{args[0]} failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


# ---------------------------------------------------------------- images
def build_ext4(work: Path, files: int) -> Path:
    img = work / f"ext4-{files}.img"
    if img.exists():
        return img
    src = work / "ext4-src"
    shutil.rmtree(src, ignore_errors=True)
    rng = np.random.default_rng(1)
    sizes = rng.integers(200, 800, files)
    for i in range(files):
        d = src / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        (d / f"f{i:07d}.bin").write_bytes(rng.bytes(int(sizes[i])))
    size_mb = 64 + files * 3 // 1024  # 1 KiB blocks: one data block + a 256-byte inode + dirents
    sh("mkfs.ext4", "-q", "-F", "-b", "1024", "-N", str(files + 2000), "-d", src, img, f"{size_mb}M")
    shutil.rmtree(src)
    return img


def build_ntfs(work: Path, gb: float) -> Path:
    img = work / f"ntfs-{gb:g}g.img"
    if img.exists():
        return img
    size = int(gb * 1024**3)
    tmp = img.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.truncate(size)
    sh("mkntfs", "-F", "-q", "-Q", tmp)
    rng = np.random.default_rng(2)
    payload = work / "ntfs-payload.bin"
    budget = int(size * 0.8)
    i = 0
    while budget > 0:
        n = int(min(budget, rng.integers(1, 8) * MIB))
        payload.write_bytes(rng.bytes(n))
        sh("ntfscp", "-q", tmp, payload, f"file{i:05d}.bin")
        budget -= n
        i += 1
    payload.unlink()
    tmp.rename(img)
    return img


# ---------------------------------------------------------------- contenders
def hash3(chunks: Any) -> int:
    m, s1, s2 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    n = 0
    for c in chunks:
        m.update(c)
        s1.update(c)
        s2.update(c)
        n += len(c)
    m.hexdigest()
    return n


def run_pytsk3(img: Path) -> Result:
    import pytsk3

    t0 = time.perf_counter()
    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(img)))
    files = total = 0
    stack = [fs.open_dir(path="/")]
    while stack:
        for f in stack.pop():
            name = f.info.name.name
            meta = f.info.meta
            if name in (b".", b"..") or meta is None or name.startswith(b"$"):
                continue
            if meta.type == pytsk3.TSK_FS_META_TYPE_DIR:
                stack.append(f.as_directory())
            elif meta.type == pytsk3.TSK_FS_META_TYPE_REG:
                size = meta.size
                total += hash3(f.read_random(off, min(MIB, size - off)) for off in range(0, size, MIB))
                files += 1
    return Result(img.name, "pytsk3", files, total, time.perf_counter() - t0)


_FLS = re.compile(r"^r/r (\d+)(?:-\d+-\d+)?:\t(.*)$")


def run_fls_icat(img: Path, limit: int) -> Result:
    t0 = time.perf_counter()
    listing = sh("fls", "-r", "-p", img)
    inodes = [m[1] for line in listing.splitlines() if (m := _FLS.match(line)) and not m[2].startswith("$")]
    t_list = time.perf_counter() - t0
    sample = inodes[:limit]
    total = 0
    t1 = time.perf_counter()
    for inode in sample:
        data = subprocess.run(["icat", str(img), inode], check=True, capture_output=True).stdout
        total += hash3([data])
    t_read = time.perf_counter() - t1
    scale = len(inodes) / len(sample) if sample else 1.0
    note = f"icat on {len(sample)} of {len(inodes)} files, extrapolated" if scale > 1 else ""
    return Result(img.name, "fls+icat", len(inodes), int(total * scale), t_list + t_read * scale, note)


def run_safehold(img: Path, work: Path) -> tuple[Result, float]:
    data = work / "safehold-data"
    shutil.rmtree(data, ignore_errors=True)
    env = {**os.environ, "SAFEHOLD_DATA_DIR": str(data)}
    env.pop("SAFEHOLD_DATABASE_URL", None)
    sh(SAFEHOLD, "case", "new", "bench", env=env)
    t0 = time.perf_counter()
    sh(SAFEHOLD, "evidence", "add", "bench", img, "--label", img.name, env=env)
    t_add = time.perf_counter() - t0
    t1 = time.perf_counter()
    sh(SAFEHOLD, "ingest", "bench", "--quiet", env=env)
    t_ingest = time.perf_counter() - t1
    files, nbytes = count_files(data)
    return Result(img.name, "safehold", files, nbytes, t_ingest, f"evidence add {t_add:.1f} s"), t_add


def count_files(data: Path) -> tuple[int, int]:
    import sqlite3

    db = next(data.glob("*.db"))
    with sqlite3.connect(db) as c:
        n, b = c.execute("select count(*), coalesce(sum(size), 0) from files "
                         "where error_code is null and depth = 0").fetchone()
    return int(n), int(b)


# ---------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200_000, help="files in the ext4 image")
    ap.add_argument("--ntfs-gb", type=float, default=2.0, help="size of the NTFS image")
    ap.add_argument("--skip", default="", help="comma list of: ext4, ntfs, fls")
    ap.add_argument("--icat-max", type=int, default=3000, help="icat at most this many files (extrapolated)")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "images-work")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    args.work.mkdir(parents=True, exist_ok=True)
    images = []
    if "ext4" not in skip:
        images.append(("files/s", build_ext4(args.work, args.files)))
    if "ntfs" not in skip:
        images.append(("MB/s", build_ntfs(args.work, args.ntfs_gb)))
    results: list[Result] = []
    ratios: dict[str, float] = {}
    for unit, img in images:
        sys.stdout.flush()
        limit = run_pytsk3(img)
        ours, _ = run_safehold(img, args.work)
        got = [limit, ours]
        if "fls" not in skip:
            got.append(run_fls_icat(img, args.icat_max))
        results += got
        rate = (lambda r: r.files_per_s) if unit == "files/s" else (lambda r: r.mb_per_s)
        ratios[img.name] = rate(ours) / rate(limit) if rate(limit) else 0.0
    print(f"{'image':<18} {'contender':<10} {'files':>8} {'MB':>8} {'s':>8} {'files/s':>9} {'MB/s':>8}  note")
    for r in results:
        print(f"{r.image:<18} {r.contender:<10} {r.files:>8} {r.bytes / MIB:>8.1f} {r.seconds:>8.2f} "
              f"{r.files_per_s:>9.0f} {r.mb_per_s:>8.1f}  {r.note}")
    for name, ratio in ratios.items():
        print(f"{name}: safehold / pytsk3 = {ratio:.2f}x (target >= {TARGET}x) {'ok' if ratio >= TARGET else 'MISSED'}")
    out = ROOT / "bench" / "out" / "images.json"
    out.write_text(json.dumps({"results": [asdict(r) | {"files_per_s": r.files_per_s, "mb_per_s": r.mb_per_s}
                                           for r in results], "ratios": ratios, "target": TARGET,
                               "cpus": os.cpu_count()}, indent=2))
    print(f"wrote {out}")
    return 0 if all(v >= TARGET for v in ratios.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
