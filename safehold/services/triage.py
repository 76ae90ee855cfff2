"""Triage: sort a case's content into known, near-known, known-good, watch and unknown.

Videos are classed like images: an exact hash match is *known*; a vPDQ match to a listed video,
or a frame matching a listed image, is *near-known* (with the shares and time ranges in the
match's ``detail``). Videos sharing footage with other stored videos, in any case, list them
under ``related_videos``.

*Unknown* images and videos are the point of the exercise: new material may mean a child still
in danger, so they are listed first-class, never as a remainder. Known-good content (NSRL) is
counted but hidden unless asked for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from safehold.services.authz import Authz, require
from safehold.services.cases import case_id_of, resolve_case
from safehold.services.context import ServiceContext
from safehold.store.hashset_models import HashEntry, HashSet, Match, VideoLink
from safehold.store.models import Content, EvidenceItem, FileInstance

__all__ = ["TRIAGE_CLASSES", "TriageItem", "triage_case"]

TRIAGE_CLASSES = ("known", "near_known", "watch", "unknown", "known_good")
MEDIA = ("image", "video")
EXACT = frozenset({"md5", "sha1", "sha256"})
PERCEPTUAL = frozenset({"pdq", "vpdq", "vpdq-frame"})


@dataclass(slots=True)
class TriageItem:
    sha256: str
    md5: str
    media_type: str | None
    size: int
    matches: list[dict[str, Any]] = field(default_factory=list)
    locators: list[dict[str, Any]] = field(default_factory=list)
    video: dict[str, Any] | None = None
    related_videos: list[dict[str, Any]] = field(default_factory=list)  # shared footage, any case

    @property
    def best_distance(self) -> int | None:
        ds = [m["distance"] for m in self.matches if m["method"] in PERCEPTUAL]
        return min(ds) if ds else None


def _classify(item: TriageItem) -> str | None:
    abuse = [m for m in item.matches if m["kind"] == "known-abuse"]
    if any(m["method"] in EXACT for m in abuse):
        return "known"
    if abuse:
        return "near_known"
    if any(m["kind"] == "known-good" and m["method"] in EXACT for m in item.matches):
        return "known_good"
    if any(m["kind"] == "watch" for m in item.matches):
        return "watch"
    if item.media_type in MEDIA:
        return "unknown"
    return None


def triage_case(ctx: ServiceContext, authz: Authz, case_ref: str | int,
                include_known_good: bool = False) -> dict[str, Any]:
    require(authz.can_read_case(case_id := case_id_of(ctx, case_ref)), "see this case")
    with ctx.db.session() as s:
        case = resolve_case(s, case_id)
        items: dict[str, TriageItem] = {}
        files = s.execute(
            select(FileInstance.sha256, FileInstance.display, FileInstance.evidence_id, FileInstance.deleted,
                   Content.md5, Content.media_kind, Content.size, Content.duration, Content.vpdq_frames,
                   Content.contact_sheet)
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .join(Content, Content.sha256 == FileInstance.sha256)
            .where(EvidenceItem.case_id == case.id)
            .order_by(FileInstance.locator)
            .execution_options(yield_per=5000)
        )
        for sha, display, eid, deleted, md5, kind, size, duration, vframes, sheet in files:
            if sha is None:
                continue
            it = items.get(sha)
            if it is None:
                it = items[sha] = TriageItem(sha, md5, kind, size)
                if kind == "video":
                    it.video = {"duration": duration, "vpdq_frames": vframes, "contact_sheet": sheet}
            it.locators.append({"evidence_id": eid, "locator": display, "deleted": deleted})
        scope = (select(FileInstance.sha256).join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                 .where(EvidenceItem.case_id == case.id).distinct().subquery())
        matches = s.execute(
            select(Match.sha256, Match.method, Match.distance, HashSet.name, HashSet.kind,
                   HashEntry.category_scheme, HashEntry.category_code, HashEntry.series,
                   HashEntry.victim_identified, Match.detail, HashEntry.file_name)
            .join(scope, scope.c.sha256 == Match.sha256)
            .join(HashSet, HashSet.id == Match.set_id)
            .join(HashEntry, HashEntry.id == Match.entry_id)
            .order_by(Match.sha256, Match.distance)
        )
        for sha, method, dist, set_name, kind, scheme, code, series, victim, detail, listed_name in matches:
            found = {
                "set": set_name, "kind": kind, "method": method, "distance": dist,
                "category_scheme": scheme, "category_code": code, "series": series,
                "victim_identified": victim,
            }
            if detail is not None:  # vPDQ: shares of frames matched and time ranges; listed name
                found.update(detail=detail, listed_name=listed_name)
            items[sha].matches.append(found)
        _add_links(s, scope, items)

    groups: dict[str, list[TriageItem]] = defaultdict(list)
    by_set: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for it in items.values():
        cls = _classify(it)
        if cls is None:
            continue
        groups[cls].append(it)
        if cls in ("known", "near_known"):
            for m in {(m["set"], m["category_scheme"], m["category_code"]) for m in it.matches
                      if m["kind"] == "known-abuse"}:
                by_set[m[0]][f"{m[1] or 'uncategorised'}:{m[2] if m[2] is not None else '-'}"] += 1
    groups["near_known"].sort(key=lambda i: (i.best_distance or 0, i.sha256))
    counts = {c: len(groups.get(c, [])) for c in TRIAGE_CLASSES}
    shown = [c for c in TRIAGE_CLASSES if c != "known_good" or include_known_good]
    return {
        "case": {"id": case.id, "name": case.name},
        "counts": counts,
        "known_by_set": {k: dict(v) for k, v in sorted(by_set.items())},
        "items": {c: [_item_dict(i) for i in groups.get(c, [])] for c in shown},
    }


def _add_links(s: Any, scope: Any, items: dict[str, TriageItem]) -> None:
    """Videos of the case that share footage with other stored videos, seen from the case's side."""
    for side, other in (("a", "b"), ("b", "a")):
        mine, theirs = getattr(VideoLink, f"sha256_{side}"), getattr(VideoLink, f"sha256_{other}")
        rows = s.execute(select(mine, theirs, getattr(VideoLink, f"share_{side}"),
                                getattr(VideoLink, f"share_{other}"), VideoLink.segments)
                         .join(scope, scope.c.sha256 == mine))
        for sha, peer, share, peer_share, segments in rows:
            flip = side == "b"  # segments are stored from a's side
            items[sha].related_videos.append({
                "sha256": peer, "share": share, "other_share": peer_share,
                "segments": [{"start": g["target_start" if flip else "query_start"],
                              "end": g["target_end" if flip else "query_end"],
                              "other_start": g["query_start" if flip else "target_start"],
                              "other_end": g["query_end" if flip else "target_end"],
                              "frames": g["frames"]} for g in segments],
            })


def _item_dict(i: TriageItem) -> dict[str, Any]:
    out: dict[str, Any] = {"sha256": i.sha256, "md5": i.md5, "media_type": i.media_type, "size": i.size,
                           "best_distance": i.best_distance, "matches": i.matches, "locators": i.locators}
    if i.video is not None:
        out["video"] = i.video
        out["related_videos"] = i.related_videos
    return out
