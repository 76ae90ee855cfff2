"""Export use cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from safehold import __version__
from safehold.formats.exports.vics import VICS_US_SCHEME, VicsMedia, write_vics_case
from safehold.services.cases import resolve_case
from safehold.services.context import ServiceContext
from safehold.store.hashset_models import HashEntry, HashSet, Match
from safehold.store.models import Content, EvidenceItem, FileInstance

__all__ = ["export_vics"]


def _media(ctx: ServiceContext, case_id: int) -> Iterator[VicsMedia]:
    with ctx.db.session() as s:
        decided: dict[str, tuple[int, str | None, bool | None]] = {}
        rows = s.execute(
            select(Match.sha256, HashEntry.category_code, HashEntry.series, HashEntry.victim_identified,
                   Match.method, Match.distance)
            .join(HashEntry, HashEntry.id == Match.entry_id)
            .join(HashSet, HashSet.id == Match.set_id)
            .join(FileInstance, FileInstance.sha256 == Match.sha256)
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .where(EvidenceItem.case_id == case_id, HashSet.kind == "known-abuse",
                   HashEntry.category_scheme == VICS_US_SCHEME, Match.method != "pdq")
        )
        for sha, code, series, victim, _method, _dist in rows:
            if code is not None and str(code).isdigit():
                decided.setdefault(sha, (int(code), series, victim))
        current: VicsMedia | None = None
        q = (
            select(Content, FileInstance.display, FileInstance.name, FileInstance.deleted,
                   FileInstance.mtime, FileInstance.atime, FileInstance.crtime)
            .join(FileInstance, FileInstance.sha256 == Content.sha256)
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .where(EvidenceItem.case_id == case_id, Content.media_kind.in_(("image", "video")))
            .order_by(Content.sha256, FileInstance.locator)
            .execution_options(yield_per=2000)
        )
        for c, display, name, deleted, mtime, atime, crtime in s.execute(q):
            if current is None or current.sha256 != c.sha256:
                if current is not None:
                    yield current
                cat = decided.get(c.sha256)
                current = VicsMedia(c.md5, c.sha1, c.sha256, c.size, c.mime, c.pdq, c.pdq_quality,
                                    category=cat[0] if cat else None, precategorized=cat is not None,
                                    series=cat[1] if cat else None, victim_identified=cat[2] if cat else None)
            f = {"FileName": name, "FilePath": display, "Deleted": deleted}
            for key, t in (("Written", mtime), ("Accessed", atime), ("Created", crtime)):
                if t is not None:
                    f[key] = t.isoformat()
            current.files.append(f)
        if current is not None:
            yield current


def export_vics(ctx: ServiceContext, case_ref: str | int, out: Path) -> int:
    """Write the case's images and videos as a VICS 2.0 case file; returns Media written."""
    with ctx.db.session() as s:
        case = resolve_case(s, case_ref)
        case_id, case_name = case.id, case.name
        total = s.scalar(
            select(func.count()).select_from(FileInstance)
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .join(Content, Content.sha256 == FileInstance.sha256)
            .where(EvidenceItem.case_id == case_id, Content.media_kind.in_(("image", "video")))
        ) or 0
    tmp = out.with_name(out.name + ".partial")
    with tmp.open("w", encoding="utf-8") as f:
        n = write_vics_case(f, case_name, _media(ctx, case_id), total, __version__, case_id=f"safehold-case-{case_id}")
    tmp.replace(out)
    return n
