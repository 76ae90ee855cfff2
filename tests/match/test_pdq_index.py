"""PdqIndex answers exactly what brute force answers: everything within the radius, nothing beyond."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from safehold.match._pdq_bits import KeyPlan, popcount_distances
from safehold.match.pdq_index import PdqIndex, bytes_to_hex, hex_to_bytes

Hashes = NDArray[np.uint8]
Hits = list[list[tuple[int, int]]]


def _flip(rng: np.random.Generator, h: Hashes, distances: NDArray[np.int64]) -> Hashes:
    """Each row of ``h`` with exactly ``distances[i]`` distinct bits flipped."""
    bits = np.unpackbits(h, axis=1)
    order = np.argsort(rng.random(bits.shape), axis=1)
    flip = np.arange(256)[None, :] < distances[:, None]
    rows = np.repeat(np.arange(len(h)), 256).reshape(len(h), 256)
    bits[rows[flip], order[flip]] ^= 1
    return np.packbits(bits, axis=1)


@dataclass(frozen=True)
class Corpus:
    index: PdqIndex
    ids: NDArray[np.int64]
    queries: Hashes
    src: NDArray[np.int64]  # planted query -> its source row; -1 for random queries
    near: NDArray[np.int64]  # brute force, once: (query, row, distance) for every distance <= 43

    def brute(self, radius: int) -> Hits:
        out: Hits = [[] for _ in range(len(self.queries))]
        for q, k, d in self.near[self.near[:, 2] <= radius].tolist():
            out[q].append((int(self.ids[k]), d))
        return [sorted(h, key=lambda x: (x[1], x[0])) for h in out]


def _near(db: Hashes, queries: Hashes, radius: int) -> NDArray[np.int64]:
    db64 = db.view(np.uint64)
    found = []
    for i, q in enumerate(queries.view(np.uint64)):
        d = np.bitwise_count(db64 ^ q).sum(axis=1)
        k = np.flatnonzero(d <= radius)
        found.append(np.stack([np.full(len(k), i), k, d[k]], axis=1))
    return np.concatenate(found).astype(np.int64)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    """50k random hashes (ids not 0..n), queries planted at every distance 0-40 plus random ones."""
    rng = np.random.default_rng(20240517)
    db = rng.integers(0, 256, size=(50_000, 32), dtype=np.uint8)
    ids = rng.permutation(np.unique(rng.integers(0, 2**40, size=60_000))[:50_000])
    dist = np.repeat(np.arange(41), 12)
    src = rng.integers(0, len(db), size=len(dist))
    queries = np.concatenate([_flip(rng, db[src], dist), rng.integers(0, 256, size=(40, 32), dtype=np.uint8)])
    index = PdqIndex(threads=2)
    index.add(ids, db)
    return Corpus(index, ids, queries, np.concatenate([src, np.full(40, -1)]), _near(db, queries, 43))


def test_range_search_equals_brute_force_at_31(corpus: Corpus) -> None:
    got = corpus.index.query(corpus.queries)
    assert got == corpus.brute(31)
    planted = np.repeat(np.arange(41), 12)
    for i, d in enumerate(planted):  # the planted neighbour is there exactly when within the radius
        assert ((int(corpus.ids[corpus.src[i]]), int(d)) in got[i]) == (d <= 31)
    assert all(d <= 31 for hits in got for _, d in hits)


@pytest.mark.parametrize("radius", [0, 1, 10, 11, 21, 32, 40, 43])
def test_other_radii_equal_brute_force(corpus: Corpus, radius: int) -> None:
    assert corpus.index.query(corpus.queries, radius) == corpus.brute(radius)


def test_radius_beyond_the_probe_plan_is_refused(corpus: Corpus) -> None:
    with pytest.raises(ValueError, match="radius"):
        corpus.index.query(corpus.queries[:1], 44)


def test_query_many_streams_chunks_in_order_with_stream_indices(corpus: Corpus) -> None:
    index, queries = corpus.index, corpus.queries
    expected = index.query(queries)
    chunks = [queries[:100], queries[100:101], queries[101:0], queries[101:]]
    got: Hits = [[] for _ in range(len(queries))]
    starts = []
    for m in index.query_many(iter(chunks), threads=3, batch_size=7):
        starts.append(m.start)
        assert ((m.query >= m.start) & (m.query < m.start + m.count)).all()
        for q, i, d in zip(m.query.tolist(), m.ids.tolist(), m.distances.tolist(), strict=True):
            got[q].append((i, d))
    assert got == expected
    assert starts == sorted(starts) and starts[0] == 0


def test_duplicate_hashes_with_different_ids_are_all_returned() -> None:
    rng = np.random.default_rng(1)
    h = rng.integers(0, 256, size=(3, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(np.array([10, 11, 12], dtype=np.int64), np.stack([h[0], h[0], h[1]]))
    assert index.query(h[:1]) == [[(10, 0), (11, 0)]]


def test_empty_index_and_empty_queries() -> None:
    index = PdqIndex()
    assert len(index) == 0
    assert index.query(np.zeros((2, 32), dtype=np.uint8)) == [[], []]
    assert list(index.query_many(np.zeros((0, 32), dtype=np.uint8))) == []
    index.add(np.array([1], dtype=np.int64), np.zeros((1, 32), dtype=np.uint8))
    assert index.query(np.zeros((0, 32), dtype=np.uint8)) == []


def test_remove_hides_rows_at_once_and_rebuild_drops_them() -> None:
    rng = np.random.default_rng(2)
    h = rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(np.arange(1000, dtype=np.int64), h)
    assert index.query(h[5:6]) == [[(5, 0)]]
    assert index.remove(np.array([5, 6, 99_999], dtype=np.int64)) == 2
    assert index.query(h[5:7]) == [[], []]
    assert len(index) == 998
    index.add(np.array([5], dtype=np.int64), h[6:7])  # an id may come back, with another hash
    assert index.query(h[5:7]) == [[], [(5, 0)]]
    index.build(compact=True)
    assert index.nbytes > 0 and len(index) == 999
    assert index.query(h[4:7]) == [[(4, 0)], [], [(5, 0)]]


def test_removing_everything_then_compacting_leaves_a_working_empty_index(tmp_path: Path) -> None:
    index = PdqIndex()
    index.add(np.array([1, 2], dtype=np.int64), np.zeros((2, 32), dtype=np.uint8))
    index.build()
    index.remove(np.array([1, 2], dtype=np.int64))
    index.build(compact=True)
    assert len(index) == 0 and index.query(np.zeros((1, 32), dtype=np.uint8)) == [[]]
    index.save(tmp_path / "i")
    assert len(PdqIndex.load(tmp_path / "i")) == 0


def test_remove_reaches_queued_adds() -> None:
    index = PdqIndex()
    index.add(np.array([1, 2], dtype=np.int64), np.zeros((2, 32), dtype=np.uint8))
    assert index.remove(np.array([1], dtype=np.int64)) == 1
    assert index.query(np.zeros((1, 32), dtype=np.uint8)) == [[(2, 0)]]


def test_add_refuses_bad_input() -> None:
    index = PdqIndex()
    index.add(np.array([1], dtype=np.int64), np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="already"):
        index.add(np.array([1], dtype=np.int64), np.ones((1, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="duplicate"):
        index.add(np.array([2, 2], dtype=np.int64), np.ones((2, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        index.add(np.array([3], dtype=np.int64), np.ones((1, 31), dtype=np.uint8))
    with pytest.raises(ValueError, match="integers"):
        index.add(np.array([3.5]), np.ones((1, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="as long"):
        index.add(np.array([3, 4], dtype=np.int64), np.ones((1, 32), dtype=np.uint8))


def test_dihedral_query_keeps_the_best_variant_per_id() -> None:
    rng = np.random.default_rng(3)
    db = rng.integers(0, 256, size=(100, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(np.arange(100, dtype=np.int64) + 500, db)
    variants = rng.integers(0, 256, size=(2, 8, 32), dtype=np.uint8)
    variants[0, 3] = _flip(rng, db[7:8], np.array([9]))[0]
    variants[0, 5] = _flip(rng, db[7:8], np.array([4]))[0]
    variants[0, 6] = _flip(rng, db[8:9], np.array([30]))[0]
    assert index.query_dihedral(variants) == [[(507, 4), (508, 30)], []]


def test_hex_round_trip_is_big_endian() -> None:
    hexes = ["80" + "00" * 31, "0f" * 32]
    b = hex_to_bytes(hexes)
    assert b[0, 0] == 0x80 and b.shape == (2, 32)
    assert bytes_to_hex(b) == hexes
    assert popcount_distances(b[:1], b[1:]).tolist() == [129]
    with pytest.raises(ValueError):
        hex_to_bytes(["zz" * 32])
    with pytest.raises(ValueError):
        hex_to_bytes(["00" * 31])


def test_keys_read_the_bits_the_plan_names() -> None:
    plan = KeyPlan.for_size(1000)
    h = np.zeros((1, 32), dtype=np.uint8)
    first = plan.bit_order[0]  # most significant bit of table 0's key
    h[0, first // 8] = 0x80 >> (first % 8)
    keys = plan.keys(h)
    assert keys[0, 0] == 1 << (plan.key_bits - 1) and keys[0, 1:].sum() == 0
