"""Re-analysis use case: run every extractor that is new, or has a newer version, over the contents
a case already holds, reading them back through their locator chains.

The ledger (``extractor_runs``) says which version of which extractor ran on which content; the
plan is every (content, extractor) pair of the case whose extractor accepts the content's stored
type and has no ledger line at its current version. Work is split per evidence item (its source is
opened, a disk image walked, once per task), tasks run on all cores, and each task's findings are
written in one transaction with their ledger lines: a run killed at any point resumes with exactly
the work that is left, and ends with what an uninterrupted run stores. With nothing new it reads
nothing.
"""

from __future__ import annotations

import multiprocessing as mp
import shlex
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from safehold.core.records import ExtractorRun
from safehold.extractors.base import Extractor
from safehold.extractors.registry import Registry, load_registry
from safehold.ingest.interrupt import Interrupted, check_stop, shielded
from safehold.ingest.reanalyse import AnalysedContent, AnalyseItem, AnalyseTask, run_analyse_task, worker_init
from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of
from safehold.services.context import ServiceContext
from safehold.services.evidence import record_custody
from safehold.store.artifact_models import ExtractorLedger
from safehold.store.artifact_repo import write_findings
from safehold.store.ingest_repo import update_content
from safehold.store.models import Case, Content, EvidenceItem, FileInstance

__all__ = ["AnalyseProgress", "AnalyseReport", "analyse_all", "plan_analysis", "run_analyse"]

TASK_ITEMS = 64  # contents per task: small enough to lose little to a kill, large enough to amortise a walk


