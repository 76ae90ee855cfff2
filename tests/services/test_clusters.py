"""Near-duplicate clusters: union-find, and clusters over a real ingested case."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from safehold.services.clusters import cluster_members, ensure_clusters, union_find
from safehold.services.context import ServiceContext
from safehold.store.review_models import ClusterState, ContentCluster
from safehold.testing.review import build_review_case


def test_union_find_joins_transitively_and_labels_by_smallest() -> None:
    assert union_find(6, [(1, 3), (3, 5), (4, 2)]) == [0, 1, 2, 1, 2, 1]
    assert union_find(3, []) == [0, 1, 2]


def test_clusters_of_a_case(ctx: ServiceContext, tmp_path: Path) -> None:
    rc = build_review_case(ctx, tmp_path / "ev")
    ensure_clusters(ctx, rc.case_id)
    with ctx.db.session() as s:
        a = set(cluster_members(s, rc.case_id, rc.sha("DCIM/a_small.jpg")))
        b = set(cluster_members(s, rc.case_id, rc.sha("DCIM/b.jpg")))
        noise = cluster_members(s, rc.case_id, rc.sha("Pictures/noise.jpg"))
        stamp = s.get(ClusterState, rc.case_id)
        rows = len(list(s.scalars(select(ContentCluster))))
    assert a == {rc.sha(p) for p in ("DCIM/a.jpg", "DCIM/a_small.jpg", "DCIM/a_q50.jpg")}
    assert b == {rc.sha("DCIM/b.jpg"), rc.sha("DCIM/b_small.jpg")}
    assert noise == [rc.sha("Pictures/noise.jpg")]
    assert stamp is not None
    ensure_clusters(ctx, rc.case_id)  # current: nothing recomputed
    with ctx.db.session() as s:
        again = s.get(ClusterState, rc.case_id)
        assert again is not None and again.computed_at == stamp.computed_at
        assert len(list(s.scalars(select(ContentCluster)))) == rows
