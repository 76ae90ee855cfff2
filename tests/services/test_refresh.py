"""The web app's after-response refresh of a case's listing and clusters: skipped while an
ingest is adding files (the result would be stale at once), done once it has finished."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.refresh import CaseRefresher
from safehold.store.models import EvidenceItem
from safehold.store.review_models import ClusterState, GalleryState
from safehold.testing.gallery import fill_gallery

OPERATOR = Authz.local("test:officer")  # the local operator: use cases need an actor's rights


def test_refresh_waits_for_a_running_ingest(ctx: ServiceContext, tmp_path: Path) -> None:
    (tmp_path / "ev").mkdir()
    case = create_case(ctx, OPERATOR, "refresh")
    ev = add_evidence(ctx, OPERATOR, case.id, tmp_path / "ev", "synthetic")
    fill_gallery(ctx, ev.id, 200)

    def state(value: str) -> None:
        with ctx.db.session() as s:
            s.execute(update(EvidenceItem).where(EvidenceItem.id == ev.id).values(ingest_state=value))

    def derived() -> tuple[object, object]:
        with ctx.db.session() as s:
            return s.get(GalleryState, case.id), s.get(ClusterState, case.id)

    refresher = CaseRefresher()
    state("running")
    refresher.refresh(ctx, case.id)
    assert derived() == (None, None)
    state("done")
    refresher.refresh(ctx, case.id)
    listing, clusters = derived()
    assert listing is not None and clusters is not None
