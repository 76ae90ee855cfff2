"""The per-case gallery listing: one row per content with its sort keys, folded from its file
instances.

A queue page over the live tables must group every file of the case before it can sort, which
at 100k items costs about a second per page. The listing is indexed by (case, sort key), so a
page walks the index and stops after one page. Files never change once ingested, so the listing
is current while the case's file count and newest file id are what it was built from.
``use_listing`` builds it on demand (seconds, once per case) unless an ingest is still adding
files; queue pages then use the live tables instead (correct, slower).

On PostgreSQL a rebuild also refreshes the planner's statistics: right after a large ingest they
can still describe nearly empty tables, and a plan made from those turned a one-second query over
100k files into a nested loop of minutes.
"""

from __future__ import annotations

from sqlalchemy import Integer, case, delete, false, func, insert, literal, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.services.context import ServiceContext
from safehold.store.models import Content, EvidenceItem, FileInstance
from safehold.store.review_models import GalleryRow, GalleryState

__all__ = ["MEDIA", "ensure_gallery", "files_stamp", "gallery_current", "ingest_running", "use_listing"]

MEDIA = ("image", "video")  # what the gallery shows


def files_stamp(s: Session, case_id: int) -> str:
    """Identifies the set of file instances of a case (they are only ever added)."""
    n, last = s.execute(
        select(func.count(), func.coalesce(func.max(FileInstance.id), 0))
        .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
        .where(EvidenceItem.case_id == case_id)
    ).one()
    return f"files={n};last={last}"


def gallery_current(s: Session, case_id: int) -> bool:
    state = s.get(GalleryState, case_id)
    return state is not None and state.stamp == files_stamp(s, case_id)


def ingest_running(s: Session, case_id: int) -> bool:
    """Files are still being added: anything derived from them now is stale at once."""
    return s.scalar(select(EvidenceItem.id).where(EvidenceItem.case_id == case_id,
                                                  EvidenceItem.ingest_state == "running").limit(1)) is not None


def use_listing(ctx: ServiceContext, case_id: int) -> bool:
    """Whether queue pages may read the listing, building it first when no ingest is running."""
    with ctx.db.session() as s:
        if gallery_current(s, case_id):
            return True
        if ingest_running(s, case_id):
            return False
    ensure_gallery(ctx, case_id)
    return True


def ensure_gallery(ctx: ServiceContext, case_id: int) -> None:
    """Rebuild the listing in one INSERT … SELECT unless it is current. Internal: callers have
    checked access."""
    try:
        with ctx.db.session() as s:
            stamp = files_stamp(s, case_id)
            state = s.get(GalleryState, case_id)
            if state is not None and state.stamp == stamp:
                return
            s.execute(delete(GalleryRow).where(GalleryRow.case_id == case_id))
            any_deleted = case((func.max(func.cast(FileInstance.deleted, Integer)) > 0, true()), else_=false())
            rows = (select(literal(case_id), FileInstance.sha256, func.min(FileInstance.display), any_deleted,
                           func.min(FileInstance.mtime), func.max(Content.size), func.max(Content.media_kind))
                    .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                    .join(Content, Content.sha256 == FileInstance.sha256)
                    .where(EvidenceItem.case_id == case_id)
                    .group_by(FileInstance.sha256))
            s.execute(insert(GalleryRow).from_select(
                ["case_id", "sha256", "locator", "deleted", "mtime", "size", "media_kind"], rows))
            media = s.scalar(select(func.count()).where(GalleryRow.case_id == case_id,
                                                        GalleryRow.media_kind.in_(MEDIA))) or 0
            if state is None:
                state = GalleryState(case_id=case_id)
                s.add(state)
            state.stamp, state.computed_at, state.media = stamp, utcnow(), media
            state.counts = state.counts_stamp = None
    except IntegrityError:  # a concurrent refresh stored the same rows first
        return
    if ctx.db.dialect == "postgresql":
        with ctx.db.session() as s:
            s.execute(text("ANALYZE files, contents, matches, case_gallery"))

