"""Video fingerprinting speed and match quality: Safehold against Meta's reference ``vpdq``, in one run.

Usage:
    .venv/bin/python bench/video.py                  # 30 s files; builds the reference if missing
    .venv/bin/python bench/video.py --seconds 10 --skip-reference   # a quick check

Corpus (benign, generated once under ``--work`` and reused): 1080p and 720p H.264 (x264 veryfast,
CRF 23, B-frames) and H.265 (x265 ultrafast) at 30 fps, panning over scikit-image photos with
moving shapes and film grain; a 640x360 source with six variants (trimmed, re-encoded at CRF 35,
resized, cropped 1 %, watermarked, concatenated after an unrelated clip) and three unrelated videos.

Speed is video seconds per wall second ("x real time") for Safehold's default (fast) mode and for
the reference (``vpdq.computeHash``, PyPI package built against Debian's libav*-dev in
``bench/out/vpdq-venv``), file by file, alternating. Quality: the fast hashes' PDQ distance from
the reference's on the same frames, and recall on the variant set (a variant matches its source
under Safehold's rule: a segment of >= 3 frames, or >= 80 % shared) with Safehold's hashes and with
the reference's, plus false matches among unrelated videos. ``other`` is the share of the CPUs
used by processes outside the bench while it ran: above ~10 % the wall-clock speeds are noisy.
"CPU-bound" divides the video's length by the CPU seconds spent per CPU of the machine: what the
speed would be with every core free and perfectly used, a bound that foreign load does not move.
Exit status: 0 all targets met, 1 a target missed or the reference could not be run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import psutil
from PIL import Image

from safehold.core.settings import Limits, VideoSettings
from safehold.extractors.host import HEAD_BYTES, ContentRun, HostEnv
from safehold.extractors.registry import load_registry
from safehold.hashing.pdq import pdq_distance
from safehold.hashing.vpdq import VpdqFrame, frames_from_packed, pack_frames
from safehold.match.vpdq import FrameSet, compare
from safehold.services.video_matching import MIN_LINK_FRAMES, MIN_SHARE
from safehold.testing.images import sample_photo
from safehold.testing.videos import Edit, concatenate, edit_video, make_video

ROOT = Path(__file__).resolve().parent
VENV = ROOT / "out" / "vpdq-venv"
APT = ["libavcodec-dev", "libavformat-dev", "libavutil-dev", "libswscale-dev", "libavdevice-dev", "pkg-config"]
REFERENCE_SCRIPT = """
import json, sys, time, vpdq
t = time.perf_counter(); c = time.process_time()
h = vpdq.computeHash(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "frames": [[x.frame_number, x.quality, x.hex, x.timestamp] for x in h]}))
"""
SPEED_FILES = (("1080p-h264", (1920, 1080), "libx264"), ("720p-h264", (1280, 720), "libx264"),
               ("1080p-h265", (1920, 1080), "libx265"), ("720p-h265", (1280, 720), "libx265"))
VARIANTS = {
    "trimmed": Edit(start=7.5, end=22.5),
    "reencoded": Edit(crf=35),
    "resized": Edit(size=(426, 240)),
    "cropped": Edit(crop=0.01),
    "watermarked": Edit(watermark=True),
}


# ---------------------------------------------------------------- corpus
def _pan_frames(seconds: float, size: tuple[int, int], seed: int) -> Any:
    """Camera-like footage: slow pans across photos, a moving shape, grain (so frames really change)."""
    w, h = size
    rng = np.random.default_rng(seed)
    photos = [sample_photo(n).convert("RGB").resize((int(w * 1.3), int(h * 1.3)))
              for n in ("astronaut", "coffee", "chelsea", "cat", "coins", "horse")]
    order = rng.permutation(len(photos))
    grain = rng.integers(-6, 7, (4, h, w, 1), dtype=np.int16)
    for i in range(int(seconds * 30)):
        p = photos[order[(i // 120) % len(photos)]]
        k = i % 120
        x, y = int(k * (p.width - w) / 120), int(k * (p.height - h) / 240)
        a = np.asarray(p.crop((x, y, x + w, y + h)), dtype=np.int16)
        cx = (i * 7) % w
        a[h // 3:h // 3 + h // 14, max(0, cx - w // 48):cx + w // 48] = (230, 40, 40)
        yield np.clip(a + grain[i % 4], 0, 255).astype(np.uint8)


def build_corpus(work: Path, seconds: float) -> dict[str, Path]:
    from safehold.testing.videos import write_video

    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, size, codec in SPEED_FILES:
        path = work / f"{name}-{seconds:g}s.mp4"
        if not path.exists():
            print(f"  generating {path.name}", flush=True)
            preset = "veryfast" if codec == "libx264" else "ultrafast"
            write_video(path.with_suffix(".tmp.mp4"), _pan_frames(seconds, size, len(files)), fps=30, codec=codec,
                        crf=23, preset=preset).replace(path)
        files[name] = path
    src = work / f"source-{seconds:g}s.mp4"
    if not src.exists():
        make_video(src, seconds, size=(640, 360), fps=30, seed=101, preset="veryfast")
    files["source"] = src
    for k in range(3):
        path = work / f"unrelated{k}-{seconds:g}s.mp4"
        if not path.exists():
            make_video(path, seconds, size=(640, 360), fps=30, seed=200 + k, preset="veryfast")
        files[f"unrelated{k}"] = path
    for name, edit in VARIANTS.items():
        path = work / f"variant-{name}-{seconds:g}s.mp4"
        if not path.exists():
            edit_video(src, path, edit, src_fps=30)
        files[f"variant-{name}"] = path
    path = work / f"variant-concatenated-{seconds:g}s.mp4"
    if not path.exists():
        concatenate(path, [(files["unrelated0"], 0, seconds / 3), (src, seconds / 3, seconds)], size=(640, 360),
                    fps=30)
    files["variant-concatenated"] = path
    return files


# ---------------------------------------------------------------- contenders
def ensure_reference(build: bool) -> str | None:
    """Path of the reference's Python, building it if asked; None (with the reason printed) if unusable."""
    python = VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import vpdq"], capture_output=True).returncode == 0:
        return str(python)
    if not build:
        print("  reference vpdq not built (run without --no-build)")
        return None
    print("  building the reference vpdq from PyPI (Debian libav*-dev, pkg-config)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [["apt-get", "install", "-y", "-qq", *APT], [sys.executable, "-m", "venv", str(VENV)],
             [str(VENV / "bin" / "pip"), "install", "-q", "vpdq"]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            print(f"  reference build failed at {' '.join(step[:3])}: {done.stderr.strip()[-600:]}")
            return None
    return str(python)


def run_reference(python: str, path: Path) -> dict[str, Any]:
    out = subprocess.run([python, "-c", REFERENCE_SCRIPT, str(path)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["frames"] = [VpdqFrame(int(f), int(q), h, round(float(t), 3)) for f, q, h, t in result["frames"]]
    return result


def run_safehold(path: Path, exact: bool = False) -> dict[str, Any]:
    """The ``video`` extractor through the extractor host, as ingest runs it on a file of a file system
    (the type from the head, then the extractor over the real file; hashing is the ingest bench's)."""
    registry = load_registry(plugins=[])
    env = HostEnv(Limits(), VideoSettings(exact=exact), path.parent, None)
    t, c = time.perf_counter(), time.process_time()
    run = ContentRun(registry.select(("filetype", "video")), env, path.name, path.stat().st_size, path)
    with path.open("rb") as f:
        run.begin(f.read(HEAD_BYTES))
    out = run.finish()
    vpdq = out.facts.get("vpdq")
    return {"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
            "frames": frames_from_packed(vpdq) if vpdq else [],
            "decoded": (out.facts.get("video_meta") or {}).get("frames_decoded", 0),
            "error": f"{out.error.code.value}: {out.error.message}" if out.error else None}


class Load:
    """CPU used by everything else on the machine while a block ran (share of all CPUs)."""

    def __enter__(self) -> Load:
        self.t, self.sys_busy, self.mine = time.perf_counter(), self._busy(), self._own()
        return self

    def __exit__(self, *_: object) -> None:
        wall = time.perf_counter() - self.t
        other = (self._busy() - self.sys_busy) - (self._own() - self.mine)
        self.other = max(0.0, other / (wall * (os.cpu_count() or 1)))

    @staticmethod
    def _busy() -> float:
        cpu = psutil.cpu_times()
        return float(cpu.user + cpu.system + getattr(cpu, "nice", 0.0))

    @staticmethod
    def _own() -> float:
        me = psutil.Process()
        total = sum(me.cpu_times()[:4])
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return float(total)


def _duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return float(c.duration or 0) / av.time_base


def _is_match(a: list[VpdqFrame], b: list[VpdqFrame]) -> bool:
    m = compare(FrameSet.from_packed(pack_frames(a)), FrameSet.from_packed(pack_frames(b)))
    return m.longest >= MIN_LINK_FRAMES or (m.segments != [] and max(m.query_share, m.target_share) >= MIN_SHARE)


# ---------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "video")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per file and contender (best kept)")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="do not build the reference if it is missing")
    args = ap.parse_args()
    print(f"corpus in {args.work} ({os.cpu_count()} CPUs)", flush=True)
    files = build_corpus(args.work, args.seconds)
    ref_python = None if args.skip_reference else ensure_reference(not args.no_build)
    results: dict[str, Any] = {"seconds": args.seconds, "speed": {}, "quality": {}}
    ok = True
    print(f"\n{'file':<12} {'Mbit/s':>6} {'Safehold':>10} {'reference':>10} {'ratio':>6} {'other':>6}"
          f" {'fast-vs-ref bits (mean/max)':>28} {'CPU-bound Safehold/ref':>23}")
    for name, _size, _codec in SPEED_FILES:
        path = files[name]
        length = _duration(path)
        mine: list[dict[str, Any]] = []
        ref: list[dict[str, Any]] = []
        with Load() as load:
            for _ in range(args.repeat):
                mine.append(run_safehold(path))
                if ref_python:
                    ref.append(run_reference(ref_python, path))
        best = min(mine, key=lambda r: r["wall"])
        cpus = os.cpu_count() or 1
        row: dict[str, Any] = {"x_realtime": length / best["wall"], "cpu_s": best["cpu"], "wall_s": best["wall"],
                               "x_realtime_cpu_bound": length * cpus / min(r["cpu"] for r in mine),
                               "other_load": load.other, "mbit_s": path.stat().st_size * 8 / length / 1e6}
        text = f"{length / best['wall']:>9.1f}x"
        if ref:
            rbest = min(ref, key=lambda r: r["wall"])
            by_frame = {f.frame: f.pdq for f in rbest["frames"]}
            dist = [pdq_distance(f.pdq, by_frame[f.frame]) for f in best["frames"] if f.frame in by_frame]
            row.update(reference_x_realtime=length / rbest["wall"], ratio=rbest["wall"] / best["wall"],
                       reference_x_realtime_cpu_bound=length * cpus / min(r["cpu"] for r in ref),
                       same_frames=[f.frame for f in best["frames"]] == [f.frame for f in rbest["frames"]],
                       bits_mean=float(np.mean(dist)) if dist else None, bits_max=max(dist, default=None))
            text += f" {length / rbest['wall']:>9.1f}x {row['ratio']:>5.1f}x"
            text += f" {load.other:>5.0%} {row['bits_mean']:>20.1f} / {row['bits_max']:<5}"
            text += f" {row['x_realtime_cpu_bound']:>13.1f}x / {row['reference_x_realtime_cpu_bound']:.1f}x"
        else:
            text += f" {'-':>10} {'-':>6} {load.other:>5.0%}"
        print(f"{name:<12} {row['mbit_s']:>6.1f} {text}", flush=True)
        results["speed"][name] = row
    if ref_python:  # the exact mode against the reference's own hash files, line for line
        same = total = 0
        for name, _size, _codec in SPEED_FILES:
            exact = run_safehold(files[name], exact=True)["frames"]
            rframes = run_reference(ref_python, files[name])["frames"]
            same += sum(a == b for a, b in zip(exact, rframes, strict=False))
            total += max(len(rframes), len(exact))
        results["exact_agreement"] = {"identical_lines": same, "lines": total}
        print(f"\nexact mode vs reference, all four files: {same} of {total} hash-file lines identical")

    # ---- match quality
    names = [n for n in files if n.startswith(("source", "variant", "unrelated"))]
    fps: dict[str, dict[str, list[VpdqFrame]]] = {"safehold": {}, "reference": {}}
    for n in names:
        fps["safehold"][n] = run_safehold(files[n])["frames"]
        if ref_python:
            fps["reference"][n] = run_reference(ref_python, files[n])["frames"]
    variants = [n for n in names if n.startswith("variant")]
    unrelated = [n for n in names if n.startswith("unrelated")]
    print(f"\n{'hashes':<10} {'recall':>8} {'false matches':>14}  missed")
    for who, got in fps.items():
        if not got:
            continue
        found = [v for v in variants if _is_match(got[v], got["source"])]
        false = sum(_is_match(got[u], got[o]) for u in unrelated for o in [*unrelated, "source", *variants]
                    if o != u and not (o == "variant-concatenated" and u == "unrelated0"))
        results["quality"][who] = {"recall": len(found) / len(variants), "false_matches": false,
                                   "missed": sorted(set(variants) - set(found))}
        print(f"{who:<10} {len(found)}/{len(variants):<6} {false:>14}  {', '.join(sorted(set(variants) - set(found)))}")

    # ---- targets
    h264 = results["speed"]["1080p-h264"]
    checks = [("1080p H.264 >= 30x real time", h264["x_realtime"] >= 30)]
    if ref_python:
        checks.append(("1080p H.264 >= 3x the reference", h264["ratio"] >= 3))
        q = results["quality"]
        same = q["safehold"]["recall"] >= q["reference"]["recall"]
        checks.append(("recall unchanged vs the reference's hashes", same))
        checks.append(("no false matches", q["safehold"]["false_matches"] == 0))
    else:
        ok = False
    print()
    for label, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
        ok &= passed
    out = ROOT / "out" / "video.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    Image.MAX_IMAGE_PIXELS = None
    sys.exit(main())