class AnalyseProgress(Protocol):
    def begin(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


class _Quiet:
    def begin(self, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


@dataclass(slots=True)
class AnalyseReport:
    case_ids: list[int]
    extractors: list[str]
    planned: int = 0  # contents with something to do
    analysed: int = 0
    unreachable: int = 0  # could not be read back (evidence moved, changed): tried again next run
    errors: int = 0  # an extractor failed on the content (recorded in the ledger)
    by_extractor: Counter[str] = field(default_factory=Counter)
    artifacts: int = 0
    problems: list[str] = field(default_factory=list)


def _todo(s: Session, case_id: int, x: Extractor) -> Iterator[tuple[str, str | None, str | None, int | None]]:
    """Contents of the case this extractor accepts and has not run on at its current version."""
    ledger = and_(ExtractorLedger.sha256 == Content.sha256, ExtractorLedger.extractor == x.name)
    rows = s.execute(
        select(Content.sha256, Content.mime, Content.media_kind, Content.size).distinct()
        .join(FileInstance, FileInstance.sha256 == Content.sha256)
        .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
        .outerjoin(ExtractorLedger, ledger)
        .where(EvidenceItem.case_id == case_id, Content.size > 0,
               or_(ExtractorLedger.version.is_(None), ExtractorLedger.version < x.version))
    )
    for sha, mime, kind, size in rows:
        if x.accepts.matches(mime, kind, size):
            yield sha, mime, kind, size


def plan_analysis(ctx: ServiceContext, case_id: int, extractors: Sequence[Extractor]) -> list[AnalyseTask]:
    """The tasks left to do for this case (none when every extractor is current everywhere)."""
    wanted: dict[str, tuple[str | None, str | None, int | None, list[str]]] = {}
    with ctx.db.session() as s:
        for x in extractors:
            for sha, mime, kind, size in _todo(s, case_id, x):
                wanted.setdefault(sha, (mime, kind, size, []))[3].append(x.name)
        if not wanted:
            return []
        place: dict[str, tuple[int, str]] = {}
        shas = sorted(wanted)
        for i in range(0, len(shas), 500):
            rows = s.execute(
                select(FileInstance.sha256, FileInstance.evidence_id, FileInstance.locator)
                .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                .where(EvidenceItem.case_id == case_id, FileInstance.sha256.in_(shas[i:i + 500]))
                .order_by(FileInstance.error_code.is_not(None), FileInstance.depth, FileInstance.id))
            for found, eid, loc in rows:
                if found is not None:
                    place.setdefault(found, (eid, loc))
        sources = {e.id: (e.source_kind, e.source_path) for e in s.scalars(
            select(EvidenceItem).where(EvidenceItem.case_id == case_id))}
    by_item: dict[int, list[AnalyseItem]] = defaultdict(list)
    for sha, (mime, kind, size, names) in wanted.items():
        eid, loc = place[sha]
        by_item[eid].append(AnalyseItem(sha, loc, mime, kind, size, tuple(names)))
    tasks: list[AnalyseTask] = []
    for eid in sorted(by_item):
        items = sorted(by_item[eid], key=lambda i: i.locator)  # members of one container stay together
        kind, path = sources[eid]
        for i in range(0, len(items), TASK_ITEMS):
            tasks.append(AnalyseTask(len(tasks), eid, kind, path, tuple(items[i:i + TASK_ITEMS])))
    return tasks


def _store(ctx: ServiceContext, results: list[AnalysedContent], report: AnalyseReport) -> None:
    done = [r for r in results if r.error is None]
    with shielded(), ctx.db.session() as s:
        for r in done:
            update_content(s, r.sha256, r.facts)
        write_findings(s, ((r.sha256, r.runs, r.artifacts) for r in done), replace=True)
    for r in results:
        if r.error is not None:
            report.unreachable += 1
            if len(report.problems) < 20:
                report.problems.append(f"{r.sha256[:12]}: {r.error}")
            continue
        report.analysed += 1
        report.artifacts += len(r.artifacts)
        report.by_extractor.update(run.extractor for run in r.runs)
        report.errors += any(run.error for run in r.runs)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("forkserver"), initializer=worker_init)


def _close(pool: ProcessPoolExecutor) -> None:
    """Stop at once: work no one will store is not waited for (a Ctrl-C, a broken pool)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _crashed(task: AnalyseTask, versions: dict[str, int]) -> list[AnalysedContent]:
    """A content that killed its worker process when analysed alone: recorded as failed for the
    extractors it was to run (so it is not retried forever), like ingest's ``worker_crash``."""
    item = task.items[0]
    msg = "worker_crash: the worker process died analysing this content"
    return [AnalysedContent(item.sha256, runs=[ExtractorRun(name, versions[name], msg) for name in item.extractors])]


class _Runner:
    """Tasks on a process pool, at most two per worker queued. A pool that breaks (a decoder killed
    its worker) cannot say which task did it: the tasks it held are re-run one at a time, a task
    that breaks a pool alone is split into its contents, and a content that breaks one alone is
    recorded as a crash. Nothing innocent is blamed, and the run goes on."""

    def __init__(self, ctx: ServiceContext, workers: int, versions: dict[str, int],
                 store: Callable[[AnalyseTask, list[AnalysedContent]], None]) -> None:
        self.ctx, self.workers, self.versions, self.store = ctx, workers, versions, store

    def run(self, tasks: list[AnalyseTask]) -> None:
        queue, suspects = deque(tasks), deque[AnalyseTask]()
        self.solo: ProcessPoolExecutor | None = None
        try:
            while queue or suspects:
                if suspects:
                    self._alone(suspects.popleft(), suspects)
                    continue
                pool = _pool(self.workers)
                try:
                    suspects.extend(self._drain(pool, queue))
                finally:
                    _close(pool)
        finally:
            if self.solo is not None:
                _close(self.solo)

    def _drain(self, pool: ProcessPoolExecutor, queue: deque[AnalyseTask]) -> list[AnalyseTask]:
        """Run the queue; the tasks in flight when the pool broke, if it did."""
        running: dict[Future[tuple[int, list[AnalysedContent]]], AnalyseTask] = {}
        while queue or running:
            while queue and len(running) < 2 * self.workers:
                task = queue.popleft()
                try:
                    running[pool.submit(run_analyse_task, task, self.ctx.settings)] = task
                except BrokenProcessPool:  # it broke before this one was queued
                    return [task, *running.values()]
            finished, _ = wait(running, return_when=FIRST_COMPLETED, timeout=1.0)
            check_stop()
            for fut in finished:
                task = running.pop(fut)
                try:
                    _, results = fut.result()
                except BrokenProcessPool:
                    return [task, *running.values()]
                self.store(task, results)
        return []

    def _alone(self, task: AnalyseTask, suspects: deque[AnalyseTask]) -> None:
        """One task on a one-worker pool, kept while it survives."""
        self.solo = self.solo or _pool(1)
        try:
            _, results = self.solo.submit(run_analyse_task, task, self.ctx.settings).result()
        except BrokenProcessPool:
            _close(self.solo)
            self.solo = None
            if len(task.items) > 1:
                suspects.extend(replace(task, items=(item,)) for item in task.items)
            else:
                self.store(task, _crashed(task, self.versions))
            return
        self.store(task, results)


def _execute(ctx: ServiceContext, tasks: list[AnalyseTask], workers: int, progress: AnalyseProgress,
             report: AnalyseReport, registry: Registry) -> None:
    """Tasks on ``workers`` processes (inline when 1), stored as each one ends, in any order."""
    def store(task: AnalyseTask, results: list[AnalysedContent]) -> None:
        _store(ctx, results, report)
        progress.advance(len(task.items))

    if workers <= 1:
        for task in tasks:
            check_stop()
            store(task, run_analyse_task(task, ctx.settings, registry)[1])
        return
    _Runner(ctx, workers, {x.name: x.version for x in registry.extractors}, store).run(tasks)


def _custody(ctx: ServiceContext, authz: Authz, tasks: list[AnalyseTask], action: str, **details: object) -> None:
    with ctx.db.session() as s:
        for eid in sorted({t.evidence_id for t in tasks}):
            record_custody(s, eid, authz.actor, action, **details)


def _analyse_cases(ctx: ServiceContext, authz: Authz, case_ids: list[int], names: Sequence[str],
                   workers: int | None, progress: AnalyseProgress | None, registry: Registry | None,
                   target: str) -> AnalyseReport:
    """``target`` is what the command named (a case, or ``--all``), for the resume hint after a stop."""
    resume = " ".join(["safehold analyse", target, *(f"--extractor {shlex.quote(n)}" for n in names)])
    registry = registry or load_registry()
    extractors = registry.select(names)
    report = AnalyseReport(case_ids, [x.name for x in extractors])
    progress = progress or _Quiet()
    plans = [(case_id, plan_analysis(ctx, case_id, extractors)) for case_id in case_ids]
    progress.begin(sum(len(t.items) for _, tasks in plans for t in tasks))
    for case_id, tasks in plans:  # audited even when nothing is new: someone asked, and nothing was read
        _analyse_case(ctx, authz, case_id, tasks, workers or ctx.settings.workers, progress, report, registry,
                      resume)
    return report


def _analyse_case(ctx: ServiceContext, authz: Authz, case_id: int, tasks: list[AnalyseTask], workers: int,
                  progress: AnalyseProgress, report: AnalyseReport, registry: Registry, resume: str) -> None:
    """One case's plan, between its audit records and custody events (started, finished or interrupted)."""
    count = sum(len(t.items) for t in tasks)
    report.planned += count
    before = (report.analysed, report.unreachable, report.errors, report.artifacts)
    record_event(ctx, authz.actor, "analyse-start", case_id, None, extractors=report.extractors, contents=count)
    if not tasks:
        record_event(ctx, authz.actor, "analyse-finish", case_id, None, analysed=0, unreachable=0, errors=0,
                     artifacts=0)
        return
    _custody(ctx, authz, tasks, "analyse-started", extractors=report.extractors, contents=count)
    try:
        _execute(ctx, tasks, workers, progress, report, registry)
    except KeyboardInterrupt:
        done = report.analysed - before[0]
        record_event(ctx, authz.actor, "analyse-interrupt", case_id, None, analysed=done, of=count)
        _custody(ctx, authz, tasks, "analyse-interrupted", analysed=done, of=count)
        raise Interrupted(f"analysis of case {case_id} stopped after {done} of {count} contents",
                          resume) from None
    analysed, unreachable, errors, artifacts = (now - then for now, then in zip(
        (report.analysed, report.unreachable, report.errors, report.artifacts), before, strict=True))
    record_event(ctx, authz.actor, "analyse-finish", case_id, None, analysed=analysed, unreachable=unreachable,
                 errors=errors, artifacts=artifacts)
    _custody(ctx, authz, tasks, "analysed", extractors=report.extractors, analysed=analysed, unreachable=unreachable)


def run_analyse(ctx: ServiceContext, authz: Authz, case_ref: str | int, names: Sequence[str] = (),
                workers: int | None = None, progress: AnalyseProgress | None = None,
                registry: Registry | None = None) -> AnalyseReport:
    """Run the named extractors (all when none are named) wherever they are new or newer in one case."""
    require(authz.can_analyse(case_id := case_id_of(ctx, case_ref)), "analyse this case")
    return _analyse_cases(ctx, authz, [case_id], names, workers, progress, registry, str(case_id))


def analyse_all(ctx: ServiceContext, authz: Authz, names: Sequence[str] = (), workers: int | None = None,
                progress: AnalyseProgress | None = None, registry: Registry | None = None) -> AnalyseReport:
    """``analyse --all``: every case the actor may analyse (the local operator: every case)."""
    require(authz.can_analyse_all(), "analyse every case")
    with ctx.db.session() as s:
        case_ids = [c for c in s.scalars(select(Case.id).order_by(Case.id)) if authz.can_analyse(c)]
    return _analyse_cases(ctx, authz, case_ids, names, workers, progress, registry, "--all")
