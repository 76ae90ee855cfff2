"""A file's bytes inside a file system, as a read-only stream over pytsk3's ``read_random``."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytsk3  # type: ignore[import-not-found]

from safehold.core.errors import ErrorCode, ItemProblem

__all__ = ["TskFile", "open_in_fs"]


class TskFile(io.RawIOBase):
    """Sequential or random reads of one attribute (default data, or one NTFS stream).

    ``lock`` serialises calls into TSK, whose handles are not thread-safe; the handles are
    shared by every file opened from the same per-process cache entry.
    """

    def __init__(self, f: Any, size: int, attr: tuple[int, int] | None, lock: threading.Lock) -> None:
        super().__init__()
        self._f = f
        self._size = size
        self._attr = attr
        self._lock = lock
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

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
            if self._attr is None:
                data: bytes = self._f.read_random(self._pos, size)
            else:
                data = self._f.read_random(self._pos, size, self._attr[0], self._attr[1])
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)


def open_in_fs(fs: Any, ref: str, lock: threading.Lock) -> TskFile:
    """``ref`` as made by tsk_fs: ``<inode>`` or ``<inode>:<attr type>:<attr id>``."""
    parts = ref.split(":")
    try:
        inode = int(parts[0])
        attr = (int(parts[1]), int(parts[2])) if len(parts) == 3 else None
    except (ValueError, IndexError):
        raise ItemProblem(ErrorCode.INTERNAL, f"not a file-system reference: {ref!r}") from None
    try:
        with lock:
            f = fs.open_meta(inode=inode)
            size = int(f.info.meta.size)
            if attr is not None:
                size = next((int(a.info.size) for a in f
                             if a.info.type == attr[0] and a.info.id == attr[1]), -1)
                if size < 0:
                    raise ItemProblem(ErrorCode.UNREADABLE, f"stream {attr} not found on entry {inode}")
    except OSError as exc:
        raise ItemProblem(ErrorCode.UNREADABLE, f"cannot open entry {inode}: {exc}") from exc
    if attr is not None and attr[0] == pytsk3.TSK_FS_ATTR_TYPE_DEFAULT:
        attr = None
    return TskFile(f, size, attr, lock)
