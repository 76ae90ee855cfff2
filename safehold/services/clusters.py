"""Near-duplicate clusters within a case: union-find over every pair of contents whose PDQ
hashes are within the radius (default 31), rotations and flips included (each content is
queried with its eight dihedral hashes, as matching does).

Pairs come from the exact multi-index search in ``match.pdq_index``, so no pair is missed. All
eight dihedral hashes of every content are indexed and each content queries with its plain hash:
the same pairs as querying eight times, at well under half the cost (100k contents: ~15 s on two
busy cores against ~35 s). That is still too slow for a page view, so the web app refreshes
clusters after responding (``services.refresh.CaseRefresher``); only categorising a cluster
waits for them.
Clusters are stored per case with a stamp of the contents they were computed from and
recomputed only when that changes (new evidence ingested) or the radius setting does.
Low-quality hashes (flat images) are left out, as in matching: they would chain unrelated
items together. Only clusters of two or more are stored; anything else is its own cluster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.match.quality import MIN_QUALITY
from safehold.services.context import ServiceContext
from safehold.services.gallery import files_stamp
from safehold.store.models import Content, EvidenceItem, FileInstance
from safehold.store.review_models import ClusterState, ContentCluster

__all__ = ["cluster_members", "cluster_stamp", "ensure_clusters", "union_find"]


def union_find(n: int, pairs: Sequence[tuple[int, int]]) -> list[int]:
    """Root index per element (path halving, union by smaller root index: deterministic)."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(n)]


def cluster_stamp(s: Session, case_id: int, radius: int) -> str:
    """The inputs clusters are computed from: the case's files, the radius and the quality floor."""
    return f"{files_stamp(s, case_id)};radius={radius};quality={MIN_QUALITY}"


def _pairs(rows: list[tuple[str, str, str]], radius: int) -> list[tuple[int, int]]:
    """Index pairs of contents within ``radius`` (numpy and the index load only when there is work)."""
    import numpy as np

    from safehold.match.pdq_index import PdqIndex, hex_to_bytes

    variants = [[dih[i:i + 64] for i in range(0, 512, 64)] if len(dih) == 512 else [pdq] for _sha, pdq, dih in rows]
    owner = np.asarray([i for i, v in enumerate(variants) for _ in v], dtype=np.int64)
    index = PdqIndex()  # row k holds a variant of content owner[k]
    index.add(np.arange(len(owner), dtype=np.int64), hex_to_bytes([h for v in variants for h in v]))
    pairs: list[tuple[int, int]] = []
    for m in index.query_many(hex_to_bytes([r[1] for r in rows]), radius):
        for qi, hit in zip(m.query.tolist(), owner[m.ids].tolist(), strict=True):
            if qi != hit:
                pairs.append((qi, hit))
    return pairs


def ensure_clusters(ctx: ServiceContext, case_id: int) -> None:
    """Compute and store the case's clusters unless the stored ones are current.

    Internal to the review use cases, which check access before calling it."""
    radius = ctx.settings.web.cluster_radius
    with ctx.db.session() as s:
        stamp = cluster_stamp(s, case_id, radius)
        state = s.get(ClusterState, case_id)
        if state is not None and state.stamp == stamp:
            return
        scope = (select(FileInstance.sha256).join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
                 .where(EvidenceItem.case_id == case_id).distinct().subquery())
        rows = [(sha, pdq, dih or "") for sha, pdq, dih in s.execute(
            select(Content.sha256, Content.pdq, Content.pdq_dihedral)
            .join(scope, scope.c.sha256 == Content.sha256)
            .where(Content.pdq.is_not(None), Content.pdq_quality >= MIN_QUALITY)
            .order_by(Content.sha256)
        ) if pdq is not None]
    shas = [r[0] for r in rows]
    roots = union_find(len(shas), _pairs(rows, radius) if len(rows) > 1 else [])
    sizes = Counter(roots)
    out = [{"case_id": case_id, "sha256": shas[i], "cluster": shas[r], "size": sizes[r]}
           for i, r in enumerate(roots) if sizes[r] > 1]
    try:
        with ctx.db.session() as s:
            s.execute(delete(ContentCluster).where(ContentCluster.case_id == case_id))
            if out:
                s.execute(insert(ContentCluster), out)
            state = s.get(ClusterState, case_id)
            if state is None:
                s.add(ClusterState(case_id=case_id, stamp=stamp, radius=radius, computed_at=utcnow()))
            else:
                state.stamp, state.radius, state.computed_at = stamp, radius, utcnow()
    except IntegrityError:  # a concurrent request stored the same clusters first
        return


def cluster_members(s: Session, case_id: int, sha256: str) -> list[str]:
    """Every content in the same cluster as ``sha256`` (itself alone when it has no near-duplicates)."""
    cluster = s.scalar(select(ContentCluster.cluster).where(ContentCluster.case_id == case_id,
                                                            ContentCluster.sha256 == sha256))
    if cluster is None:
        return [sha256]
    return list(s.scalars(select(ContentCluster.sha256).where(ContentCluster.case_id == case_id,
                                                              ContentCluster.cluster == cluster)
                          .order_by(ContentCluster.sha256)))

