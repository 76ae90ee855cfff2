"""The case dashboard: evidence with its custody trail, counts per queue and category, errors,
and the live progress of an ingest that is running (read from the batches it has finished, so
the page needs nothing from the ingest process but the store they share)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.categories import label
from safehold.services.context import ServiceContext
from safehold.services.evidence import list_evidence
from safehold.services.queues import queue_counts
from safehold.store.hashset_models import HashEntry, HashSet, Match
from safehold.store.models import Case, EvidenceItem, FileInstance, IngestBatch
from safehold.store.review_models import Review

__all__ = ["case_dashboard", "case_name", "ingest_progress"]


def case_name(ctx: ServiceContext, authz: Authz, case_id: int) -> str:
    require(authz.can_read_case(case_id), "see this case")
    with ctx.db.session() as s:
        name = s.scalar(select(Case.name).where(Case.id == case_id))
    return name or str(case_id)


def ingest_progress(ctx: ServiceContext, authz: Authz, case_id: int) -> list[dict[str, Any]]:
    """Per evidence item: state, top-level files done of all, files recorded, errors so far."""
    require(authz.can_read_case(case_id), "see this case")
    with ctx.db.session() as s:
        items = s.execute(select(EvidenceItem.id, EvidenceItem.label, EvidenceItem.ingest_state,
                                 EvidenceItem.top_file_count, EvidenceItem.source_kind)
                          .where(EvidenceItem.case_id == case_id).order_by(EvidenceItem.id)).all()
        done = dict(s.execute(select(IngestBatch.evidence_id, func.sum(IngestBatch.top_count))
                              .join(EvidenceItem, EvidenceItem.id == IngestBatch.evidence_id)
                              .where(EvidenceItem.case_id == case_id).group_by(IngestBatch.evidence_id)).all())
        files = {eid: (n, e) for eid, n, e in s.execute(
            select(FileInstance.evidence_id, func.count(), func.count(FileInstance.error_code))
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .where(EvidenceItem.case_id == case_id).group_by(FileInstance.evidence_id))}
    out = []
    for eid, lab, state, top, kind in items:
        top_done = int(done.get(eid) or 0)
        n, errors = files.get(eid, (0, 0))
        # a disk image's top-level count is its segment files, not its files: no percentage then
        pct = 100 if state == "done" else (min(99, round(100 * top_done / top)) if top and kind != "disk" else None)
        out.append({"evidence_id": eid, "label": lab, "state": state, "top_done": top_done, "top_total": top,
                    "files": n, "errors": errors, "percent": pct})
    return out


def case_dashboard(ctx: ServiceContext, authz: Authz, case_id: int) -> dict[str, Any]:
    require(authz.can_read_case(case_id), "see this case")
    with ctx.db.session() as s:
        case = s.get(Case, case_id)
        assert case is not None  # members are of existing cases
        decided = s.execute(select(Review.category_scheme, Review.category_code, Review.status, func.count())
                            .where(Review.case_id == case_id)
                            .group_by(Review.category_scheme, Review.category_code, Review.status)).all()
        scope = (select(FileInstance.sha256).join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                 .where(EvidenceItem.case_id == case_id).distinct().subquery())
        known = s.execute(select(HashSet.id, HashSet.name, HashEntry.category_scheme, HashEntry.category_code,
                                 func.count(func.distinct(Match.sha256)))
                          .join(scope, scope.c.sha256 == Match.sha256)
                          .join(HashSet, HashSet.id == Match.set_id).join(HashEntry, HashEntry.id == Match.entry_id)
                          .where(HashSet.kind == "known-abuse")
                          .group_by(HashSet.id, HashSet.name, HashEntry.category_scheme, HashEntry.category_code)
                          .order_by(HashSet.name, HashEntry.category_code)).all()
        errors = s.execute(select(FileInstance.error_code, func.count())
                           .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                           .where(EvidenceItem.case_id == case_id, FileInstance.error_code.is_not(None))
                           .group_by(FileInstance.error_code).order_by(FileInstance.error_code)).all()
        info = {"id": case.id, "name": case.name, "status": case.status, "description": case.description}
    result = {
        "case": info,
        "evidence": list_evidence(ctx, authz, case_id),
        "progress": ingest_progress(ctx, authz, case_id),
        "counts": queue_counts(ctx, authz, case_id),
        "decided": [{"label": label(sc, co), "code": co, "status": st, "count": n} for sc, co, st, n in decided],
        "known_by_set": [{"set_id": sid, "set": name, "code": co, "category": label(sc, co) if co else "uncategorised",
                          "count": n} for sid, name, sc, co, n in known],
        "errors": [{"code": c, "count": n} for c, n in errors],
    }
    record_event(ctx, authz.actor, "view-case", case_id)
    return result
