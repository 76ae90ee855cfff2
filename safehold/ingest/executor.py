"""Executors run batch tasks and hand back events in the writer's process.

``InlineExecutor`` runs in-process (tests, debugging). ``LocalProcessExecutor`` uses one process
per core, each with its own pipe: the writer hands a worker its next task only when the last is
done. Nothing is shared between workers, so a worker that dies (a decoder crash, the OOM killer)
cannot wedge the others by dying inside a shared queue's lock. A dead worker is replaced, its
batch retried from the first unfinished file, and a file that kills a worker twice is recorded
as ``worker_crash`` and skipped. Pipes give back-pressure, so memory stays bounded.

Workers ignore Ctrl-C (``ingest.interrupt``): when the writer's loop is interrupted, or stops
consuming for any other reason, it kills its workers at once rather than waiting for their
batches to end; what they were doing is redone on resume.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Protocol

from safehold.core.settings import Settings
from safehold.ingest.interrupt import check_stop, worker_ignores_sigint
from safehold.ingest.records import (
    BatchCrashed,
    BatchEvent,
    BatchFinished,
    BatchTask,
    RecordsChunk,
    crash_record,
)

__all__ = ["BatchRunner", "Executor", "InlineExecutor", "LocalProcessExecutor", "make_executor", "start_forkserver"]

BatchRunner = Callable[[BatchTask, Settings], Iterator[RecordsChunk]]

#: The worker module; the writer's process never imports it (decoders, libmagic, TSK: ~0.4 s).
WORKER_MODULE = "safehold.ingest.worker"


#: Thread-pool sizes of the numeric libraries, read once when each loads in the forkserver.
_POOL_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _one_thread_per_worker() -> None:
    """Keep numpy's BLAS to one thread in the workers (unless the operator set otherwise).

    There is one worker per core already; a BLAS pool per worker (one thread per core each)
    made PDQ's matrix products fight over the cores: 12-MP JPEGs ingested 2x slower. The
    variables must be in the environment the forkserver starts with, before numpy loads there.
    """
    for name in _POOL_VARIABLES:
        os.environ.setdefault(name, "1")


def start_forkserver(preload: list[str] | None = None) -> None:
    """Start the server that forks the workers, with the analysis code loading in it now.

    Idempotent: once running, later calls (and their preload lists) change nothing. The console
    script calls it before importing the CLI, so both imports overlap (``cli.entry``).
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(preload or [WORKER_MODULE])
    _one_thread_per_worker()
    forkserver.ensure_running()


def _default_runner() -> BatchRunner:
    from safehold.ingest.worker import run_batch

    return run_batch


class Executor(Protocol):
    name: str

    def run(self, tasks: Iterable[BatchTask]) -> Generator[BatchEvent, None, None]: ...


class InlineExecutor:
    name = "inline"

    def __init__(self, settings: Settings, runner: BatchRunner | None = None) -> None:
        self.settings = settings
        self.runner = runner

    def run(self, tasks: Iterable[BatchTask]) -> Generator[BatchEvent, None, None]:
        runner = self.runner or _default_runner()
        for task in tasks:
            yield from runner(task, self.settings)
            yield BatchFinished(task)


def _worker_main(conn: Connection, settings: Settings, runner: BatchRunner | None) -> None:
    worker_ignores_sigint()
    runner = runner or _default_runner()
    while True:
        try:
            task: BatchTask | None = conn.recv()
        except EOFError:  # the writer is gone: stop rather than linger as an orphan
            return
        if task is None:
            return
        for chunk in runner(task, settings):
            conn.send(chunk)
        conn.send(None)


@dataclass(slots=True)
class _Worker:
    proc: BaseProcess
    conn: Connection
    task: BatchTask | None = None
    done_upto: int = 0
    closed: bool = False  # its pipe hit EOF: the process is dead or dying


