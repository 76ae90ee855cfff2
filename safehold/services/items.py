"""One item in full: where it was found, its hashes and EXIF, what it matched, the case's
decision, notes and tags, and the other cases holding the same or nearly the same content.

Other cases are listed only when the user is a member of them: a reviewer must not learn that
a case they are not on holds this picture. Near-same content is found by PDQ distance (within
the cluster radius, rotations and flips included) in each of those cases' index
(``services.near``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safehold.services.audit import record_event
from safehold.services.authz import Authz, require
from safehold.services.categories import label
from safehold.services.clusters import cluster_members
from safehold.services.context import ServiceContext
from safehold.services.matching import MIN_QUALITY
from safehold.services.near import CaseIndexes, dihedral_query
from safehold.services.review import content_in_case
from safehold.store.hashset_models import HashEntry, HashSet, Match
from safehold.store.models import Case, Content, EvidenceItem, FileInstance
from safehold.store.review_models import Note, Review, Tag, User

__all__ = ["item_detail"]

def _locators(s: Session, case_id: int, sha256: str) -> list[dict[str, Any]]:
    rows = s.execute(
        select(FileInstance, EvidenceItem.label)
        .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
        .where(EvidenceItem.case_id == case_id, FileInstance.sha256 == sha256)
        .order_by(FileInstance.evidence_id, FileInstance.locator)
    ).all()
    return [{"evidence_id": f.evidence_id, "evidence": lab, "locator": f.display, "path": f.path,
             "name": f.name, "deleted": f.deleted, "size": f.size,
             "modified": f.mtime.isoformat() if f.mtime else None,
             "created": f.crtime.isoformat() if f.crtime else None,
             "error": f"{f.error_code}: {f.error_message}" if f.error_code else None} for f, lab in rows]


def _matches(s: Session, sha256: str) -> list[dict[str, Any]]:
    rows = s.execute(
        select(Match.method, Match.distance, HashSet.name, HashSet.kind, HashEntry.category_scheme,
               HashEntry.category_code, HashEntry.series)
        .join(HashSet, HashSet.id == Match.set_id).join(HashEntry, HashEntry.id == Match.entry_id)
        .where(Match.sha256 == sha256).order_by(Match.distance, HashSet.name)
    ).all()
    return [{"method": m, "distance": d, "set": n, "kind": k, "category": label(sc, co) if co else None,
             "series": se} for m, d, n, k, sc, co, se in rows]


def _other_cases(s: Session, authz: Authz, case_id: int, content: Content, radius: int,
                 near: CaseIndexes) -> list[dict[str, Any]]:
    visible = [c for c in authz.cases if c != case_id and authz.can_read_case(c)]
    if not visible:
        return []
    out: dict[int, dict[str, Any]] = {}
    names = dict(s.execute(select(Case.id, Case.name).where(Case.id.in_(visible))).all())
    same = s.scalars(select(EvidenceItem.case_id).join(FileInstance, FileInstance.evidence_id == EvidenceItem.id)
                     .where(EvidenceItem.case_id.in_(visible), FileInstance.sha256 == content.sha256).distinct())
    for cid in same:
        out[cid] = {"case_id": cid, "case": names[cid], "same": True, "distance": 0, "sha256": content.sha256}
    if content.pdq and (content.pdq_quality or 0) >= MIN_QUALITY:
        query = dihedral_query(content.pdq, content.pdq_dihedral)
        for cid in visible:
            if cid in out:
                continue
            hits = [(sha, d) for sha, d in near.near(s, cid, query, radius) if sha != content.sha256]
            if hits:
                sha, d = hits[0]
                out[cid] = {"case_id": cid, "case": names[cid], "same": False, "distance": d, "sha256": sha}
    return sorted(out.values(), key=lambda o: (o["distance"], o["case_id"]))


def item_detail(ctx: ServiceContext, authz: Authz, case_id: int, sha256: str,
                near: CaseIndexes | None = None) -> dict[str, Any]:
    """``near`` keeps the other cases' PDQ indexes between calls (the web app holds one)."""
    require(authz.can_read_case(case_id), "see this case")
    with ctx.db.session() as s:
        content_in_case(s, case_id, sha256)
        c = s.get(Content, sha256)
        assert c is not None
        review = s.scalar(select(Review).where(Review.case_id == case_id, Review.sha256 == sha256))
        names = dict(s.execute(select(User.id, User.name)).all())
        decision = None
        if review is not None:
            decision = {"code": review.category_code, "label": label(review.category_scheme, review.category_code),
                        "status": review.status, "decided_by": names.get(review.decided_by),
                        "decided_at": review.decided_at.isoformat(), "decided_by_id": review.decided_by,
                        "confirmed_by": names.get(review.confirmed_by) if review.confirmed_by else None}
        notes = [{"author": names.get(n.author_id), "at": n.created_at.isoformat(), "text": n.text}
                 for n in s.scalars(select(Note).where(Note.case_id == case_id, Note.sha256 == sha256)
                                    .order_by(Note.id))]
        tags = list(s.scalars(select(Tag.tag).where(Tag.case_id == case_id, Tag.sha256 == sha256).order_by(Tag.tag)))
        detail = {
            "sha256": c.sha256, "md5": c.md5, "sha1": c.sha1, "size": c.size, "mime": c.mime,
            "media_type": c.media_kind, "width": c.width, "height": c.height, "pdq": c.pdq,
            "pdq_quality": c.pdq_quality, "exif": c.exif or {},
            "camera": {"make": c.camera_make, "model": c.camera_model, "serial": c.camera_serial},
            "locators": _locators(s, case_id, sha256), "matches": _matches(s, sha256),
            "decision": decision, "notes": notes, "tags": tags,
            "cluster": cluster_members(s, case_id, sha256),
            "other_cases": _other_cases(s, authz, case_id, c, ctx.settings.web.cluster_radius,
                                        near or CaseIndexes()),
        }
    record_event(ctx, authz.actor, "view-item", case_id, sha256)
    return detail
