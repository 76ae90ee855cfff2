"""The multi-index hash tables behind PdqIndex: layout, build, structural checks and the batch search.

Layout, per table j of m (keys of ``key_bits`` bits; bucket g = j * 2**key_bits + key):
  ``bitmap``  one bit per bucket, set when the bucket holds rows (11 MB at 23 bits, cache-resident);
  ``starts``  for each non-empty bucket in order, where its rows begin in ``rows``, plus an end mark;
  ``rows``    row numbers grouped by (table, key).
A bucket's rank among non-empty buckets is a per-word prefix count plus a popcount, so empty buckets
(most of them below ~8M hashes) cost a cached bit test instead of a memory miss, and the offsets take
4 bytes per non-empty bucket instead of 4 per bucket. Measured against plain CSR offsets: 1.7x the
queries at 1M hashes, 0.9x at 10M, and 90-300 MB less memory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from safehold.match._pdq_bits import HASH_BYTES, KeyPlan, ProbePlan

__all__ = ["Tables", "build_tables", "empty_tables"]

_KEY_BLOCK = 1 << 20  # rows per key-computation task when building
_CHECK_BLOCK = 1 << 22  # elements per block when validating loaded arrays
_ONE = np.uint64(1)

Int64s = NDArray[np.int64]


@dataclass(frozen=True)
class Tables:
    """One immutable build: rows (hash, id, alive) and the per-substring buckets over them."""

    plan: KeyPlan
    hashes: NDArray[np.uint8]  # (n, 32)
    ids: Int64s  # (n,)
    alive: NDArray[np.bool_]  # (n,); False after remove()
    bitmap: NDArray[np.uint64]  # (m * 2**key_bits / 64,)
    starts: NDArray[np.uint32]  # (non-empty buckets + 1,)
    rows: NDArray[np.uint32]  # (m * n,)
    ranks: NDArray[np.uint32] = field(init=False, repr=False)  # non-empty buckets before each bitmap word

    def __post_init__(self) -> None:
        ranks = np.zeros(len(self.bitmap), dtype=np.uint32)
        np.cumsum(np.bitwise_count(self.bitmap)[:-1], out=ranks[1:])
        object.__setattr__(self, "ranks", ranks)  # derived, never stored: one less thing to validate

    @property
    def n(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        parts = (self.hashes, self.ids, self.alive, self.bitmap, self.starts, self.rows, self.ranks)
        return sum(a.nbytes for a in parts)

    def search(self, probes: ProbePlan, q: NDArray[np.uint8], radius: int) -> tuple[Int64s, Int64s, Int64s]:
        """(query, row, distance) for every live row within ``radius`` of each of ``q``'s hashes."""
        if self.n == 0 or len(q) == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        plan = self.plan
        keys = plan.keys(q).astype(np.int64)
        keys += np.arange(plan.substrings, dtype=np.int64) << plan.key_bits  # each table's bucket range
        g = np.take(keys, probes.tables, axis=1)
        g ^= probes.masks
        g = g.ravel()  # every bucket to read, query by query
        word_at = g >> 6
        words = np.take(self.bitmap, word_at)
        bit = (g & 63).astype(np.uint64)
        probe = np.flatnonzero((words >> bit) & _ONE)  # the non-empty ones
        below = words[probe]
        below &= (_ONE << bit[probe]) - _ONE
        rank = np.take(self.ranks, word_at[probe]).astype(np.int64)
        rank += np.bitwise_count(below)
        first = np.take(self.starts, rank)
        rank += 1
        count = np.take(self.starts, rank)
        count -= first
        # Expand bucket ranges to positions in ``rows``: each range's start, repeated, plus a ramp.
        shift = first.astype(np.int64)
        shift += count
        shift -= np.cumsum(count, dtype=np.int64)
        pos = np.repeat(shift, count)
        pos += np.arange(len(pos), dtype=np.int64)
        rows = np.take(self.rows, pos)
        qi = np.repeat(probe // len(probes.masks), count)
        cand = np.take(self.hashes.view(np.uint64), rows, axis=0)  # np.take: ~4x faster than fancy indexing
        cand ^= np.take(q.view(np.uint64), qi, axis=0)
        # Byte-sum of the four 64-bit popcounts in one multiply; a candidate shares >= key_bits - 3
        # bits with its query, so the sum stays below 256 and the mod-256 wrap never bites.
        dist = np.bitwise_count(cand).view(np.uint32).ravel()
        dist *= np.uint32(0x01010101)
        dist >>= np.uint32(24)
        hit = np.flatnonzero(dist <= radius)
        qi, row, d = qi[hit], rows[hit].astype(np.int64), dist[hit].astype(np.int64)
        _, once = np.unique(qi * self.n + row, return_index=True)  # found via several substrings
        keep = once[self.alive[row[once]]]
        return qi[keep], row[keep], d[keep]

    def check(self) -> str | None:
        """What is structurally wrong, or None. Cheap (well under a second at 10M), and enough that even a
        self-consistent but wrong file cannot make a query read out of bounds or skip a table's rows."""
        m, nb, n = self.plan.substrings, self.plan.buckets, self.n
        if self.hashes.shape != (n, HASH_BYTES) or len(self.alive) != n or len(self.rows) != m * n:
            return "row arrays disagree in length"
        if len(self.bitmap) != m * nb // 64 or len(self.starts) != self.ranks[-1] + np.bitwise_count(
                self.bitmap[-1]) + 1:
            return "bucket bitmap and starts disagree"
        if n and int(self.rows.max()) >= n:
            return "row number out of range"
        if int(self.starts[0]) != 0 or int(self.starts[-1]) != m * n or not _increasing(self.starts):
            return "bucket starts not strictly increasing from 0 to m * n"
        table_first = self.ranks[np.arange(m) * (nb // 64)].astype(np.int64)  # rank of each table's bucket 0
        if n and not (self.starts[table_first] == np.arange(m, dtype=np.int64) * n).all():
            return "a table's rows do not begin where the table does"
        return None


def empty_tables() -> Tables:
    plan = KeyPlan.for_size(0)
    return Tables(plan, np.empty((0, HASH_BYTES), np.uint8), np.empty(0, np.int64), np.empty(0, np.bool_),
                  np.zeros(plan.substrings * plan.buckets // 64, np.uint64), np.zeros(1, np.uint32),
                  np.empty(0, np.uint32))


def build_tables(hashes: NDArray[np.uint8], ids: Int64s, threads: int) -> Tables:
    """Per table: sort (key << 32 | row) to group rows by key, count keys per bucket. Tables run in
    parallel (numpy's sort and bincount release the GIL)."""
    n = len(ids)
    plan = KeyPlan.for_size(n)
    m, nb = plan.substrings, plan.buckets
    if m * n >= 1 << 32:
        raise ValueError(f"at most {(1 << 32) // m - 1} hashes per index")
    keys = [np.empty(n, dtype=np.uint32) for _ in range(m)]

    def key_block(s: int) -> None:
        block = plan.keys(hashes[s : s + _KEY_BLOCK])
        for j in range(m):
            keys[j][s : s + len(block)] = block[:, j]

    rows = np.empty(m * n, dtype=np.uint32)
    bitmap = np.empty(m * nb // 64, dtype=np.uint64)
    starts: list[NDArray[np.uint32]] = [np.empty(0, np.uint32)] * m
    order = np.arange(n, dtype=np.uint64)

    def table(j: int) -> None:
        k = keys[j]
        comb = k.astype(np.uint64)  # in place from here on: one 8-byte temporary per table, not three
        comb <<= np.uint64(32)
        comb |= order
        comb.sort()
        comb &= np.uint64(0xFFFF_FFFF)
        rows[j * n : (j + 1) * n] = comb
        del comb
        counts = np.bincount(k, minlength=nb)
        keys[j] = np.empty(0, dtype=np.uint32)  # free as we go: keeps the build's peak memory down
        full = counts > 0
        bitmap[j * nb // 64 : (j + 1) * nb // 64] = np.packbits(full, bitorder="little").view(np.uint64)
        np.cumsum(counts, out=counts)
        ends = counts[full]  # where each non-empty bucket ends, so the next one starts
        if len(ends):
            starts[j] = np.concatenate([[0], ends[:-1]]).astype(np.uint32) + np.uint32(j * n)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(key_block, range(0, n, _KEY_BLOCK)))
        list(pool.map(table, range(m)))
    ends = np.array([m * n], dtype=np.uint32)
    return Tables(plan, hashes, ids, np.ones(n, dtype=np.bool_), bitmap, np.concatenate([*starts, ends]), rows)


def _increasing(a: NDArray[np.uint32]) -> bool:
    """Strictly increasing, in blocks so that 10M hashes' starts need no 60 MB temporary."""
    for s in range(0, len(a) - 1, _CHECK_BLOCK):
        e = min(s + _CHECK_BLOCK, len(a) - 1)
        if not (a[s + 1 : e + 1] > a[s:e]).all():
            return False
    return True
