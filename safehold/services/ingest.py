"""Ingest use case: run or resume ingest of a case's evidence items.

Ingest stores files and contents only; what is derived from them (the gallery listing, matches,
clusters) are jobs (``services.jobs``), marked pending here as each item finishes and run by the
caller. A stop signal (see ``ingest.interrupt``) ends the run cleanly: the item is marked
*interrupted* with a custody event and an audit record, and ``Interrupted`` says how to resume.
Nothing half-done is stored: the writer commits only whole chunks, and a batch counts as finished
only in the same or a later transaction than its last records, so a resume redoes exactly the
unfinished batches. An item found *running* at the start was stopped without a word (kill -9,
a power cut) and is resumed the same way.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from safehold.core.clock import utcnow
from safehold.ingest.executor import Executor, make_executor
from safehold.ingest.interrupt import Interrupted, check_stop
from safehold.ingest.pipeline import IngestProgress, ingest_evidence
from safehold.services.audit import audited
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of
from safehold.services.context import ServiceContext
from safehold.services.evidence import get_evidence, record_custody
from safehold.services.jobs import mark_pending
from safehold.store.models import EvidenceItem, FileInstance, IngestBatch

__all__ = ["EvidenceRun", "IngestResult", "run_ingest"]


@dataclass(slots=True)
class EvidenceRun:
    evidence_id: int
    label: str
    skipped: bool  # already finished: nothing to do
    resumed_batches: int = 0
    records_written: int = 0
    errors: int = 0
    crashes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IngestResult:
    case_id: int
    runs: list[EvidenceRun]

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def _percent_done(ctx: ServiceContext, evidence_id: int, size: int) -> int:
    """How much of the item's bytes lie in finished batches: what a resume will not redo."""
    with ctx.db.session() as s:
        done = int(s.scalar(select(func.sum(IngestBatch.top_bytes))  # a Decimal on PostgreSQL
                            .where(IngestBatch.evidence_id == evidence_id)) or 0)
    return min(100, done * 100 // size) if size else 0


def _begin(ctx: ServiceContext, authz: Authz, case_id: int, eid: int, state: str, executor: str) -> None:
    with audited(ctx) as log:
        item = log.session.get(EvidenceItem, eid)
        assert item is not None
        resumed = state in ("running", "interrupted")  # "running": stopped without a word (kill -9)
        record_custody(log.session, eid, authz.actor, "ingest-resumed" if resumed else "ingest-started",
                       executor=executor, **({"after": state} if resumed else {}))
        log(authz.actor, "ingest-start", case_id, None, evidence=eid, resumed=resumed)
        item.ingest_state = "running"


def _finish(ctx: ServiceContext, authz: Authz, case_id: int, eid: int) -> int:
    """Marks the item done (with its jobs pending) and returns how many of its files have errors."""
    with audited(ctx) as log:
        files, errors = log.session.execute(
            select(func.count(), func.count(FileInstance.error_code)).where(FileInstance.evidence_id == eid)
        ).one()
        item = log.session.get(EvidenceItem, eid)
        assert item is not None
        item.ingest_state = "done"
        item.ingest_finished_at = utcnow()
        files, errors = int(files), int(errors)
        record_custody(log.session, eid, authz.actor, "ingested", files=files, errors=errors)
        log(authz.actor, "ingest-finish", case_id, None, evidence=eid, files=files, errors=errors)
        mark_pending(log.session, case_id)
        return errors


def _interrupted(ctx: ServiceContext, authz: Authz, case_id: int, eid: int, size: int, reason: str) -> int:
    """Records the stop (unless the item had finished after all); returns the share done."""
    percent = _percent_done(ctx, eid, size)
    with audited(ctx) as log:
        item = log.session.get(EvidenceItem, eid)
        if item is not None and item.ingest_state == "running":
            item.ingest_state = "interrupted"
            record_custody(log.session, eid, authz.actor, "ingest-interrupted", done_percent=percent, reason=reason)
            log(authz.actor, "ingest-interrupt", case_id, None, evidence=eid, done_percent=percent, reason=reason)
    return percent


def run_ingest(
    ctx: ServiceContext,
    authz: Authz,
    case_ref: str | int,
    evidence_ids: Sequence[int] = (),
    executor: Executor | None = None,
    progress: IngestProgress | None = None,
) -> IngestResult:
    """Ingest (or resume) the case's items, or only ``evidence_ids``; finished items are skipped.
    Raises ``Interrupted`` on Ctrl-C or SIGTERM (under ``ingest.interrupt.stop_signals``)."""
    require(authz.can_ingest(case_id := case_id_of(ctx, case_ref)), "ingest this case's evidence")
    executor = executor or make_executor(ctx.settings)
    with ctx.db.session() as s:
        if evidence_ids:
            items = [get_evidence(s, case_id, eid) for eid in evidence_ids]
        else:
            items = list(s.scalars(select(EvidenceItem).where(EvidenceItem.case_id == case_id)
                                   .order_by(EvidenceItem.id)))
        for e in items:  # fixed once, so every later resume forms the same batches
            if e.batch_files is None or e.batch_bytes is None:
                e.batch_files, e.batch_bytes = ctx.settings.batch_files, ctx.settings.batch_bytes
        plan = [(e.id, e.label, e.source_kind, e.source_path, e.size_bytes, e.ingest_state,
                 (e.batch_files or ctx.settings.batch_files, e.batch_bytes or ctx.settings.batch_bytes))
                for e in items]
    runs = []
    for eid, label, kind, spath, size, state, sizes in plan:
        run = EvidenceRun(eid, label, skipped=state == "done")
        if run.skipped:
            with ctx.db.session() as s:
                run.errors = s.scalar(select(func.count(FileInstance.error_code))
                                      .where(FileInstance.evidence_id == eid)) or 0
            runs.append(run)
            continue
        try:
            check_stop()
            _begin(ctx, authz, case_id, eid, state, executor.name)
            stats = ingest_evidence(ctx.db, ctx.settings, executor, eid, kind, Path(spath), size, label, progress,
                                    batch_sizes=sizes)
            run.resumed_batches, run.records_written, run.crashes = (
                stats.batches_skipped, stats.records_written, stats.crashes)
            run.errors = _finish(ctx, authz, case_id, eid)
        except KeyboardInterrupt:
            percent = _interrupted(ctx, authz, case_id, eid, size, "stop signal")
            raise Interrupted(f"evidence {eid} stopped at {percent}%",
                              f"safehold ingest {shlex.quote(str(case_ref))}") from None
        except Exception as exc:  # the run failed (the evidence changed, the store went away): never "running"
            _interrupted(ctx, authz, case_id, eid, size, f"{type(exc).__name__}: {exc}"[:300])
            raise
        runs.append(run)
    return IngestResult(case_id, runs)
