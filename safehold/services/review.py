"""Categorising, confirming, notes and tags: the review decisions of a case.

A decision is per content per case, in the case's category scheme. Categorising a cluster
applies one decision to every near-duplicate of the item (see ``services.clusters``). Where a
case asks for two-person confirmation, a decision stays *pending* until a different user
confirms it; only confirmed decisions reach the VICS export. Every change is audited in the same
transaction as the change itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.core.errors import ForbiddenError, NotFoundError, SafeholdError
from safehold.services.audit import audited
from safehold.services.authz import Authz, require
from safehold.services.categories import DEFAULT_SCHEME, Category, label, scheme
from safehold.services.clusters import cluster_members, ensure_clusters
from safehold.services.context import ServiceContext
from safehold.store.models import EvidenceItem, FileInstance
from safehold.store.review_models import CaseReviewSettings, Note, Review, Tag

__all__ = [
    "Decision",
    "ReviewSettings",
    "add_note",
    "add_tag",
    "categorise",
    "confirm",
    "content_in_case",
    "remove_tag",
    "review_settings",
    "update_review_settings",
]

_TAG = re.compile(r"^[\w .:/-]{1,60}$")
MAX_NOTE = 4000


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    scheme: str
    two_person: bool
    categories: tuple[Category, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    sha256: str
    code: str
    label: str
    status: str


def content_in_case(s: Session, case_id: int, sha256: str) -> None:
    """A content is reachable only through a case that holds it; a bare hash opens nothing."""
    found = s.scalar(select(FileInstance.id).join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                     .where(EvidenceItem.case_id == case_id, FileInstance.sha256 == sha256).limit(1))
    if found is None:
        raise NotFoundError("no such item in this case")


def _settings(s: Session, case_id: int) -> ReviewSettings:
    row = s.get(CaseReviewSettings, case_id)
    name = row.category_scheme if row else DEFAULT_SCHEME
    return ReviewSettings(name, bool(row and row.two_person), scheme(name))


def review_settings(ctx: ServiceContext, authz: Authz, case_id: int) -> ReviewSettings:
    require(authz.can_read_case(case_id), "see this case")
    with ctx.db.session() as s:
        return _settings(s, case_id)


def update_review_settings(ctx: ServiceContext, authz: Authz, case_id: int, scheme_name: str,
                           two_person: bool) -> ReviewSettings:
    require(authz.can_manage_case(case_id), "change this case's review settings")
    scheme(scheme_name)
    with audited(ctx) as log:
        row = log.session.get(CaseReviewSettings, case_id)
        if row is None:
            row = CaseReviewSettings(case_id=case_id)
            log.session.add(row)
        row.category_scheme, row.two_person = scheme_name, two_person
        log(authz.actor, "review-settings", case_id, None, scheme=scheme_name, two_person=two_person)
        return _settings(log.session, case_id)


def categorise(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str, code: str,
               whole_cluster: bool = False) -> list[Decision]:
    """Decide ``code`` for one item, or for its whole near-duplicate cluster."""
    require(authz.can_review(case_id), "categorise in this case")
    if authz.user_id is None:
        raise ForbiddenError("decisions are made by a named user")
    if whole_cluster:
        ensure_clusters(ctx, case_id)
    with audited(ctx) as log:
        s = log.session
        content_in_case(s, case_id, sha256)
        cfg = _settings(s, case_id)
        if code not in {c.code for c in cfg.categories}:
            raise SafeholdError(f"{code!r} is not a category of scheme {cfg.scheme}")
        targets = cluster_members(s, case_id, sha256) if whole_cluster else [sha256]
        status = "pending" if cfg.two_person else "confirmed"
        now = utcnow()
        existing = {r.sha256: r for r in s.scalars(select(Review).where(Review.case_id == case_id,
                                                                        Review.sha256.in_(targets)))}
        out = []
        for sha in targets:
            r = existing.get(sha)
            if r is None:
                r = Review(case_id=case_id, sha256=sha)
                s.add(r)
            r.category_scheme, r.category_code, r.status = cfg.scheme, code, status
            r.decided_by, r.decided_at, r.via_cluster = authz.user_id, now, whole_cluster and sha != sha256
            r.confirmed_by = authz.user_id if status == "confirmed" else None
            r.confirmed_at = now if status == "confirmed" else None
            out.append(Decision(sha, code, label(cfg.scheme, code), status))
        log(authz.actor, "categorise-cluster" if whole_cluster else "categorise", case_id, sha256,
            scheme=cfg.scheme, code=code, status=status, items=targets)
        return out


def confirm(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str) -> Decision:
    """The second person's confirmation of a pending decision (never the decider's own)."""
    require(authz.can_review(case_id), "confirm decisions in this case")
    with audited(ctx) as log:
        r = log.session.scalar(select(Review).where(Review.case_id == case_id, Review.sha256 == sha256))
        if r is None or r.status != "pending":
            raise SafeholdError("there is no pending decision on this item")
        if r.decided_by == authz.user_id or authz.user_id is None:
            raise ForbiddenError("a decision is confirmed by a second person, not by its decider")
        r.status, r.confirmed_by, r.confirmed_at = "confirmed", authz.user_id, utcnow()
        log(authz.actor, "confirm", case_id, sha256, scheme=r.category_scheme, code=r.category_code)
        return Decision(sha256, r.category_code, label(r.category_scheme, r.category_code), r.status)


def add_note(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str, text: str) -> None:
    require(authz.can_review(case_id), "write notes in this case")
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise SafeholdError(f"a note is 1–{MAX_NOTE} characters")
    if authz.user_id is None:
        raise ForbiddenError("notes are written by a named user")
    with audited(ctx) as log:
        content_in_case(log.session, case_id, sha256)
        log.session.add(Note(case_id=case_id, sha256=sha256, author_id=authz.user_id, text=text))
        log(authz.actor, "note", case_id, sha256, chars=len(text))


def _tag(tag: str) -> str:
    tag = tag.strip().lower()
    if not _TAG.match(tag):
        raise SafeholdError("a tag is 1–60 letters, digits, spaces or . : / _ -")
    return tag


def add_tag(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str, tag: str) -> None:
    require(authz.can_review(case_id), "tag items in this case")
    tag = _tag(tag)
    if authz.user_id is None:
        raise ForbiddenError("tags are added by a named user")
    with audited(ctx) as log:
        content_in_case(log.session, case_id, sha256)
        exists = log.session.scalar(select(Tag.id).where(Tag.case_id == case_id, Tag.sha256 == sha256, Tag.tag == tag))
        if exists is None:
            log.session.add(Tag(case_id=case_id, sha256=sha256, tag=tag, added_by=authz.user_id))
            log(authz.actor, "tag-add", case_id, sha256, tag=tag)


def remove_tag(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str, tag: str) -> None:
    require(authz.can_review(case_id), "tag items in this case")
    tag = _tag(tag)
    with audited(ctx) as log:
        gone = log.session.execute(delete(Tag).where(Tag.case_id == case_id, Tag.sha256 == sha256, Tag.tag == tag))
        if gone.rowcount:  # type: ignore[attr-defined]
            log(authz.actor, "tag-remove", case_id, sha256, tag=tag)
