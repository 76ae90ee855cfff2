"""Ingest use case: run or resume ingest of a case's evidence items. Each item's start (or resume),
finish and interruption is audited, with its custody event in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from safehold.core.clock import utcnow
from safehold.ingest.executor import Executor, make_executor
from safehold.ingest.pipeline import IngestProgress, ingest_evidence
from safehold.services.audit import audited
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of, resolve_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import get_evidence, record_custody
from safehold.services.gallery import ensure_gallery, ingest_running
from safehold.store.hashset_models import HashSet
from safehold.store.models import EvidenceItem, FileInstance

if TYPE_CHECKING:  # matching (numpy, the PDQ index) loads only when there are sets to match
    from safehold.services.matching import MatchReport

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
    match: MatchReport | None = None

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def run_ingest(
    ctx: ServiceContext,
    authz: Authz,
    case_ref: str | int,
    evidence_ids: Sequence[int] = (),
    executor: Executor | None = None,
    progress: IngestProgress | None = None,
) -> IngestResult:
    require(authz.can_ingest(case_id := case_id_of(ctx, case_ref)), "ingest this case's evidence")
    executor = executor or make_executor(ctx.settings)
    with ctx.db.session() as s:
        case = resolve_case(s, case_id)
        if evidence_ids:
            items = [get_evidence(s, case.id, eid) for eid in evidence_ids]
        else:
            items = list(s.scalars(select(EvidenceItem).where(EvidenceItem.case_id == case.id)
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
        if not run.skipped:
            with audited(ctx) as log:
                item = log.session.get(EvidenceItem, eid)
                assert item is not None
                action = "ingest-resumed" if state == "running" else "ingest-started"
                record_custody(log.session, eid, authz.actor, action, executor=executor.name)
                item.ingest_state = "running"
                log(authz.actor, "ingest-resume" if state == "running" else "ingest-start", case_id,
                    f"evidence:{eid}", executor=executor.name)
            try:
                stats = ingest_evidence(ctx.db, ctx.settings, executor, eid, kind, Path(spath), size, label,
                                        progress, batch_sizes=sizes)
            except BaseException as exc:
                with audited(ctx) as log:
                    log(authz.actor, "ingest-interrupt", case_id, f"evidence:{eid}", reason=type(exc).__name__)
                raise
            run.resumed_batches, run.records_written, run.crashes = (
                stats.batches_skipped, stats.records_written, stats.crashes)
        with audited(ctx) as log:
            s = log.session
            counts = s.execute(
                select(func.count(), func.count(FileInstance.error_code))
                .where(FileInstance.evidence_id == eid)
            ).one()
            run.errors = counts[1]
            if not run.skipped:
                item = s.get(EvidenceItem, eid)
                assert item is not None
                item.ingest_state = "done"
                item.ingest_finished_at = utcnow()
                record_custody(s, eid, authz.actor, "ingested", files=counts[0], errors=counts[1])
                log(authz.actor, "ingest-finish", case_id, f"evidence:{eid}", files=counts[0], errors=counts[1])
        runs.append(run)
    if any(not r.skipped for r in runs):
        # The review gallery's listing, built now rather than by the first page view after
        # ingest (~40 s at 1M files). Skipped while another ingest of the case is adding files.
        with ctx.db.session() as s:
            busy = ingest_running(s, case_id)
        if not busy:
            ensure_gallery(ctx, case_id)
    with ctx.db.session() as s:
        have_sets = s.scalar(select(func.count()).select_from(HashSet)) or 0
    if not have_sets:
        return IngestResult(case_id, runs, None)
    from safehold.services.matching import match_case

    return IngestResult(case_id, runs, match_case(ctx, authz, case_id))
