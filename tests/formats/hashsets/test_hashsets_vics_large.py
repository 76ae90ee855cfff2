"""VICS streaming at scale: memory stays bounded by the read chunk, not the file size.

The real multi-gigabyte check belongs in a bench; here 50k records run under tracemalloc and a
300 MB file is parsed in a child process whose peak RSS is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

import safehold
from safehold.formats.hashsets import HashRecord
from safehold.formats.hashsets.vics import VicsReader

from .hashset_fixtures import CTX_20, vics_media


def _lean_media(i: int) -> dict[str, object]:
    """A Media with few fields but a long comment: file bytes without many Python objects."""
    keep = ("MediaID", "Category", "MD5", "SHA1", "MediaSize", "VictimIdentified", "IsDistributed", "Series")
    media: dict[str, object] = {k: v for k, v in vics_media(i).items() if k in keep}
    media["Comments"] = "benign filler " * 40
    return media


def _write_repeated(path: Path, block: list[dict[str, object]], target_bytes: int) -> int:
    """A hash set made of one block of Media repeated to ``target_bytes``; returns the record count."""
    data = ",\n".join(json.dumps(media) for media in block).encode()
    head = json.dumps({"@odata.context": CTX_20.format(variant="US")})[:-1].encode() + b', "value": [\n'
    repeats = max(1, -(-target_bytes // (len(data) + 2)))
    with path.open("wb") as out:
        out.write(head)
        for n in range(repeats):
            if n:
                out.write(b",\n")
            out.write(data)
        out.write(b"\n]}\n")
    return repeats * len(block)


def test_vics_50k_records_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "50k.json"
    count = _write_repeated(path, [_lean_media(i) for i in range(1000)], 50_000 * 800)
    assert count == 50_000
    size = path.stat().st_size
    tracemalloc.start()
    try:
        seen = sum(isinstance(item, HashRecord) for item in VicsReader().read(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < size / 8, (peak, size)
    assert peak < 16 << 20


CHILD = textwrap.dedent(
    """
    import re, sys, time
    from pathlib import Path
    from safehold.formats.hashsets.vics import VicsReader
    start = time.perf_counter()
    n = sum(1 for _ in VicsReader().read(Path(sys.argv[1])))
    took = time.perf_counter() - start
    # VmHWM is this address space's peak. ru_maxrss is not: Linux carries it across fork+exec, so
    # under pytest it reports the test runner's own size.
    status = Path("/proc/self/status").read_text()
    print(n, re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1), took)
    """
)


@pytest.mark.slow
def test_vics_2gb_streams_with_bounded_rss(tmp_path: Path) -> None:
    """The issue's hostile input: a 2 GB list is streamed, never loaded whole."""
    path = tmp_path / "big.json"
    # Full Media records with very long case notes (~24 KB each) keep the record count, and the time, modest.
    block = [vics_media(i, Comments="benign case note " * 1400) for i in range(200)]
    count = _write_repeated(path, block, 2 << 30)
    assert path.stat().st_size >= 2 << 30
    root = str(Path(safehold.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True, timeout=600, env=env
    )
    seen, max_rss_kib, took = done.stdout.split()
    assert int(seen) == count
    assert int(max_rss_kib) < 150 * 1024, f"peak RSS {int(max_rss_kib) // 1024} MiB for a 2 GB file"
    rate, rss = count / float(took), int(max_rss_kib) // 1024
    print(f"2 GB VICS: {count} records, {float(took):.1f} s, {rate:,.0f} records/s, peak RSS {rss} MiB")