class LocalProcessExecutor:
    name = "local"

    def __init__(self, settings: Settings, workers: int | None = None, runner: BatchRunner | None = None) -> None:
        self.settings = settings
        self.workers = max(1, workers or settings.workers)
        self.runner = runner  # a module-level function: each worker imports it by name
        # forkserver, not fork: the writer holds DB connections and threads. The server starts
        # once with the analysis code preloaded, so workers (and replacements after a crash)
        # fork ready to run instead of re-importing the CLI and its dependencies each time.
        # It starts now, so its imports overlap the writer's store checks and planning.
        self._ctx = mp.get_context("forkserver")
        start_forkserver([WORKER_MODULE] if runner is None else [runner.__module__, WORKER_MODULE])

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, self.settings, self.runner), daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def run(self, tasks: Iterable[BatchTask]) -> Generator[BatchEvent, None, None]:
        source = iter(tasks)
        retries: deque[BatchTask] = deque()
        crashes: dict[tuple[int, int], int] = {}  # (seq, index) -> deaths there
        pool = [self._spawn() for _ in range(self.workers)]

        def assign(w: _Worker) -> None:
            task = retries.popleft() if retries else next(source, None)
            w.task, w.done_upto = task, task.start if task else 0
            if task is not None:
                w.conn.send(task)

        finished = False
        try:
            for w in pool:
                assign(w)
            while any(w.task is not None for w in pool):
                busy = [w for w in pool if w.task is not None]
                ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=1.0)
                check_stop()
                for w in busy:
                    if not w.closed and (w.conn in ready or w.conn.poll()):
                        yield from self._drain(w, assign)
                    # EOF can arrive before the process is reaped (forkserver reports exits late),
                    # so a closed pipe alone decides: the worker is gone either way.
                    if w.task is not None and (w.closed or w.proc.sentinel in ready or not w.proc.is_alive()):
                        yield from self._replace(pool, w, crashes, retries, assign)
            finished = True
        finally:
            if finished:
                _release(pool)
            else:  # interrupted, or the consumer stopped early: the workers' batches are abandoned
                _stop(pool)

    def _drain(self, w: _Worker, assign: Callable[[_Worker], None]) -> Iterator[BatchEvent]:
        while w.task is not None and w.conn.poll():
            try:
                msg: RecordsChunk | None = w.conn.recv()
            except (EOFError, OSError):
                w.closed = True  # died (perhaps mid-message): the caller replaces it
                return
            if msg is None:
                finished = w.task
                assign(w)
                yield BatchFinished(finished)
            else:
                w.done_upto = msg.done_upto
                yield msg

    def _replace(
        self,
        pool: list[_Worker],
        w: _Worker,
        crashes: dict[tuple[int, int], int],
        retries: deque[BatchTask],
        assign: Callable[[_Worker], None],
    ) -> Iterator[BatchEvent]:
        """A worker died: retry its batch from the first unfinished file, skipping a repeat killer."""
        task, done_upto = w.task, w.done_upto
        w.proc.join(timeout=5)
        if w.proc.is_alive():  # closed its pipe but lingers: it can do no more work
            w.proc.kill()
            w.proc.join(timeout=5)
        detail = f"exit code {w.proc.exitcode}"
        w.conn.close()
        fresh = self._spawn()
        pool[pool.index(w)] = fresh
        assert task is not None
        yield BatchCrashed(task, done_upto, detail)
        key = (task.seq, done_upto)
        crashes[key] = crashes.get(key, 0) + 1
        resume_at = done_upto
        if crashes[key] >= 2 and done_upto < len(task.entries):
            yield RecordsChunk(task.seq, [crash_record(task, done_upto, detail)], done_upto + 1,
                               task.entries[done_upto].size)
            resume_at = done_upto + 1
        retries.append(BatchTask(task.evidence_id, task.seq, task.source_kind, task.source_path,
                                 task.entries, resume_at))
        assign(fresh)


def _release(pool: list[_Worker]) -> None:
    """Every batch is done: each idle worker is told to exit."""
    for w in pool:
        with contextlib.suppress(OSError):  # already dead
            w.conn.send(None)
    for w in pool:
        w.proc.join(timeout=5)
        if w.proc.is_alive():
            w.proc.terminate()
        w.conn.close()


def _stop(pool: list[_Worker], grace: float = 1.0) -> None:
    """Stop busy workers now: SIGTERM (which ends them without a word), SIGKILL after ``grace``."""
    for w in pool:
        with contextlib.suppress(OSError, ValueError):  # already gone
            w.proc.terminate()
    for w in pool:
        w.proc.join(timeout=grace)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(timeout=grace)
        w.conn.close()


def make_executor(settings: Settings, kind: str = "local") -> Executor:
    if kind == "inline":
        return InlineExecutor(settings)
    if kind == "local":
        return LocalProcessExecutor(settings)
    raise ValueError(f"unknown executor {kind!r} (choose local or inline)")
