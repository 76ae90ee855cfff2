"""kill -9 at several points, resume, and compare with an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safehold.testing.corpus import build_demo_evidence

SAFEHOLD = [sys.executable, "-m", "safehold.cli"]


def _env(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    # A commit per chunk (not grouped by time), so kills land between many small transactions.
    env.update(SAFEHOLD_DATA_DIR=str(data), SAFEHOLD_BATCH_FILES="3", SAFEHOLD_WORKERS="2",
               SAFEHOLD_COMMIT_SECONDS="0")
    env.pop("SAFEHOLD_DATABASE_URL", None)
    return env


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SAFEHOLD, *args], env=_env(data), capture_output=True, text=True, timeout=300)


def _rows(data: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{data / 'safehold.db'}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM files").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _state(data: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    con = sqlite3.connect(data / "safehold.db")
    files = con.execute(
        "SELECT locator, display, size, sha256, error_code, error_message, deleted, depth, parent_sha256 "
        "FROM files ORDER BY locator").fetchall()
    contents = con.execute("SELECT * FROM contents ORDER BY sha256").fetchall()
    batches = con.execute("SELECT count(*) FROM ingest_batches").fetchone()[0]
    con.close()
    return files, contents, batches


def _prepare(data: Path, evidence: Path) -> None:
    assert _cli(data, "case", "new", "c").returncode == 0
    assert _cli(data, "evidence", "add", "c", str(evidence), "--label", "laptop").returncode == 0


def _kill_when(data: Path, rows_at_least: int) -> None:
    proc = subprocess.Popen([*SAFEHOLD, "ingest", "c", "--quiet"], env=_env(data), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if _rows(data) >= rows_at_least:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # the writer and its workers die at once, as on a power cut
    proc.wait(timeout=30)


@pytest.mark.slow
def test_kill_and_resume_equals_uninterrupted(tmp_path: Path) -> None:
    evidence = build_demo_evidence(tmp_path / "evidence").root
    for i in range(60):  # many small batches, so kills land mid-ingest
        (evidence / "bulk" / f"{i:03d}.txt").parent.mkdir(exist_ok=True)
        (evidence / "bulk" / f"{i:03d}.txt").write_text(f"note {i}\n" * (i + 1))

    clean = tmp_path / "clean"
    _prepare(clean, evidence)
    assert _cli(clean, "ingest", "c", "--quiet").returncode == 3  # the sample's damaged files

    killed = tmp_path / "killed"
    _prepare(killed, evidence)
    total = len(_state(clean)[0])
    seen = []
    for at in (0, 5, total // 3, (2 * total) // 3):
        _kill_when(killed, at)
        seen.append(_rows(killed))
    assert any(0 < n < total for n in seen), f"no kill landed mid-ingest: {seen} of {total}"
    resumed = _cli(killed, "ingest", "c", "--quiet")
    assert resumed.returncode == 3, resumed.stderr

    assert _state(killed) == _state(clean)
    again = _cli(killed, "ingest", "c")
    assert "already ingested, nothing to do" in again.stdout
    assert _state(killed) == _state(clean)


def test_resume_keeps_the_batch_sizes_of_the_first_run(tmp_path: Path) -> None:
    """Changing batch settings between a kill and a resume must not re-cut the batches."""
    evidence = tmp_path / "ev"
    evidence.mkdir()
    for i in range(40):
        (evidence / f"{i:02d}.txt").write_text(f"n{i}\n")
    data = tmp_path / "data"
    _prepare(data, evidence)
    _kill_when(data, 10)
    env = {**_env(data), "SAFEHOLD_BATCH_FILES": "7"}
    done = subprocess.run([*SAFEHOLD, "ingest", "c", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(data / "safehold.db")
    assert con.execute("SELECT batch_files FROM evidence_items").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM files").fetchone()[0] == 40
    assert con.execute("SELECT top_count FROM ingest_batches WHERE seq = 0").fetchone()[0] == 3
    con.close()
