"""Evidence items: registration with an acquisition hash and a custody trail."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safehold.core.errors import NotFoundError, SafeholdError
from safehold.services.audit import audited
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of, resolve_case
from safehold.services.context import ServiceContext
from safehold.sources.disk.acquisition import acquire_disk
from safehold.sources.factory import kind_for_path
from safehold.sources.folder import manifest_hash
from safehold.store.models import CustodyEvent, EvidenceItem

__all__ = ["EvidencePublic", "add_evidence", "list_evidence", "record_custody"]


@dataclass(frozen=True, slots=True)
class EvidencePublic:
    id: int
    case_id: int
    label: str
    source_kind: str
    source_path: str
    acquisition_hash: str
    acquisition_method: str
    size_bytes: int
    top_file_count: int
    ingest_state: str
    custody: list[dict[str, Any]]


def _public(e: EvidenceItem) -> EvidencePublic:
    return EvidencePublic(
        e.id, e.case_id, e.label, e.source_kind, e.source_path, e.acquisition_hash,
        e.acquisition_method, e.size_bytes, e.top_file_count, e.ingest_state,
        [{"at": c.at.isoformat(), "actor": c.actor, "action": c.action, "details": c.details}
         for c in e.custody],
    )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def record_custody(s: Session, evidence_id: int, actor: str, action: str, **details: Any) -> None:
    s.add(CustodyEvent(evidence_id=evidence_id, actor=actor, action=action, details=details))


def add_evidence(
    ctx: ServiceContext,
    authz: Authz,
    case_ref: str | int,
    path: Path,
    label: str,
    seized_by: str | None = None,
    seized_at: datetime | None = None,
    location: str | None = None,
) -> EvidencePublic:
    """Register an item as acquired. Its acquisition hash is what later integrity checks compare;
    the item, its custody events and the audit record commit together."""
    require(authz.can_add_evidence(case_id := case_id_of(ctx, case_ref)), "add evidence to this case")
    path = path.resolve()
    if not path.exists():
        raise SafeholdError(f"{path} does not exist")
    kind = kind_for_path(path)
    checks: list[tuple[str, dict[str, Any]]] = []  # custody events of integrity checks (EWF verification)
    if kind == "folder":
        digest, count, size = manifest_hash(path)
        method = "manifest-sha256"
    elif kind == "disk":  # count: image segment files; size: their bytes
        acq = acquire_disk(path)
        digest, count, size, method, checks = acq.digest, acq.segments, acq.size, acq.method, acq.custody
    else:
        digest, count, size = _sha256_file(path), 1, path.stat().st_size
        method = "sha256"
    actor = authz.actor
    with audited(ctx) as log:
        s = log.session
        case = resolve_case(s, case_id)
        item = EvidenceItem(
            case_id=case.id, label=label, source_kind=kind, source_path=str(path),
            acquisition_hash=digest, acquisition_method=method, size_bytes=size,
            top_file_count=count, seized_by=seized_by, seized_at=seized_at, seized_location=location,
        )
        s.add(item)
        s.flush()
        if seized_by or seized_at or location:
            record_custody(s, item.id, seized_by or actor, "seized",
                           at=seized_at.isoformat() if seized_at else None, location=location)
        record_custody(s, item.id, actor, "registered", path=str(path),
                       acquisition_hash=digest, method=method, files=count, bytes=size)
        for action, details in checks:
            record_custody(s, item.id, actor, action, **details)
        log(actor, "evidence-add", case.id, f"evidence:{item.id}", label=label, kind=kind, path=str(path),
            acquisition_hash=digest, method=method, checks=[a for a, _ in checks])
        s.flush()
        s.refresh(item)
        return _public(item)


def list_evidence(ctx: ServiceContext, authz: Authz, case_ref: str | int) -> list[EvidencePublic]:
    require(authz.can_read_case(case_id := case_id_of(ctx, case_ref)), "see this case")
    with ctx.db.session() as s:
        case = resolve_case(s, case_id)
        items = s.scalars(select(EvidenceItem).where(EvidenceItem.case_id == case.id).order_by(EvidenceItem.id))
        return [_public(e) for e in items]


def get_evidence(s: Session, case_id: int, evidence_id: int) -> EvidenceItem:
    item = s.get(EvidenceItem, evidence_id)
    if item is None or item.case_id != case_id:
        raise NotFoundError(f"no evidence item {evidence_id} in case {case_id}")
    return item
