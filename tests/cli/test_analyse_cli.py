"""``safehold analyse`` as an investigator runs it: a plugin package pip-installed after the case
was ingested is applied to the old evidence (an archive inside a disk image too), and a run killed
with SIGKILL resumes to exactly what an uninterrupted run stores. Real processes, real installs."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.sources.disk.build import Layout, fat_image

PLUGIN = Path(__file__).parents[1] / "extractors" / "example_plugin"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example extractor package, installed by pip into its own folder (offline, no isolation)."""
    target = tmp_path_factory.mktemp("site")
    source = shutil.copytree(PLUGIN, tmp_path_factory.mktemp("plugin") / "example_plugin")  # pip builds in place
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(target), str(source)], check=True, capture_output=True,
                   cwd=tmp_path_factory.getbasetemp())
    return target


def _cli(data: Path, *args: str, site: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site) if site else "", "SAFEHOLD_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "safehold.cli", *args], env=env, capture_output=True, text=True,
                          check=check, timeout=300)


def _ingested(tmp_path: Path, data: Path, image: Path) -> None:
    _cli(data, "case", "new", "exhibits")
    _cli(data, "evidence", "add", "exhibits", str(image), "--label", "Exhibit E")
    _cli(data, "ingest", "exhibits", "-q")


def test_a_plugin_installed_after_ingest_is_applied_by_analyse(tmp_path: Path, plugin_site: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mail/1.txt", "From: Amina@Example.org\nTo: bilal@example.net\n")
    image = fat_image(tmp_path / "disk.img", Layout({"chats/export.zip": buf.getvalue(),
                                                     "readme.txt": b"contact: saima@example.com\n"}))
    data = tmp_path / "data"
    _ingested(tmp_path, data, image)
    before = _cli(data, "extractors", "--json").stdout
    assert "example.emails" not in before
    listed = [json.loads(line) for line in _cli(data, "extractors", "--json", site=plugin_site).stdout.splitlines()]
    plugin = next(x for x in listed if x["name"] == "example.emails")
    assert plugin["version"] == 1 and plugin["origin"].startswith("plugin: safehold-example-emails 0.1.0")
    run = _cli(data, "analyse", "exhibits", "-q", site=plugin_site)
    assert "2 of 2 contents analysed" in run.stdout and "3 artifacts" in run.stdout
    out = [json.loads(line) for line in _cli(data, "artifacts", "exhibits", "--json", site=plugin_site).stdout
           .splitlines()]
    assert {(a["value"], a["offset"], a["locators"][0]) for a in out} == {
        ("amina@example.org", 6, "evidence:1 / fat:/chats/export.zip / zip:mail/1.txt"),
        ("bilal@example.net", 28, "evidence:1 / fat:/chats/export.zip / zip:mail/1.txt"),
        ("saima@example.com", 9, "evidence:1 / fat:/readme.txt"),
    }
    assert all(a["extractor"] == "example.emails" and a["version"] == 1 and a["kind"] == "email" for a in out)
    assert set(out[0]) >= {"sha256", "extractor", "version", "kind", "value", "offset", "where", "locators"}
    assert "nothing to do" in _cli(data, "analyse", "--all", site=plugin_site).stdout


def _findings(db: Path) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    with sqlite3.connect(db) as c:
        arts = {tuple(map(str, r)) for r in c.execute("SELECT key, sha256, extractor, version, kind, value, offset "
                                                      "FROM artifacts")}
        ledger = {tuple(map(str, r)) for r in c.execute("SELECT sha256, extractor, version, error FROM extractor_runs")}
    return arts, ledger


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding 1,500 ingested text files, copied by each test that analyses it."""
    base = tmp_path_factory.mktemp("messages")
    corpus = base / "corpus"
    for i in range(1500):
        d = corpus / f"d{i // 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i:04d}.txt").write_text(f"message {i} from user{i}@example.org to peer{i * 7}@example.net\n" * 5)
    _ingested(base, base / "data", corpus)
    return base / "data"


def _copy(template: Path, to: Path) -> Path:
    shutil.copytree(template, to)
    return to


def _start(data: Path, site: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "PYTHONPATH": str(site), "SAFEHOLD_DATA_DIR": str(data)}
    proc = subprocess.Popen([sys.executable, "-m", "safehold.cli", "analyse", "exhibits", "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    return proc, data / "safehold.db"


def _wait_for(db: Path, proc: subprocess.Popen[str], at_least: int) -> int:
    deadline, done = time.monotonic() + 60, 0
    while time.monotonic() < deadline and proc.poll() is None:
        with sqlite3.connect(db, timeout=30) as c:
            done = c.execute("SELECT count(*) FROM extractor_runs WHERE extractor = 'example.emails'").fetchone()[0]
        if done >= at_least:
            break
        time.sleep(0.05)
    return int(done)


def _left_behind(data: Path, within: float) -> list[int]:
    """Processes still running with this data directory in their environment (workers, the forkserver)."""
    needle = f"SAFEHOLD_DATA_DIR={data}".encode() + b"\0"
    deadline = time.monotonic() + within
    while True:
        alive = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and needle in (proc / "environ").read_bytes():
                    alive.append(int(proc.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def test_kill_9_during_analyse_then_resume_equals_an_uninterrupted_run(
        tmp_path: Path, plugin_site: Path, messages: Path) -> None:
    first, second = _copy(messages, tmp_path / "killed"), _copy(messages, tmp_path / "whole")
    proc, db = _start(first, plugin_site)
    done = _wait_for(db, proc, 200)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL and 200 <= done < 1500, (proc.returncode, done)
    assert _left_behind(first, within=15) == [], "workers outlived the killed analyse"
    resumed = _cli(first, "analyse", "exhibits", "-q", site=plugin_site).stdout
    left = int(resumed.split(" of ", 1)[1].split()[0])  # "N of M contents analysed": only what was left
    assert 0 < left <= 1500 - done
    _cli(second, "analyse", "exhibits", "-q", site=plugin_site)
    killed, whole = _findings(db), _findings(second / "safehold.db")
    assert killed[0] == whole[0] and len(whole[0]) == 1500 * 10
    assert {r[:3] for r in killed[1]} == {r[:3] for r in whole[1]}


def test_ctrl_c_during_analyse_stops_cleanly_and_resumes(tmp_path: Path, plugin_site: Path, messages: Path) -> None:
    data = _copy(messages, tmp_path / "stopped")
    proc, db = _start(data, plugin_site)
    _wait_for(db, proc, 100)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and 'run "safehold analyse 1" to resume' in lines[0], err
    with sqlite3.connect(db) as c:
        custody = [a for (a,) in c.execute("SELECT action FROM custody_events ORDER BY id")]
        audit = [a for (a,) in c.execute("SELECT action FROM audit_events ORDER BY seq")]
    assert custody[-2:] == ["analyse-started", "analyse-interrupted"] and audit[-1] == "analyse-interrupt"
    _cli(data, "analyse", "exhibits", "-q", site=plugin_site)
    assert len(_findings(db)[0]) == 1500 * 10
    assert "nothing to do" in _cli(data, "analyse", "exhibits", site=plugin_site).stdout


CRASHY = '''
import os
import shutil
import signal
from typing import ClassVar

from safehold.extractors.base import Accepts, ContentView, Extractor, Sink


class Crashy(Extractor):
    name: ClassVar[str] = "test.crashy"
    version: ClassVar[int] = 1
    accepts: ClassVar[Accepts] = Accepts(mimes=("text/",))

    def run(self, view: ContentView, sink: Sink) -> None:
        if b"KILL-WORKER" in view.read():
            os.kill(os.getpid(), signal.SIGKILL)  # a decoder that takes its process down
        sink.artifact("ok", view.name)
'''


def test_a_content_that_kills_its_worker_is_recorded_and_the_rest_is_analysed(tmp_path: Path) -> None:
    pkg = tmp_path / "crashy"
    (pkg / "safehold_test_crashy").mkdir(parents=True)
    (pkg / "safehold_test_crashy" / "__init__.py").write_text(CRASHY)
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "safehold-test-crashy"\nversion = "1.0"\n'
        '[project.entry-points."safehold.extractors"]\ncrashy = "safehold_test_crashy:Crashy"\n'
        '[tool.setuptools]\npackages = ["safehold_test_crashy"]\n')
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(pkg)], check=True, capture_output=True, cwd=tmp_path)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"note{i:02d}.txt").write_text(f"note {i}\n" + ("KILL-WORKER\n" if i == 17 else ""))
    data = tmp_path / "data"
    _ingested(tmp_path, data, corpus)
    run = _cli(data, "analyse", "exhibits", "-q", site=site, check=False)
    assert run.returncode == 3 and "Traceback" not in run.stderr, run.stderr
    assert "40 of 40 contents analysed" in run.stdout and "1 with extractor errors" in run.stdout
    found = [json.loads(line) for line in _cli(data, "artifacts", "exhibits", "--json", site=site).stdout.splitlines()]
    assert sorted(a["value"] for a in found) == sorted(f"note{i:02d}.txt" for i in range(40) if i != 17)
    with sqlite3.connect(data / "safehold.db") as c:
        errors = c.execute("SELECT error FROM extractor_runs WHERE extractor = 'test.crashy' AND error IS NOT NULL")
        assert [e for (e,) in errors] == ["worker_crash: the worker process died analysing this content"]
    assert "nothing to do" in _cli(data, "analyse", "exhibits", site=site).stdout  # not retried forever
