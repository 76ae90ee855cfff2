"""The two ``Blob`` shapes a container reader is handed: bytes in memory, or a file on disk."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

__all__ = ["BytesBlob", "PathBlob"]


class BytesBlob:
    """A small nested container kept in memory (below ``limits.spill_memory_bytes``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def path(self) -> Path | None:
        return None

    def open(self) -> BinaryIO:
        return io.BytesIO(self._data)


class PathBlob:
    """A container that is a real file: evidence itself, or a spilled member in scratch."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._size = self._path.stat().st_size

    @property
    def size(self) -> int:
        return self._size

    @property
    def path(self) -> Path | None:
        return self._path

    def open(self) -> BinaryIO:
        return self._path.open("rb")
