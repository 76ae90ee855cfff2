"""A file's bytes inside a file system, as a read-only stream over pytsk3's ``read_random``."""

from __future__ import annotations

import threading
from typing import Any

import pytsk3  # type: ignore[import-not-found]

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.sources.disk.positioned import PositionedReader

__all__ = ["TskFile", "open_in_fs"]


class TskFile(PositionedReader):
    """Sequential or random reads of one attribute (default data, or one NTFS stream).

    ``lock`` serialises calls into TSK, whose handles are not thread-safe; the handles are
    shared by every file opened from the same per-process cache entry.
    """

    def __init__(self, f: Any, size: int, attr: tuple[int, int] | None, lock: threading.Lock,
                 img: Any = None) -> None:
        super().__init__(size, lock)
        self._img = img  # the image, whose ``last_error`` says why a read came back short
        self._f = f
        self._attr = attr

    def _read_at(self, offset: int, size: int) -> bytes:
        try:
            if self._attr is None:
                data: bytes = self._f.read_random(offset, size)
            else:
                data = self._f.read_random(offset, size, self._attr[0], self._attr[1])
        except (OSError, RuntimeError) as exc:  # pytsk3 wraps a failing Python image read in RuntimeError
            raise OSError(f"cannot read bytes {offset}-{offset + size - 1} of this file: {exc}") from exc
        if len(data) < size:  # TSK passes on a short image read as a short file read: never a silent EOF
            why = getattr(self._img, "last_error", None) or "the image ends early or is damaged there"
            raise OSError(f"cannot read bytes {offset + len(data)}-{offset + size - 1} of this file: {why}")
        return data


def open_in_fs(fs: Any, ref: str, lock: threading.Lock, img: Any = None) -> TskFile:
    """``ref`` as made by tsk_fs: ``<inode>`` or ``<inode>:<attr type>:<attr id>``; ``img`` the
    image ``fs`` reads from (its read errors explain a short read)."""
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
    except (OSError, RuntimeError) as exc:
        raise ItemProblem(ErrorCode.UNREADABLE, f"cannot open entry {inode}: {exc}") from exc
    if attr is not None and attr[0] == pytsk3.TSK_FS_ATTR_TYPE_DEFAULT:
        attr = None
    return TskFile(f, size, attr, lock, img)
