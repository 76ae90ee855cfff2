"""Per-process cache of opened images and file systems, for ``open_ref`` in workers.

A worker re-opens thousands of files per batch from the same image; opening the container (an
E01's segment tables, a VHDX's block map) and the file system (an NTFS's $MFT runs) every time
would cost more than reading most files. So each process keeps the last few images it opened,
keyed by path, with their file systems keyed by byte offset. This is safe because the handles
are read-only and private to the process: the cache is dropped in a child process (checked by
pid), bounded (``MAX_IMAGES``), and every call into TSK for one image holds that image's lock.
Evicted handles are not closed explicitly (a stream still reading may hold them); they are
freed when the last reference goes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytsk3  # type: ignore[import-not-found]

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.sources.disk.image import Media, open_media

__all__ = ["MAX_IMAGES", "OpenImage", "clear_cache", "opened"]

MAX_IMAGES = 4


@dataclass(slots=True)
class OpenImage:
    media: Media
    lock: threading.Lock = field(default_factory=threading.Lock)
    filesystems: dict[int, Any] = field(default_factory=dict)

    def fs_at(self, offset: int) -> Any:
        with self.lock:
            fs = self.filesystems.get(offset)
            if fs is None:
                try:
                    fs = pytsk3.FS_Info(self.media.img, offset=offset)
                except OSError as exc:
                    raise ItemProblem(ErrorCode.CORRUPT, f"no file system at byte {offset}: {exc}") from exc
                self.filesystems[offset] = fs
            return fs


_cache: OrderedDict[str, OpenImage] = OrderedDict()
_guard = threading.Lock()
_owner = os.getpid()


def opened(path: Path) -> OpenImage:
    """The cached opened image for ``path`` (opening it on first use in this process)."""
    global _owner
    key = str(path)
    with _guard:
        if _owner != os.getpid():  # inherited from a parent: never share its handles
            _cache.clear()
            _owner = os.getpid()
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        entry = OpenImage(open_media(path))
        _cache[key] = entry
        while len(_cache) > MAX_IMAGES:
            _cache.popitem(last=False)
        return entry


def clear_cache() -> None:
    with _guard:
        _cache.clear()
