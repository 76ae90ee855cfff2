"""Reading artifacts: what the extractors found in a case's contents, with provenance and locators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of
from safehold.services.context import ServiceContext
from safehold.store.artifact_models import Artifact
from safehold.store.models import EvidenceItem, FileInstance

__all__ = ["ArtifactPublic", "list_artifacts"]

_PAGE = 2000


@dataclass(frozen=True, slots=True)
class ArtifactPublic:
    """One artifact as ``safehold artifacts --json`` prints it (``where`` for any non-byte position)."""

    sha256: str
    extractor: str
    version: int
    kind: str
    value: str
    offset: int | None
    where: str | None
    data: dict[str, Any] | None
    locators: list[str]


def _locators(ctx: ServiceContext, case_id: int, shas: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    with ctx.db.session() as s:
        rows = s.execute(select(FileInstance.sha256, FileInstance.display)
                         .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                         .where(EvidenceItem.case_id == case_id, FileInstance.sha256.in_(shas))
                         .order_by(FileInstance.id))
        for sha, display in rows:
            if sha is not None:
                out[sha].append(display)
    return out


def _page(ctx: ServiceContext, case_id: int, after: int, extractor: str | None, kind: str | None) -> list[Artifact]:
    case_contents = (select(FileInstance.sha256).join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                     .where(EvidenceItem.case_id == case_id))
    q = select(Artifact).where(Artifact.id > after, Artifact.sha256.in_(case_contents))
    if extractor:
        q = q.where(Artifact.extractor == extractor)
    if kind:
        q = q.where(Artifact.kind == kind)
    with ctx.db.session() as s:
        return list(s.scalars(q.order_by(Artifact.id).limit(_PAGE)))


def list_artifacts(ctx: ServiceContext, authz: Authz, case_ref: str | int, extractor: str | None = None,
                   kind: str | None = None) -> Iterator[ArtifactPublic]:
    """Every artifact found in the case's contents, oldest first, streamed page by page."""
    require(authz.can_read_case(case_id := case_id_of(ctx, case_ref)), "see this case's artifacts")
    record_event(ctx, authz.actor, "artifacts-list", case_id, None, extractor=extractor, kind=kind)
    after = 0
    while page := _page(ctx, case_id, after, extractor, kind):
        where = _locators(ctx, case_id, sorted({a.sha256 for a in page}))
        for a in page:
            yield ArtifactPublic(a.sha256, a.extractor, a.version, a.kind, a.value, a.offset, a.place, a.data,
                                 where.get(a.sha256, []))
        after = page[-1].id

