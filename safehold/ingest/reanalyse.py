"""Worker side of ``analyse``: contents already stored, read back through their locator chains,
run through the extractors that are new or newer for them.

A task is one evidence item's share of the work (its source is opened, and a disk image walked,
once per task); its items are contents with the locator of one instance and the extractors to
run. The bytes are checked against the stored SHA-256 as they are read, so a changed or wrongly
resolved file yields an error, never facts about other bytes. Results are plain records the
writer stores in one transaction per task, which is what makes a killed run resumable.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from safehold.core.locator import Locator
from safehold.core.records import ArtifactRecord, ExtractorRun
from safehold.core.settings import Settings
from safehold.extractors.host import HEAD_BYTES, ContentRun, HostEnv, Known, error_of
from safehold.extractors.registry import Registry, installed
from safehold.ingest.interrupt import worker_ignores_sigint
from safehold.sources.chain import reach_all
from safehold.sources.factory import open_source

__all__ = ["AnalyseItem", "AnalyseTask", "AnalysedContent", "run_analyse_task", "worker_init"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class AnalyseItem:
    sha256: str
    locator: str  # the key of one instance (``core.locator.Locator.key``)
    mime: str | None
    media_kind: str | None
    size: int | None
    extractors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnalyseTask:
    seq: int
    evidence_id: int
    source_kind: str
    source_path: str
    items: tuple[AnalyseItem, ...]


@dataclass(slots=True)
class AnalysedContent:
    """One content's findings; ``error`` set when its bytes could not be reached or verified."""

    sha256: str
    facts: dict[str, Any] = field(default_factory=dict)
    runs: list[ExtractorRun] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    error: str | None = None


def worker_init() -> None:
    """A terminal's Ctrl-C reaches every process of the group: the parent alone decides to stop.
    And a worker outlives nothing: when the parent dies (kill -9, a power-off of its session) the
    pool's queues never close, so a watcher thread ends the worker once the parent is gone."""
    worker_ignores_sigint()
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True, name="parent-watch").start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _analyse_one(item: AnalyseItem, opener: Any, local: Path | None, name: str, env: HostEnv,
                 registry: Registry) -> AnalysedContent:
    run = ContentRun(registry.select(item.extractors), env, name, item.size, local, reopen=opener,
                     known=Known(item.sha256, item.mime, item.media_kind, item.size))
    try:
        f: BinaryIO
        with opener() as f:
            run.begin(f.read(HEAD_BYTES))
            while chunk := f.read(_CHUNK):
                run.feed(chunk)
        out = run.finish()
    except Exception as exc:  # unreadable now, or not the same bytes: nothing is recorded as done
        err = error_of(exc)
        return AnalysedContent(item.sha256, error=f"{err.code.value}: {err.message}")
    finally:
        run.discard()
    return AnalysedContent(item.sha256, out.facts, out.runs, out.artifacts)


def run_analyse_task(task: AnalyseTask, settings: Settings,
                     registry: Registry | None = None) -> tuple[int, list[AnalysedContent]]:
    """Every item of ``task``: ``(task.seq, results)``, one result per content. Worker processes
    load the registry themselves (built-ins and installed plugins); inline runs may pass one."""
    registry = registry or installed()
    scratch = settings.tmp_dir / f"analyse-{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    env = HostEnv(settings.limits, settings.video, scratch, settings.derived_dir)
    results: dict[str, AnalysedContent] = {}

    def reached(item: AnalyseItem, opener: Any, local: Path | None, name: str) -> None:
        if item.sha256 not in results or results[item.sha256].error is not None:
            results[item.sha256] = _analyse_one(item, opener, local, name, env, registry)

    def failed(item: AnalyseItem, err: Any) -> None:
        results.setdefault(item.sha256, AnalysedContent(item.sha256, error=f"{err.code.value}: {err.message}"))

    try:
        source = open_source(task.source_kind, Path(task.source_path))
        reach_all(source, task.source_kind, [(Locator.from_key(i.locator), i) for i in task.items],
                  settings.limits, scratch, reached, failed)
    except Exception as exc:  # the evidence itself cannot be opened now
        err = error_of(exc)
        for item in task.items:
            failed(item, err)
    return task.seq, [results[i.sha256] for i in task.items if i.sha256 in results]
