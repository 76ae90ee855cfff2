"""Executors run batch tasks and hand back events in the writer's process.

``InlineExecutor`` runs in-process (tests, debugging). ``LocalProcessExecutor`` uses one process
per core; a worker that dies (a decoder crash, the OOM killer) is replaced, its batch is retried
from the first unfinished file, and a file that kills a worker twice is recorded as
``worker_crash`` and skipped. Queues are bounded, so memory does not grow with evidence size.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from safehold.core.settings import Settings
from safehold.ingest.records import (
    BatchCrashed,
    BatchEvent,
    BatchFinished,
    BatchTask,
    RecordsChunk,
    crash_record,
)
from safehold.ingest.worker import run_batch

__all__ = ["Executor", "InlineExecutor", "LocalProcessExecutor", "make_executor"]


class Executor(Protocol):
    name: str

    def run(self, tasks: Iterable[BatchTask]) -> Iterator[BatchEvent]: ...


class InlineExecutor:
    name = "inline"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, tasks: Iterable[BatchTask]) -> Iterator[BatchEvent]:
        for task in tasks:
            yield from run_batch(task, self.settings)
            yield BatchFinished(task)


def _worker_main(wid: int, settings: Settings, tasks: Any, results: Any) -> None:
    while True:
        task: BatchTask | None = tasks.get()
        if task is None:
            return
        results.put(("start", wid, task))
        for chunk in run_batch(task, settings):
            results.put(("chunk", wid, chunk))
        results.put(("done", wid, task))


class LocalProcessExecutor:
    name = "local"

    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.settings = settings
        self.workers = max(1, workers or settings.workers)
        self._ctx = mp.get_context("spawn")  # no fork: the parent holds DB connections and threads

    def run(self, tasks: Iterable[BatchTask]) -> Iterator[BatchEvent]:
        task_q: Any = self._ctx.Queue(maxsize=self.workers * 2)
        result_q: Any = self._ctx.Queue(maxsize=self.workers * 8)
        procs: dict[int, BaseProcess] = {}
        running: dict[int, tuple[BatchTask, int]] = {}  # wid -> (task, done_upto received)
        crashes: dict[tuple[int, int], int] = {}  # (seq, index) -> times a worker died there
        retries: deque[BatchTask] = deque()  # pushed by the main loop, never blocking on a full queue
        outstanding = 0
        lock = threading.Lock()
        feeding_done = threading.Event()
        stop = threading.Event()

        def start(wid: int) -> None:
            p = self._ctx.Process(target=_worker_main, args=(wid, self.settings, task_q, result_q), daemon=True)
            p.start()
            procs[wid] = p

        def feed() -> None:
            nonlocal outstanding
            try:
                for t in tasks:
                    with lock:
                        outstanding += 1
                    while not stop.is_set():
                        try:
                            task_q.put(t, timeout=0.5)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
            finally:
                feeding_done.set()

        for wid in range(self.workers):
            start(wid)
        feeder = threading.Thread(target=feed, name="safehold-feeder", daemon=True)
        feeder.start()
        try:
            while True:
                with lock:
                    if feeding_done.is_set() and outstanding == 0:
                        break
                while retries:
                    try:
                        task_q.put_nowait(retries[0])
                        retries.popleft()
                    except queue.Full:
                        break
                try:
                    kind, wid, payload = result_q.get(timeout=0.5)
                except queue.Empty:
                    yield from self._reap(procs, running, crashes, retries, start)
                    continue
                if kind == "start":
                    running[wid] = (payload, payload.start)
                elif kind == "chunk":
                    task, _ = running[wid]
                    running[wid] = (task, payload.done_upto)
                    yield payload
                else:
                    running.pop(wid, None)
                    with lock:
                        outstanding -= 1
                    yield BatchFinished(payload)
        finally:
            stop.set()
            for _ in procs:
                try:
                    task_q.put_nowait(None)
                except queue.Full:
                    break
            for p in procs.values():
                p.join(timeout=2)
                if p.is_alive():
                    p.terminate()
            feeder.join(timeout=2)

    def _reap(
        self,
        procs: dict[int, BaseProcess],
        running: dict[int, tuple[BatchTask, int]],
        crashes: dict[tuple[int, int], int],
        retries: deque[BatchTask],
        start: Any,
    ) -> Iterator[BatchEvent]:
        """Replace dead workers; retry their batch, skipping a file that killed two workers."""
        for wid, p in list(procs.items()):
            if p.is_alive():
                continue
            detail = f"exit code {p.exitcode}"
            start(wid)
            if wid not in running:
                continue
            task, done_upto = running.pop(wid)
            yield BatchCrashed(task, done_upto, detail)
            key = (task.seq, done_upto)
            crashes[key] = crashes.get(key, 0) + 1
            resume_at = done_upto
            if crashes[key] >= 2:
                yield RecordsChunk(task.seq, [crash_record(task, done_upto, detail)], done_upto + 1,
                                   task.entries[done_upto].size)
                resume_at = done_upto + 1
            retry = BatchTask(task.evidence_id, task.seq, task.source_kind, task.source_path,
                              task.entries, resume_at)
            retries.append(retry)


def make_executor(settings: Settings, kind: str = "local") -> Executor:
    if kind == "inline":
        return InlineExecutor(settings)
    if kind == "local":
        return LocalProcessExecutor(settings)
    raise ValueError(f"unknown executor {kind!r} (choose local or inline)")
