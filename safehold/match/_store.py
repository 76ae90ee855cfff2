"""Versioned on-disk format for match indexes: a JSON header plus raw ``.npy`` arrays.

Loading runs no code: arrays are read with ``allow_pickle=False`` and must have exactly the dtype
and shape the header names, and each array's SHA-256 must match, so a truncated, corrupted or
swapped file fails loudly instead of answering queries wrongly. The header is written last, so a
save interrupted half-way leaves a directory that does not load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from safehold.core.errors import SafeholdError

__all__ = ["HEADER_NAME", "IndexFormatError", "read_index", "write_index"]

HEADER_NAME = "header.json"
_MAX_HEADER_BYTES = 1 << 20
_LOAD_THREADS = 4


class IndexFormatError(SafeholdError):
    """An index directory is missing, of another format or version, or corrupt."""


def write_index(
    directory: Path, fmt: str, version: int, meta: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
) -> None:
    """Writes ``arrays`` as ``<name>.npy`` and then the header describing them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / HEADER_NAME).unlink(missing_ok=True)  # an old header must not describe new arrays
    described: dict[str, Any] = {}
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.hasobject:
            raise ValueError(f"{name}: object arrays cannot be stored")
        np.save(directory / f"{name}.npy", a, allow_pickle=False)
        described[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _digest(a)}
    header = {"format": fmt, "version": version, **meta, "arrays": described}
    tmp = directory / f"{HEADER_NAME}.tmp"
    tmp.write_text(json.dumps(header, indent=1), encoding="utf-8")
    tmp.replace(directory / HEADER_NAME)


def read_index(
    directory: Path, fmt: str, version: int, expected: Mapping[str, str], *, verify: bool = True
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Reads and checks a directory written by :func:`write_index`.

    ``expected`` maps each array name to its dtype string; ``verify=False`` skips the checksums
    (about 1 s per GB) for callers that trust the storage.
    """
    header = _read_header(directory, fmt, version)
    described = header.get("arrays")
    if not isinstance(described, dict) or set(described) != set(expected):
        raise IndexFormatError(f"{directory}: header lists arrays {sorted(described or [])}, "
                               f"expected {sorted(expected)}")
    def one(name: str) -> NDArray[Any]:
        return _read_array(directory / f"{name}.npy", described[name], expected[name], verify)

    with ThreadPoolExecutor(_LOAD_THREADS) as pool:  # reads and SHA-256 release the GIL: ~2x on 2 cores
        arrays = dict(zip(expected, pool.map(one, expected), strict=True))
    return header, arrays


def _read_header(directory: Path, fmt: str, version: int) -> dict[str, Any]:
    path = directory / HEADER_NAME
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_HEADER_BYTES + 1)
    except OSError as exc:
        raise IndexFormatError(f"{directory}: no readable index header ({exc.strerror})") from None
    if len(raw) > _MAX_HEADER_BYTES:
        raise IndexFormatError(f"{path}: header larger than {_MAX_HEADER_BYTES} bytes")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"{path}: header is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != fmt:
        found = header.get("format") if isinstance(header, dict) else None
        raise IndexFormatError(f"{path}: format {found!r}, expected {fmt!r}")
    if header.get("version") != version:
        raise IndexFormatError(f"{path}: format version {header.get('version')!r}; this Safehold "
                               f"reads version {version} only (rebuild the index from the hash sets)")
    return header


def _read_array(path: Path, desc: Any, dtype: str, verify: bool) -> NDArray[Any]:
    if not isinstance(desc, dict) or desc.get("dtype") != dtype or not isinstance(desc.get("shape"), list):
        raise IndexFormatError(f"{path}: header describes {desc!r}, expected dtype {dtype}")
    try:  # read_array, not np.load: only the .npy layout is accepted (no pickle, no zip)
        with path.open("rb") as f:
            arr = np.lib.format.read_array(f, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # pickles and object arrays land here as ValueError
        raise IndexFormatError(f"{path}: unreadable array ({exc})") from None
    if arr.dtype.str != dtype or list(arr.shape) != desc["shape"]:
        raise IndexFormatError(f"{path}: holds {arr.dtype.str} {list(arr.shape)}, "
                               f"header says {dtype} {desc['shape']}")
    if verify and _digest(arr) != desc.get("sha256"):
        raise IndexFormatError(f"{path}: checksum mismatch (file corrupt or replaced)")
    return arr


def _digest(arr: NDArray[Any]) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data).hexdigest()
