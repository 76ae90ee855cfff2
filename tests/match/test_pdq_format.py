"""The on-disk format: round trip, versioning, and refusal of anything corrupt, foreign or pickled."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from safehold.core.errors import SafeholdError
from safehold.match.pdq_index import FORMAT, VERSION, IndexFormatError, PdqIndex

Hashes = NDArray[np.uint8]


class _Touch:
    """Unpickling this creates ``path``: evidence that loading ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.path),))


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[PdqIndex, Path, Hashes]:
    rng = np.random.default_rng(7)
    h = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(np.arange(3000, dtype=np.int64) * 3, h)
    index.build()
    index.remove(np.array([0], dtype=np.int64))  # a dead row the saved index must keep dead
    index.save(tmp_path / "idx")
    return index, tmp_path / "idx", h


def test_round_trip_answers_the_same(saved: tuple[PdqIndex, Path, Hashes]) -> None:
    index, d, h = saved
    loaded = PdqIndex.load(d)
    q = np.concatenate([h[:50], h[:50] ^ np.uint8(1)])
    assert loaded.query(q) == index.query(q)
    assert loaded.query(h[:1]) == [[]]  # removed rows stay removed
    assert len(loaded) == 2999
    header = json.loads((d / "header.json").read_text())
    assert (header["format"], header["version"], header["count"]) == (FORMAT, VERSION, 3000)
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["header.json", "hashes.npy", "ids.npy", "alive.npy", "bitmap.npy", "starts.npy", "rows.npy"])


def test_empty_index_round_trip(tmp_path: Path) -> None:
    PdqIndex().save(tmp_path / "e")
    assert PdqIndex.load(tmp_path / "e").query(np.zeros((1, 32), dtype=np.uint8)) == [[]]


def _edit_header(d: Path, **changes: object) -> None:
    header = json.loads((d / "header.json").read_text())
    header.update(changes)
    (d / "header.json").write_text(json.dumps(header))


def test_other_version_is_refused_with_a_clear_error(saved: tuple[PdqIndex, Path, Hashes]) -> None:
    _, d, _ = saved
    _edit_header(d, version=VERSION + 1)
    with pytest.raises(IndexFormatError, match="version 2") as err:
        PdqIndex.load(d)
    assert isinstance(err.value, SafeholdError)


@pytest.mark.parametrize("change", [{"format": "other-index"}, {"arrays": {}}, {"params": {}}])
def test_foreign_or_incomplete_header_is_refused(saved: tuple[PdqIndex, Path, Hashes],
                                                 change: dict[str, object]) -> None:
    _, d, _ = saved
    _edit_header(d, **change)
    with pytest.raises(IndexFormatError):
        PdqIndex.load(d)


def test_missing_or_garbled_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError, match="header"):
        PdqIndex.load(tmp_path / "nowhere")
    (tmp_path / "header.json").write_bytes(b"\xff not json")
    with pytest.raises(IndexFormatError, match="JSON"):
        PdqIndex.load(tmp_path)


def test_flipped_byte_fails_the_checksum(saved: tuple[PdqIndex, Path, Hashes]) -> None:
    _, d, _ = saved
    raw = bytearray((d / "rows.npy").read_bytes())
    raw[-5] ^= 0x10
    (d / "rows.npy").write_bytes(bytes(raw))
    with pytest.raises(IndexFormatError, match="checksum"):
        PdqIndex.load(d)


def test_truncated_array_is_refused(saved: tuple[PdqIndex, Path, Hashes]) -> None:
    _, d, _ = saved
    raw = (d / "hashes.npy").read_bytes()
    (d / "hashes.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IndexFormatError):
        PdqIndex.load(d)


def _rewrite(d: Path, name: str, arr: NDArray[Any]) -> None:
    """Replaces an array and its checksum: a file that is self-consistent but wrong."""
    np.save(d / f"{name}.npy", arr)
    header = json.loads((d / "header.json").read_text())
    header["arrays"][name]["sha256"] = hashlib.sha256(arr.tobytes()).hexdigest()
    (d / "header.json").write_text(json.dumps(header))


@pytest.mark.parametrize("name", ["starts", "rows", "bitmap"])
def test_consistent_checksum_but_broken_structure_is_refused(saved: tuple[PdqIndex, Path, Hashes],
                                                             name: str) -> None:
    _, d, _ = saved
    arr = np.load(d / f"{name}.npy")
    if name == "starts":
        arr[10:20] = arr[10:20][::-1].copy()  # no longer ascending
    elif name == "rows":
        arr[5] = 3000  # past the last row
    else:
        arr[0] ^= np.uint64(1 << 5)  # one more or one fewer non-empty bucket than starts lists
    _rewrite(d, name, arr)
    with pytest.raises(IndexFormatError, match="inconsistent"):
        PdqIndex.load(d)


def test_pickle_payload_is_never_run(saved: tuple[PdqIndex, Path, Hashes], tmp_path: Path) -> None:
    _, d, _ = saved
    marker = tmp_path / "ran"
    (d / "ids.npy").write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(IndexFormatError):
        PdqIndex.load(d)
    # an object array inside a genuine .npy file carries a pickle too
    np.save(d / "ids.npy", np.array([_Touch(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(IndexFormatError):
        PdqIndex.load(d)
    assert not marker.exists()


def test_unverified_load_skips_checksums_only(saved: tuple[PdqIndex, Path, Hashes]) -> None:
    index, d, h = saved
    loaded = PdqIndex.load(d, verify=False)
    assert loaded.query(h[1:3]) == index.query(h[1:3])
