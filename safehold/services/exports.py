"""Export use cases. Every export is audited once its file is written; categories decided in review
(confirmed, in the VICS US scheme) are written with ``IsPrecategorized`` false, and take precedence
over a hash set's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safehold import __version__
from safehold.formats.exports.vics import VICS_US_SCHEME, VicsMedia, write_vics_case
from safehold.formats.exports.vpdq import write_vpdq_list
from safehold.hashing.vpdq import VpdqFrame, format_reference_lines
from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of, resolve_case
from safehold.services.context import ServiceContext
from safehold.store.hashset_models import HashEntry, HashSet, Match
from safehold.store.models import Content, EvidenceItem, FileInstance, VideoFrame
from safehold.store.review_models import Review

__all__ = ["export_vics", "export_vpdq", "video_fingerprint"]


def video_fingerprint(s: Session, sha256: str) -> list[VpdqFrame]:
    """A stored video's vPDQ frames, in order."""
    rows = s.execute(select(VideoFrame.frame, VideoFrame.quality, VideoFrame.pdq, VideoFrame.timestamp)
                     .where(VideoFrame.sha256 == sha256).order_by(VideoFrame.frame))
    return [VpdqFrame(frame, quality, bytes(pdq).hex(), ts) for frame, quality, pdq, ts in rows]


def _media(ctx: ServiceContext, case_id: int) -> Iterator[VicsMedia]:
    with ctx.db.session() as s, ctx.db.session() as frames_session:
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
        reviewed = dict(s.execute(
            select(Review.sha256, Review.category_code)
            .where(Review.case_id == case_id, Review.status == "confirmed", Review.category_scheme == VICS_US_SCHEME)
        ).all())
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
                mine = reviewed.get(c.sha256)
                category = int(mine) if mine is not None and mine.isdigit() else (cat[0] if cat else None)
                current = VicsMedia(c.md5, c.sha1, c.sha256, c.size, c.mime, c.pdq, c.pdq_quality,
                                    category=category, precategorized=cat is not None and mine is None,
                                    series=cat[1] if cat else None, victim_identified=cat[2] if cat else None)
                if c.vpdq_frames:
                    current.vpdq = format_reference_lines(video_fingerprint(frames_session, c.sha256)) or None
            f = {"FileName": name, "FilePath": display, "Deleted": deleted}
            for key, t in (("Written", mtime), ("Accessed", atime), ("Created", crtime)):
                if t is not None:
                    f[key] = t.isoformat()
            current.files.append(f)
        if current is not None:
            yield current


def export_vics(ctx: ServiceContext, authz: Authz, case_ref: str | int, out: Path) -> int:
    """Write the case's images and videos as a VICS 2.0 case file; returns Media written."""
    require(authz.can_export(case_id := case_id_of(ctx, case_ref)), "export this case")
    with ctx.db.session() as s:
        case_name = resolve_case(s, case_id).name
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
    record_event(ctx, authz.actor, "export-vics", case_id, None, media=n, file=out.name)
    return n


def export_vpdq(ctx: ServiceContext, authz: Authz, case_ref: str | int, out: Path) -> int:
    """Write the case's video fingerprints as a vPDQ list (``formats.exports.vpdq``); returns videos."""
    require(authz.can_export(case_id := case_id_of(ctx, case_ref)), "export this case")
    with ctx.db.session() as s:
        resolve_case(s, case_id)
    tmp = out.with_name(out.name + ".partial")
    with ctx.db.session() as s, tmp.open("w", encoding="utf-8") as f:
        rows = s.execute(
            select(Content.sha256, Content.md5, func.min(FileInstance.name))
            .join(FileInstance, FileInstance.sha256 == Content.sha256)
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .where(EvidenceItem.case_id == case_id, Content.vpdq_frames > 0)
            .group_by(Content.sha256, Content.md5).order_by(Content.sha256)
        ).all()
        n = write_vpdq_list(f, ((str(name), sha, md5, video_fingerprint(s, sha)) for sha, md5, name in rows))
    tmp.replace(out)
    record_event(ctx, authz.actor, "export-vpdq", case_id, None, videos=n, file=out.name)
    return n
