"""The item page's near-duplicate search in other cases: a PDQ index per case, kept while the
case's files are unchanged and rebuilt when they change."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from safehold.services.authz import Authz
from safehold.services.cases import create_case
from safehold.services.context import ServiceContext
from safehold.services.evidence import add_evidence
from safehold.services.near import CaseIndexes, dihedral_query
from safehold.store.models import Content, FileInstance

OPERATOR = Authz.local("test:officer")  # the local operator: use cases need an actor's rights


def _flip(hex_hash: str, bits: int) -> str:
    n = int(hex_hash, 16) ^ ((1 << bits) - 1)  # the lowest ``bits`` bits
    return f"{n:064x}"


def _add(ctx: ServiceContext, evidence_id: int, name: str, pdq: str, quality: int = 100) -> str:
    sha = hashlib.sha256(name.encode()).hexdigest()
    with ctx.db.session() as s:
        s.execute(insert(Content), [{"sha256": sha, "md5": sha[:32], "sha1": sha[:40], "size": 1, "media_kind": "image",
                                     "pdq": pdq, "pdq_quality": quality}])
        s.execute(insert(FileInstance), [{"evidence_id": evidence_id, "locator_hash": sha, "depth": 0, "name": name,
                                          "locator": f'[["evidence","{evidence_id}"],["fs","/{name}"]]',
                                          "display": f"evidence:{evidence_id} / fs:/{name}", "path": f"/{name}",
                                          "size": 1, "sha256": sha, "deleted": False, "batch_seq": 0}])
    return sha


def test_near_duplicates_from_a_kept_index(ctx: ServiceContext, tmp_path: Path) -> None:
    (tmp_path / "ev").mkdir()
    case = create_case(ctx, OPERATOR, "near")
    ev = add_evidence(ctx, OPERATOR, case.id, tmp_path / "ev", "synthetic")
    rng = np.random.default_rng(3)
    base = "".join(f"{b:02x}" for b in rng.integers(0, 256, 32, dtype=np.uint8))
    a = _add(ctx, ev.id, "a.jpg", base)
    b = _add(ctx, ev.id, "b.jpg", _flip(base, 5))
    _add(ctx, ev.id, "far.jpg", _flip(base, 90))
    _add(ctx, ev.id, "flat.jpg", _flip(base, 1), quality=10)  # low quality: never matched
    indexes = CaseIndexes()
    with ctx.db.session() as s:
        assert indexes.near(s, case.id, dihedral_query(base, None), 31) == [(a, 0), (b, 5)]
        first = indexes._built[case.id]
        assert indexes.near(s, case.id, dihedral_query(_flip(base, 2), None), 31) == [(a, 2), (b, 3)]
        assert indexes._built[case.id] is first  # kept while the files are unchanged
    c = _add(ctx, ev.id, "c.jpg", _flip(base, 7))
    with ctx.db.session() as s:
        assert [sha for sha, _ in indexes.near(s, case.id, dihedral_query(base, None), 31)] == [a, b, c]
        assert indexes._built[case.id] is not first
        # a rotated copy is found through the query's eight dihedral hashes
        rotated = "0" * 64 * 3 + base + "f" * 64 * 4
        assert indexes.near(s, case.id, dihedral_query("0" * 64, rotated), 31)[0] == (a, 0)
