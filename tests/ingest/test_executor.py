"""Worker crashes: the batch is retried, and a file that kills two workers is recorded, not fatal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from safehold.core.settings import Settings
from safehold.ingest.executor import LocalProcessExecutor
from safehold.ingest.pipeline import plan_batches
from safehold.ingest.records import BatchCrashed, BatchFinished, BatchTask, RecordsChunk
from safehold.ingest.worker import run_batch
from safehold.sources.folder import FolderSource


def crashing_runner(task: BatchTask, settings: Settings) -> Iterator[RecordsChunk]:
    """Dies (as a segfaulting decoder would) whenever it reaches a file named poison*."""
    for i in range(task.start, len(task.entries)):
        if task.entries[i].path.rsplit("/", 1)[-1].startswith("poison"):
            os._exit(139)
        sub = BatchTask(task.evidence_id, task.seq, task.source_kind, task.source_path, task.entries, i)
        first = next(iter(run_batch(sub, settings)))
        yield RecordsChunk(task.seq, first.records[:1], i + 1, task.entries[i].size)
    yield RecordsChunk(task.seq, [], len(task.entries), 0)


def test_poison_file_is_recorded_and_the_rest_ingested(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    root.mkdir()
    for i in range(12):
        (root / f"f{i:02d}.txt").write_text(f"file {i}\n")
    (root / "f05_poison.txt").write_text("x")
    (root / "poison.bin").write_text("boom")
    settings = Settings(data_dir=tmp_path / "data", workers=2, batch_files=5)
    tasks = list(plan_batches(1, "folder", root, FolderSource(root), settings.batch_files, settings.batch_bytes))
    events = list(LocalProcessExecutor(settings, workers=2, runner=crashing_runner).run(tasks))

    records = [r for e in events if isinstance(e, RecordsChunk) for r in e.records]
    by_name = {r.name: r for r in records}
    assert set(by_name) == {p.name for p in root.iterdir()}
    assert by_name["poison.bin"].error is not None
    assert by_name["poison.bin"].error.code == "worker_crash"
    assert by_name["f05_poison.txt"].content is not None  # only the name's start matters
    assert sum(isinstance(e, BatchCrashed) for e in events) == 2  # two deaths before giving up on it
    assert sorted(e.task.seq for e in events if isinstance(e, BatchFinished)) == [t.seq for t in tasks]


def test_a_refused_ref_is_an_error_on_that_file_not_a_dead_worker(tmp_path: Path) -> None:
    from safehold.sources.base import TopEntry

    root = tmp_path / "ev"
    root.mkdir()
    (root / "ok.txt").write_text("fine\n")
    settings = Settings(data_dir=tmp_path / "data")
    entries = (TopEntry("fs", "/escape", "../outside.txt", 4), TopEntry("fs", "/ok.txt", "ok.txt", 5))
    task = BatchTask(1, 0, "folder", str(root), entries)
    records = [r for chunk in run_batch(task, settings) for r in chunk.records]
    assert [r.path for r in records] == ["/escape", "/ok.txt"]
    assert records[0].error is not None and records[0].error.code == "unsafe_path"
    assert records[1].error is None and records[1].content is not None
