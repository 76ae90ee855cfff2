"""Showing pictures: blurred by default, clear only through a deliberate, logged, time-limited
reveal of one item; and the exposure counts that follow from reveals.

``reveal`` records who revealed what and when (a ``Reveal`` row and an audit record) and opens a
short window (``web.reveal_seconds``; ``web.reveal_video_seconds`` for a video, to watch it).
Clear pictures and video bytes are served only inside such a window of the same user for the
same item, and each serving is audited as well (a video once per start, not per range). The
blurred versions need no reveal; they are what every gallery shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safehold.core.clock import aware, utcnow
from safehold.core.errors import ForbiddenError, NotFoundError
from safehold.services.audit import audited, record_event
from safehold.services.authz import Authz, require
from safehold.services.context import ServiceContext
from safehold.services.playback import PlaybackFiles
from safehold.services.reopen import RefCache
from safehold.services.review import content_in_case
from safehold.services.thumbs import Size, Variant, picture
from safehold.store.models import Content
from safehold.store.review_models import CaseMember, Reveal, User

__all__ = [
    "Exposure",
    "RevealGrant",
    "active_reveal",
    "blurred_picture",
    "clear_picture",
    "clear_video",
    "my_exposure",
    "reveal",
    "team_exposure",
]


@dataclass(frozen=True, slots=True)
class RevealGrant:
    id: int
    sha256: str
    expires_at: datetime
    seconds: int


@dataclass(frozen=True, slots=True)
class Exposure:
    user: str
    role: str
    reveals_total: int
    reveals_24h: int


def _media_type(s: Session, case_id: int, sha256: str) -> str | None:
    content_in_case(s, case_id, sha256)
    return s.scalar(select(Content.media_kind).where(Content.sha256 == sha256))


def blurred_picture(ctx: ServiceContext, authz: Authz, refs: RefCache, case_id: int, sha256: str, size: Size,
                    grayscale: bool) -> bytes:
    """Not audited one by one: a gallery page fetches dozens, and they show nothing clearly;
    the page view that listed them is audited."""
    require(authz.can_read_case(case_id), "see this case")
    with ctx.db.session() as s:
        kind = _media_type(s, case_id, sha256)
    return picture(ctx, refs, case_id, sha256, kind, size, Variant.BLUR_GRAY if grayscale else Variant.BLUR)


def reveal(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str) -> RevealGrant:
    """Open one item's reveal window: a picture's is short, a video's long enough to watch it."""
    require(authz.can_review(case_id), "reveal items in this case")
    if authz.user_id is None:
        raise ForbiddenError("reveals are made by a named user")
    now = utcnow()
    with audited(ctx) as log:
        kind = _media_type(log.session, case_id, sha256)
        web = ctx.settings.web
        seconds = web.reveal_video_seconds if kind == "video" else web.reveal_seconds
        r = Reveal(user_id=authz.user_id, case_id=case_id, sha256=sha256, granted_at=now,
                   expires_at=now + timedelta(seconds=seconds))
        log.session.add(r)
        log.session.flush()
        log(authz.actor, "reveal", case_id, sha256, reveal_id=r.id, seconds=seconds)
        return RevealGrant(r.id, sha256, now + timedelta(seconds=seconds), seconds)


def active_reveal(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str) -> RevealGrant | None:
    require(authz.can_review(case_id), "reveal items in this case")
    if authz.user_id is None:
        return None
    with ctx.db.session() as s:
        r = s.scalars(select(Reveal).where(Reveal.user_id == authz.user_id, Reveal.case_id == case_id,
                                           Reveal.sha256 == sha256, Reveal.expires_at > utcnow())
                      .order_by(Reveal.expires_at.desc()).limit(1)).first()
        if r is None:
            return None
        left = int((aware(r.expires_at) - utcnow()).total_seconds())
        return RevealGrant(r.id, sha256, aware(r.expires_at), max(0, left))


def _require_reveal(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str,
                    what: str | None) -> RevealGrant:
    """The user's open reveal of the item, or ForbiddenError; the clear view of ``what`` is
    audited here unless the caller audits it itself (None)."""
    require(authz.can_review(case_id), "reveal items in this case")
    grant = active_reveal(ctx, authz, case_id, sha256)
    if grant is None:
        raise ForbiddenError("reveal this item first (each reveal is logged and time-limited)")
    if what is not None:
        record_event(ctx, authz.actor, "view-clear", case_id, sha256, reveal_id=grant.id, what=what)
    return grant


def clear_picture(ctx: ServiceContext, authz: Authz, refs: RefCache, case_id: int, sha256: str,
                  size: Size) -> bytes:
    _require_reveal(ctx, authz, case_id, sha256, f"{size.value} picture")
    with ctx.db.session() as s:
        kind = _media_type(s, case_id, sha256)
    return picture(ctx, refs, case_id, sha256, kind, size, Variant.CLEAR)


def clear_video(ctx: ServiceContext, authz: Authz, refs: RefCache, files: PlaybackFiles, case_id: int,
                sha256: str, first: bool) -> tuple[Path, str]:
    """A verified file of the video's own bytes and its type, for a player the page starts muted
    and that fetches it in ranges. Every range needs the reveal; ``first`` (the player starting
    from the beginning, not continuing or seeking) is what gets an audit record of its own."""
    grant = _require_reveal(ctx, authz, case_id, sha256, None)  # audited below, once it is served
    with ctx.db.session() as s:
        kind = _media_type(s, case_id, sha256)
        mime = s.scalar(select(Content.mime).where(Content.sha256 == sha256))
    if kind != "video":
        raise NotFoundError("not a video")
    path = files.path(ctx, refs, case_id, sha256, grant.expires_at)
    if path is None:
        raise NotFoundError("the evidence holding this video cannot be read now")
    if first:
        record_event(ctx, authz.actor, "view-clear", case_id, sha256, reveal_id=grant.id, what="video")
    return path, mime or "application/octet-stream"


def _counts(s: Session, user_ids: list[int], case_id: int | None) -> dict[int, tuple[int, int]]:
    day = utcnow() - timedelta(hours=24)
    q = (select(Reveal.user_id, func.count(), func.count().filter(Reveal.granted_at >= day))
         .where(Reveal.user_id.in_(user_ids)).group_by(Reveal.user_id))
    if case_id is not None:
        q = q.where(Reveal.case_id == case_id)
    return {u: (total, recent) for u, total, recent in s.execute(q)}


def my_exposure(ctx: ServiceContext, authz: Authz) -> Exposure:
    """Every user may see their own count: knowing it is part of looking after oneself."""
    require(authz.can_see_own_exposure(), "see an exposure count (it is counted for named users)")
    assert authz.user_id is not None
    with ctx.db.session() as s:
        total, recent = _counts(s, [authz.user_id], None).get(authz.user_id, (0, 0))
    return Exposure(authz.name, authz.role.value, total, recent)


def team_exposure(ctx: ServiceContext, authz: Authz, case_id: int) -> list[Exposure]:
    """Reveals in this case per member, for the case's lead to spread the load."""
    require(authz.can_see_team_exposure(case_id), "see the team's exposure")
    with ctx.db.session() as s:
        members = s.execute(select(User.id, User.name, User.role).join(CaseMember, CaseMember.user_id == User.id)
                            .where(CaseMember.case_id == case_id).order_by(User.name)).all()
        counts = _counts(s, [m[0] for m in members], case_id)
    return [Exposure(name, role, *counts.get(uid, (0, 0))) for uid, name, role in members]
