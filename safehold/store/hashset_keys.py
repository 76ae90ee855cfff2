"""Entry keys and version diffs: what ``import_hashset`` uses to fold repeated NSRL rows and to
count what a new version added and removed.

Entries are compared by a 64-bit key folded from every byte of their MD5, SHA-1, SHA-256 and
PDQ (``entry_keys``; a listed video, with no PDQ of its own, by its vPDQ instead: ``key_pdq``),
counted with sorted numpy arrays: an EXCEPT over four digest columns of two 100M-row versions is
a sort the databases do far more slowly. Two different entries share a key
with probability ~n²/2⁶⁵ (about 1 in 1,000 for two 100M-row versions), which at worst makes a
diff count off by one. Keys are the same whether the digests come as hex (a reader's batch) or
as the bytes the store holds, so stored and incoming versions compare directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection
from sqlalchemy.orm import Session

__all__ = ["KeySet", "count_diff", "diff_imports", "entry_keys", "key_pdq", "stored_keys"]

Digests = Sequence[str | None] | Sequence[bytes | None]

_MULT = np.uint64(0x9E3779B97F4A7C15)
_DIGEST_BYTES = (16, 20, 32, 32)  # md5, sha1, sha256, pdq


def _mix(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: every input bit reaches every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _raw(values: Sequence[str | bytes | None], nbytes: int) -> bytes:
    """The digests back to back (None already replaced); hex or bytes alike."""
    first = next((v for v in values if v is not None), b"")
    try:
        raw = b"".join(values) if isinstance(first, bytes | bytearray | memoryview) else (  # type: ignore[arg-type]
            bytes.fromhex("".join(values)))  # type: ignore[arg-type]
        if len(raw) == len(values) * nbytes:
            return raw
    except (TypeError, ValueError):
        pass
    # not digests of this size (never for stored lists, which are checked): padded or cut to it
    return b"".join((v if isinstance(v, bytes) else str(v).encode()).ljust(nbytes, b"\0")[:nbytes]
                    for v in values)


def _fold(values: Digests, nbytes: int, salt: int) -> npt.NDArray[np.uint64]:
    """One 64-bit word per value, a polynomial over all of its bytes; ``salt`` for None."""
    n = len(values)
    width = 8 if nbytes % 8 == 0 else 4  # SHA-1's 20 bytes go as five 32-bit lanes
    present: npt.NDArray[np.bool_] | None = None
    filled: Sequence[str | bytes | None] = values
    if None in values:
        present = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        first = next(v for v in values if v is not None)
        zero: str | bytes = bytes(nbytes) if isinstance(first, bytes) else "0" * (2 * nbytes)
        filled = [v if v is not None else zero for v in values]
    lanes = np.frombuffer(_raw(filled, nbytes), dtype=f"<u{width}").reshape(n, nbytes // width)
    acc = np.full(n, np.uint64(salt), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for lane in range(lanes.shape[1]):  # values differing in any byte differ here
            acc = acc * _MULT + lanes[:, lane]
    if present is not None:
        acc[~present] = np.uint64(salt)  # what entry_keys uses for a column with no value at all
    return acc


def entry_keys(md5: Digests, sha1: Digests, sha256: Digests, pdq: Digests | None = None) -> npt.NDArray[np.uint64]:
    """A 64-bit key per entry from its four digests, each given as hex or as bytes (equal
    digests, equal key, whichever form); never 0."""
    n = len(md5)
    columns = (md5, sha1, sha256, pdq if pdq is not None else [None] * n)
    with np.errstate(over="ignore"):
        key = np.zeros(n, dtype=np.uint64)
        for salt, (nbytes, values) in enumerate(zip(_DIGEST_BYTES, columns, strict=True), 1):
            absent = values.count(None) == n
            key = _mix(key ^ (np.uint64(salt) if absent else _fold(values, nbytes, salt)))
        key[key == 0] = np.uint64(1)
    return key


def key_pdq(pdq: bytes | None, vpdq: bytes | None) -> bytes | None:
    """What an entry's key folds in for its perceptual hash: the PDQ, or for a listed video (no PDQ
    of its own) the SHA-256 of its packed vPDQ, so two versions of a video list diff correctly.

    Bytes in, bytes out (the digest form both the writer and the store use), so a batch's PDQ
    column never mixes hex and bytes."""
    if pdq is not None or vpdq is None:
        return pdq
    return hashlib.sha256(bytes(vpdq)).digest()


class KeySet:
    """A growing set of 64-bit keys (open addressing over a numpy array, probed a batch at a time).

    8 bytes per slot, 11 to 23 bytes per distinct key (the table doubles past 70 % full):
    74M distinct NSRL entries take 1 GiB, 100M take 2 GiB. Growing re-inserts the old table a
    slice at a time, so the peak is the old table plus the new one.
    """

    _MAX_LOAD = 0.7
    _GROW_SLICE = 1 << 22

    def __init__(self, expected: int = 0) -> None:
        size = 1 << max(16, int(expected / self._MAX_LOAD).bit_length())
        self._table = np.zeros(size, dtype=np.uint64)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """Insert ``keys`` (never 0); True where a key was not in the set before (the first of
        equal keys within the batch counts as new)."""
        new = np.zeros(len(keys), dtype=bool)
        if not len(keys):
            return new
        uniq, first = np.unique(keys, return_index=True)
        if (self._count + len(uniq)) > self._MAX_LOAD * len(self._table):
            self._grow(self._count + len(uniq))
        placed = self._insert(uniq)
        new[first[placed]] = True
        return new

    def _insert(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        table = self._table
        mask = np.uint64(len(table) - 1)
        placed = np.zeros(len(keys), dtype=bool)
        todo = np.arange(len(keys))
        slots = keys & mask
        while len(todo):
            cur = table[slots]
            pending = keys[todo]
            empty = cur == 0
            table[slots[empty]] = pending[empty]
            won = empty & (table[slots] == pending)
            placed[todo[won]] = True
            go_on = ~(won | (cur == pending))
            todo, slots = todo[go_on], (slots[go_on] + np.uint64(1)) & mask
        self._count += int(placed.sum())
        return placed

    def _grow(self, need: int) -> None:
        old = self._table
        size = len(old)
        while need > self._MAX_LOAD * size:
            size *= 2
        self._table = np.zeros(size, dtype=np.uint64)
        self._count = 0
        for start in range(0, len(old), self._GROW_SLICE):
            part = old[start:start + self._GROW_SLICE]
            self._insert(part[part != 0])

    def sorted(self) -> npt.NDArray[np.uint64]:
        return np.sort(self._table[self._table != 0])


def stored_keys(conn: Connection, import_id: int, batch: int = 50_000) -> npt.NDArray[np.uint64]:
    """Sorted distinct keys of one stored import, read in batches through the driver's cursor
    (digests arrive as the bytes the store holds: no conversion on the way)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    parts: list[npt.NDArray[np.uint64]] = []
    # PostgreSQL: a server-side cursor, or the driver would fetch the whole version at once.
    cur = raw.cursor(name="safehold_stored_keys") if mark == "%s" else raw.cursor()
    try:
        cur.execute(f"SELECT md5, sha1, sha256, pdq, vpdq FROM hash_entries WHERE import_id = {mark}",  # noqa: S608
                    (import_id,))
        while chunk := cur.fetchmany(batch):
            md5, sha1, sha256, pdq, vpdq = (list(c) for c in zip(*chunk, strict=True))
            pdq = list(map(key_pdq, pdq, vpdq))  # a listed video is keyed by its vPDQ
            parts.append(np.unique(entry_keys(md5, sha1, sha256, pdq)))
    finally:
        cur.close()
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def _common(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> int:
    if not len(a) or not len(b):
        return 0
    pos = np.searchsorted(b, a)
    pos[pos == len(b)] = len(b) - 1
    return int(np.count_nonzero(b[pos] == a))


def count_diff(new: npt.NDArray[np.uint64], old: npt.NDArray[np.uint64]) -> tuple[int, int]:
    """(added, removed) between two sorted arrays of distinct keys."""
    both = _common(new, old)
    return len(new) - both, len(old) - both


def diff_imports(s: Session, new_id: int, old_id: int) -> tuple[int, int]:
    """(added, removed) between two versions, comparing each entry's hashes (as EXCEPT would)."""
    conn = s.connection()
    return count_diff(stored_keys(conn, new_id), stored_keys(conn, old_id))


