"""Reading results: per-file listings and the case summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from safehold.core.errors import SafeholdError
from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of, resolve_case
from safehold.services.context import ServiceContext
from safehold.store.models import Content, EvidenceItem, FileInstance

__all__ = ["MEDIA_TYPES", "case_summary", "iter_files"]

MEDIA_TYPES = ("image", "video", "archive", "other")


def _file_query(case_id: int, media_type: str | None, errors_only: bool, evidence_id: int | None) -> Any:
    q = (
        select(FileInstance, Content)
        .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
        .outerjoin(Content, Content.sha256 == FileInstance.sha256)
        .where(EvidenceItem.case_id == case_id)
        .order_by(FileInstance.evidence_id, FileInstance.locator)
    )
    if media_type:
        if media_type not in MEDIA_TYPES:
            raise SafeholdError(f"--type must be one of {', '.join(MEDIA_TYPES)}")
        q = q.where(Content.media_kind == media_type)
    if errors_only:
        q = q.where(FileInstance.error_code.is_not(None))
    if evidence_id is not None:
        q = q.where(FileInstance.evidence_id == evidence_id)
    return q


def iter_files(
    ctx: ServiceContext,
    authz: Authz,
    case_ref: str | int,
    media_type: str | None = None,
    errors_only: bool = False,
    evidence_id: int | None = None,
) -> Iterator[dict[str, Any]]:
    """One dict per file instance, streamed (a case may hold millions). Checked at the call, not
    at the first item: the listing itself is a generator."""
    require(authz.can_read_case(case_id := case_id_of(ctx, case_ref)), "see this case")
    q = _file_query(case_id, media_type, errors_only, evidence_id)
    return _files(ctx, case_id, q)


def _files(ctx: ServiceContext, case_id: int, q: Any) -> Iterator[dict[str, Any]]:
    with ctx.db.session() as s:
        resolve_case(s, case_id)
        for f, c in s.execute(q.execution_options(yield_per=2000)):
            yield {
                "evidence_id": f.evidence_id,
                "locator": f.display,
                "locator_chain": json.loads(f.locator),
                "path": f.path,
                "name": f.name,
                "size": f.size,
                "deleted": f.deleted,
                "mtime": f.mtime.isoformat() if f.mtime else None,
                "md5": c.md5 if c else None,
                "sha1": c.sha1 if c else None,
                "sha256": c.sha256 if c else None,
                "mime": c.mime if c else None,
                "media_type": c.media_kind if c else None,
                "width": c.width if c else None,
                "height": c.height if c else None,
                "pdq": c.pdq if c else None,
                "pdq_quality": c.pdq_quality if c else None,
                "exif": c.exif if c else None,
                **(_video(c) if c is not None and c.media_kind == "video" else {}),
                "error": f"{f.error_code}: {f.error_message}" if f.error_code else None,
            }


def _video(c: Content) -> dict[str, Any]:
    return {"video": {"container": c.container, "duration": c.duration, "frame_rate": c.frame_rate,
                      "video_codec": c.video_codec, "audio_codec": c.audio_codec, "metadata": c.video_meta,
                      "vpdq_frames": c.vpdq_frames, "contact_sheet": c.contact_sheet}}


def case_summary(ctx: ServiceContext, authz: Authz, case_ref: str | int) -> dict[str, Any]:
    require(authz.can_read_case(case_id := case_id_of(ctx, case_ref)), "see this case")
    with ctx.db.session() as s:
        case = resolve_case(s, case_id)
        ev = list(s.scalars(select(EvidenceItem).where(EvidenceItem.case_id == case.id).order_by(EvidenceItem.id)))
        ids = [e.id for e in ev]
        in_case = FileInstance.evidence_id.in_(ids)
        files, nbytes, deleted = s.execute(
            select(func.count(), func.coalesce(func.sum(FileInstance.size), 0),
                   func.count().filter(FileInstance.deleted.is_(True))).where(in_case)
        ).one()
        by_kind = dict(s.execute(
            select(func.coalesce(Content.media_kind, "none"), func.count())
            .select_from(FileInstance).outerjoin(Content, Content.sha256 == FileInstance.sha256)
            .where(in_case).group_by(Content.media_kind)
        ).all())
        unique = s.scalar(select(func.count(func.distinct(FileInstance.sha256))).where(in_case)) or 0
        with_pdq = s.scalar(
            select(func.count(func.distinct(Content.sha256)))
            .select_from(FileInstance).join(Content, Content.sha256 == FileInstance.sha256)
            .where(in_case, Content.pdq.is_not(None))
        ) or 0
        with_vpdq = s.scalar(
            select(func.count(func.distinct(Content.sha256)))
            .select_from(FileInstance).join(Content, Content.sha256 == FileInstance.sha256)
            .where(in_case, Content.vpdq_frames > 0)
        ) or 0
        errors = dict(s.execute(
            select(FileInstance.error_code, func.count()).where(in_case, FileInstance.error_code.is_not(None))
            .group_by(FileInstance.error_code)
        ).all())
        cameras = s.scalar(
            select(func.count(func.distinct(Content.camera_serial)))
            .select_from(FileInstance).join(Content, Content.sha256 == FileInstance.sha256)
            .where(in_case)
        ) or 0
        return {
            "case": {"id": case.id, "name": case.name, "status": case.status},
            "evidence": [
                {"id": e.id, "label": e.label, "kind": e.source_kind, "ingest_state": e.ingest_state,
                 "acquisition_hash": e.acquisition_hash, "acquisition_method": e.acquisition_method}
                for e in ev
            ],
            "files": files,
            "bytes": int(nbytes or 0),
            "deleted": deleted,
            "unique_contents": unique,
            "by_media_type": {str(k): v for k, v in sorted(by_kind.items(), key=lambda kv: str(kv[0]))},
            "images_with_pdq": with_pdq,
            "videos_with_vpdq": with_vpdq,
            "camera_serials": cameras,
            "errors": sum(errors.values()),
            "errors_by_code": dict(sorted(errors.items())),
        }
