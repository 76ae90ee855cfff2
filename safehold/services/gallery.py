"""The per-case gallery listing: one row per content with its sort keys, folded from its file
instances.

A queue page over the live tables must group every file of the case before it can sort, which
at 100k items costs about a second per page. The listing is indexed by (case, sort key), so a
page walks the index and stops after one page. Files never change once ingested, so the listing
is current while the case's file count and newest file id are what it was built from. The gallery
job after ingest builds it (``services.jobs``); ``use_listing`` builds it on demand otherwise, unless
an ingest is still adding files: queue pages then use the live tables instead (correct, slower).
A build runs in SHA-256 ranges, each its own short transaction, so SQLite's single writer lock
is never held for long (page views write audit records).

On PostgreSQL a rebuild also refreshes the planner's statistics: right after a large ingest they
can still describe nearly empty tables, and a plan made from those turned a one-second query over
100k files into a nested loop of minutes.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Integer, case, delete, false, func, insert, literal, select, text, true
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.services.context import ServiceContext
from safehold.store.models import Content, EvidenceItem, FileInstance
from safehold.store.review_models import GalleryRow, GalleryState

__all__ = ["MEDIA", "ensure_gallery", "files_stamp", "gallery_current", "ingest_running", "use_listing"]

MEDIA = ("image", "video")  # what the gallery shows
_RANGE_FILES = 80_000


def files_stamp(s: Session, case_id: int) -> str:
    """Identifies the set of file instances of a case: the newest file id of each evidence item.
    Files are only ever added, each evidence item's by one writer with rising ids, so that is
    enough, and it is one index step per item where a count walked the case (0.1 s at 1M files,
    on every page view)."""
    newest = (select(func.max(FileInstance.id)).where(FileInstance.evidence_id == EvidenceItem.id)
              .scalar_subquery())
    rows = s.execute(select(EvidenceItem.id, newest).where(EvidenceItem.case_id == case_id)
                     .order_by(EvidenceItem.id)).all()
    joined = ",".join(f"{e}:{m or 0}" for e, m in rows)
    return "files:" + hashlib.sha256(joined.encode()).hexdigest()[:40]


def _file_count(s: Session, case_id: int) -> int:
    return s.scalar(select(func.count()).select_from(FileInstance)
                    .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                    .where(EvidenceItem.case_id == case_id)) or 0


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
    return ensure_gallery(ctx, case_id)


def _ranges(files: int) -> list[tuple[str, str | None]]:
    """SHA-256 ranges of about ``_RANGE_FILES`` files, rebuilt one transaction each: a single
    1M-file INSERT held SQLite's write lock for ~40 s, and every page view (its audit record)
    waited or failed meanwhile. Smaller ranges cost more in all (random index writes: 256 ranges
    took 140 s at 1M), so a range holds the lock for a few seconds at most."""
    parts = 1
    while parts < 256 and files // parts > _RANGE_FILES:
        parts *= 2
    if parts == 1:
        return [("", None)]
    bounds = [f"{i:02x}" for i in range(0, 256, 256 // parts)]
    return [(lo, bounds[i + 1] if i + 1 < len(bounds) else None) for i, lo in enumerate(bounds)]


def _rebuild_range(ctx: ServiceContext, case_id: int, evidence: list[int], lo: str, hi: str | None) -> None:
    in_range = [FileInstance.sha256 >= lo] + ([FileInstance.sha256 < hi] if hi is not None else [])
    mine = [GalleryRow.sha256 >= lo] + ([GalleryRow.sha256 < hi] if hi is not None else [])
    any_deleted = case((func.max(func.cast(FileInstance.deleted, Integer)) > 0, true()), else_=false())
    # "evidence_id + 0": the case's files are found through the SHA-256 range, never through the
    # evidence index (SQLite preferred that, and walked the whole case once per range: 175 s at 1M).
    rows = (select(literal(case_id), FileInstance.sha256, func.min(FileInstance.display), any_deleted,
                   func.min(FileInstance.mtime), func.max(Content.size), func.max(Content.media_kind))
            .join(Content, Content.sha256 == FileInstance.sha256)
            .where((FileInstance.evidence_id + 0).in_(evidence), *in_range)
            .group_by(FileInstance.sha256))
    try:
        with ctx.db.session() as s:
            s.execute(delete(GalleryRow).where(GalleryRow.case_id == case_id, *mine))
            s.execute(insert(GalleryRow).from_select(
                ["case_id", "sha256", "locator", "deleted", "mtime", "size", "media_kind"], rows))
    except IntegrityError:  # a concurrent rebuild stored this range first: the same rows
        pass


def ensure_gallery(ctx: ServiceContext, case_id: int) -> bool:
    """Rebuild the listing unless it is current; False if it could not be (another writer held
    the store too long). Range by range, each in its own short transaction; the state row, which
    says the listing is current, is written last, so pages read the live tables until then.
    Two rebuilds at once are harmless: each range is replaced whole with the same rows.
    Internal: callers have checked access."""
    with ctx.db.session() as s:
        stamp = files_stamp(s, case_id)
        state = s.get(GalleryState, case_id)
        if state is not None and state.stamp == stamp:
            return True
    with ctx.db.session() as s:
        files = _file_count(s, case_id)
        evidence = list(s.scalars(select(EvidenceItem.id).where(EvidenceItem.case_id == case_id)))
    try:
        for lo, hi in _ranges(files):
            _rebuild_range(ctx, case_id, evidence, lo, hi)
        with ctx.db.session() as s:
            if files_stamp(s, case_id) != stamp:  # files were added meanwhile: not current
                return False
            media = s.scalar(select(func.count()).where(GalleryRow.case_id == case_id,
                                                        GalleryRow.media_kind.in_(MEDIA))) or 0
            state = s.get(GalleryState, case_id)
            if state is None:
                state = GalleryState(case_id=case_id)
                s.add(state)
            state.stamp, state.computed_at, state.media = stamp, utcnow(), media
            state.counts = state.counts_stamp = None
    except IntegrityError:  # a concurrent rebuild stored the state first
        return True
    except OperationalError as exc:  # SQLite's lock held past the busy timeout
        if "locked" not in str(exc):
            raise
        return False
    if ctx.db.dialect == "postgresql":
        with ctx.db.session() as s:
            s.execute(text("ANALYZE files, contents, matches, case_gallery"))
    return True

