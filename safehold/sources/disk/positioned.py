"""A read-only, seekable stream over a library's "read N bytes at offset" call.

TSK files, APFS files and the volume stream libfsapfs reads from all expose reads at an offset
under a lock (their handles are not thread-safe); this class holds the position arithmetic
once. A short read is a subclass's decision: for a file's content it is an error (never a
silent end of file, or a truncated image would be hashed short), for a volume stream it is EOF.
"""

from __future__ import annotations

import io
import threading
from typing import Any

__all__ = ["PositionedReader"]


class PositionedReader(io.RawIOBase):
    """Subclasses implement ``_read_at``; ``read`` clamps to the size and takes the lock."""

    def __init__(self, size: int, lock: threading.Lock) -> None:
        super().__init__()
        self._size, self._lock = size, lock
        self._pos = 0

    def _read_at(self, offset: int, size: int) -> bytes:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def get_size(self) -> int:  # what libbfio asks of a file object
        return self._size

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = min(size, self._size - self._pos)
        if size <= 0:
            return b""
        with self._lock:
            data = self._read_at(self._pos, size)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)
