"""Ctrl-C and SIGTERM during ``safehold ingest``: one line, exit 130, the item *interrupted* with a
custody event, no worker left behind, and a resume that equals an uninterrupted ingest."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from safehold.core.settings import Settings
from safehold.ingest.executor import InlineExecutor, LocalProcessExecutor
from safehold.ingest.interrupt import Interrupted, check_stop, stop_signals
from safehold.ingest.records import BatchEvent, BatchTask, RecordsChunk
from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence, list_evidence
from safehold.services.ingest import run_ingest
from safehold.sources.base import TopEntry
from safehold.store.job_models import JobRow
from safehold.store.models import EvidenceItem, FileInstance
from safehold.store.review_models import AuditEvent
from safehold.testing.images import encode, synthetic_photo

SAFEHOLD = [sys.executable, "-m", "safehold.cli"]
PHOTOS = 360  # a few seconds of work on two workers, so the signal lands mid-ingest

OPERATOR = Authz.local("test:officer")


def _env(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SAFEHOLD_DATA_DIR=str(data), SAFEHOLD_BATCH_FILES="4", SAFEHOLD_WORKERS="2",
               SAFEHOLD_COMMIT_SECONDS="0")
    env.pop("SAFEHOLD_DATABASE_URL", None)
    return env


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SAFEHOLD, *args], env=_env(data), capture_output=True, text=True, timeout=300)


def _query(data: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"file:{data / 'safehold.db'}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _rows(data: Path) -> int:
    try:
        return int(str(_query(data, "SELECT count(*) FROM files")[0][0]))
    except sqlite3.OperationalError:  # not created yet
        return 0


def _files(data: Path) -> set[tuple[object, ...]]:
    return set(_query(data, "SELECT locator, sha256, error_code FROM files"))


def _prepare(data: Path, evidence: Path) -> None:
    assert _cli(data, "case", "new", "c").returncode == 0
    assert _cli(data, "evidence", "add", "c", str(evidence), "--label", "laptop").returncode == 0


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[tuple[object, ...]]]:
    """Photos (distinct bytes, a few distinct pictures) and the files an uninterrupted ingest stores."""
    root = tmp_path_factory.mktemp("interrupt")
    ev = root / "evidence"
    pictures = [encode(synthetic_photo(i, (480, 360)), "JPEG", quality=85) for i in range(8)]
    for i in range(PHOTOS):
        folder = ev / f"DCIM/{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{i:04d}.JPG").write_bytes(pictures[i % 8] + i.to_bytes(4, "big"))  # after EOI
    (ev / "empty.txt").write_bytes(b"")  # one recorded error, to compare error codes too
    clean = root / "clean"
    _prepare(clean, ev)
    assert _cli(clean, "ingest", "c", "--quiet").returncode == 3
    return ev, _files(clean)


def _stopped(data: Path, evidence: Path, sig: signal.Signals, whole_group: bool) -> subprocess.Popen[str]:
    """Start an ingest and send ``sig`` once it has stored some files (not all)."""
    _prepare(data, evidence)
    proc = subprocess.Popen([*SAFEHOLD, "ingest", "c", "--quiet"], env=_env(data), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and _rows(data) < 24:
        time.sleep(0.02)
    assert proc.poll() is None, "ingest ended before the signal"
    if whole_group:  # as a terminal's Ctrl-C: the writer, its workers and the forkserver all get it
        os.killpg(proc.pid, sig)
    else:  # as `kill PID` or a service manager
        os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    return proc


def _group_gone(pgid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "whole_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["sigint", "sigterm"])
def test_signal_stops_cleanly_and_resume_equals_uninterrupted(
        tmp_path: Path, evidence: tuple[Path, set[tuple[object, ...]]], sig: signal.Signals,
        whole_group: bool) -> None:
    ev, clean = evidence
    data = tmp_path / "data"
    proc = _stopped(data, ev, sig, whole_group)
    out, err = proc.stdout.read() if proc.stdout else "", proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted: evidence 1 stopped at ") and '"safehold ingest c" to resume' in lines[0]
    assert _group_gone(proc.pid), "a worker or the forkserver outlived the stopped ingest"

    stored = _rows(data)
    assert 0 < stored < len(clean)
    assert _query(data, "SELECT ingest_state FROM evidence_items") == [("interrupted",)]
    custody = [a for (a,) in _query(data, "SELECT action FROM custody_events ORDER BY id")]
    assert custody[-2:] == ["ingest-started", "ingest-interrupted"]
    audit = [a for (a,) in _query(data, "SELECT action FROM audit_events ORDER BY seq")]
    assert audit[-2:] == ["ingest-start", "ingest-interrupt"]
    assert _query(data, "SELECT count(*) FROM jobs") == [(0,)]  # nothing derived from half an item

    resumed = _cli(data, "ingest", "c", "--quiet")
    assert resumed.returncode == 3, resumed.stderr
    assert "job gallery done" in resumed.stdout and "job clusters done" in resumed.stdout
    assert _files(data) == clean
    assert _query(data, "SELECT ingest_state FROM evidence_items") == [("done",)]
    custody = [a for (a,) in _query(data, "SELECT action FROM custody_events ORDER BY id")]
    assert custody[-2:] == ["ingest-resumed", "ingested"]


def slow_runner(task: BatchTask, settings: Settings) -> Iterator[RecordsChunk]:
    """A batch that takes a second per file, in Python code (where a KeyboardInterrupt would land)."""
    for i in range(task.start, len(task.entries)):
        for _ in range(100):
            time.sleep(0.01)
        yield RecordsChunk(task.seq, [], i + 1, task.entries[i].size)


def test_workers_ignore_ctrl_c_and_stop_at_once_when_the_writer_stops(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=2)
    entries = tuple(TopEntry("fs", f"/f{i}", f"f{i}", 1) for i in range(30))
    tasks = [BatchTask(1, seq, "folder", str(tmp_path), entries) for seq in range(2)]
    events = LocalProcessExecutor(settings, workers=2, runner=slow_runner).run(tasks)
    next(events)  # both workers are busy now
    workers = multiprocessing.active_children()
    assert len(workers) == 2
    for w in workers:  # a terminal's Ctrl-C reaches them too
        assert w.pid is not None
        os.kill(w.pid, signal.SIGINT)
    time.sleep(0.3)
    assert all(w.is_alive() for w in workers), "a worker died of Ctrl-C: the writer stops them"
    started = time.monotonic()
    events.close()  # the writer's loop was interrupted
    assert time.monotonic() - started < 8, "workers were waited for, not stopped"  # their batches: 30 s
    assert not any(w.is_alive() for w in workers)


def test_stop_signals_turns_sigterm_into_keyboard_interrupt_and_restores_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), stop_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted well before this ends
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    with stop_signals():  # a second signal during the clean-up is ignored, not a second traceback
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    check_stop()  # outside, no stop is pending
    assert str(Interrupted("evidence 3 stopped at 41%", "safehold ingest c")) == (
        'interrupted: evidence 3 stopped at 41% — run "safehold ingest c" to resume')


class StoppedExecutor(InlineExecutor):
    """Runs inline and is stopped, as by Ctrl-C, at its ``after``-th event."""

    def __init__(self, settings: Settings, after: int) -> None:
        super().__init__(settings)
        self.after = after

    def run(self, tasks: Iterable[BatchTask]) -> Generator[BatchEvent, None, None]:
        for i, event in enumerate(super().run(tasks)):
            if i == self.after:
                raise KeyboardInterrupt
            yield event


def _stored(svc: ServiceContext, evidence_id: int) -> set[tuple[object, ...]]:
    with svc.db.session() as s:
        return set(s.execute(select(FileInstance.path, FileInstance.sha256, FileInstance.error_code,
                                    FileInstance.batch_seq).where(FileInstance.evidence_id == evidence_id)).all())


def test_interrupted_ingest_is_marked_and_resumes_to_the_same_files(db_url: str, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    for i in range(20):
        (ev / f"n{i:02d}.txt").write_text(f"note {i}\n" * (i + 1))
    (ev / "empty.bin").write_bytes(b"")
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, batch_files=3, commit_seconds=0)
    svc = ServiceContext.open(settings, actor="test:officer")
    local = Authz.local("test:officer")
    try:
        for name in ("stopped", "clean"):
            create_case(svc, OPERATOR, name)
            add_evidence(svc, OPERATOR, name, ev, "laptop")
        with pytest.raises(Interrupted) as info:
            run_ingest(svc, local, "stopped", executor=StoppedExecutor(settings, after=9))
        assert info.value.resume == "safehold ingest stopped"
        percent = int(info.value.what.removeprefix("evidence 1 stopped at ").removesuffix("%"))
        assert 0 < percent < 100
        item = list_evidence(svc, OPERATOR, "stopped")[0]
        assert item.ingest_state == "interrupted"
        assert item.custody[-1]["action"] == "ingest-interrupted"
        assert item.custody[-1]["details"] == {"done_percent": percent, "reason": "stop signal"}
        with svc.db.session() as s:
            actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
            assert actions[-2:] == ["ingest-start", "ingest-interrupt"]
            assert s.scalar(select(JobRow.name).limit(1)) is None  # nothing to derive from half an item
        assert 0 < len(_stored(svc, 1)) < 21

        run_ingest(svc, local, "stopped", executor=InlineExecutor(settings))
        run_ingest(svc, local, "clean", executor=InlineExecutor(settings))
        assert _stored(svc, 1) == _stored(svc, 2) and len(_stored(svc, 1)) == 21
        resumed = list_evidence(svc, OPERATOR, "stopped")[0]
        assert resumed.ingest_state == "done"
        assert [c["action"] for c in resumed.custody][-2:] == ["ingest-resumed", "ingested"]
        assert resumed.custody[-2]["details"]["after"] == "interrupted"
    finally:
        svc.db.dispose()


def test_an_item_left_running_by_a_killed_ingest_is_resumed(ctx: ServiceContext, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_text("a\n")
    create_case(ctx, OPERATOR, "c")
    item = add_evidence(ctx, OPERATOR, "c", ev, "laptop")
    with ctx.db.session() as s:  # what kill -9 leaves behind
        s.execute(update(EvidenceItem).where(EvidenceItem.id == item.id).values(ingest_state="running"))
    run_ingest(ctx, Authz.local("test"), "c", executor=InlineExecutor(ctx.settings))
    custody = list_evidence(ctx, OPERATOR, "c")[0].custody
    assert [c["action"] for c in custody][-2:] == ["ingest-resumed", "ingested"]
    assert custody[-2]["details"]["after"] == "running"


class _SignalledWhileCollected:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs here, and Python drops what a finaliser raises


def test_a_stop_dropped_by_a_finaliser_is_not_lost_nor_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with stop_signals():
        _SignalledWhileCollected()  # collected at once
        with pytest.raises(KeyboardInterrupt):
            check_stop()  # what the long loops call at each step
    assert "KeyboardInterrupt" not in capsys.readouterr().err
    check_stop()


def test_a_stop_inside_a_shielded_write_waits_for_its_end() -> None:
    import os
    import signal

    from safehold.ingest.interrupt import shielded, stop_signals

    reached = []
    with pytest.raises(KeyboardInterrupt), stop_signals():
        with shielded():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("the write finished")  # not cut in two by the signal
        reached.append("never")
    assert reached == ["the write finished"]
