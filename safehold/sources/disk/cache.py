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

from safehold.core.errors import ErrorCode, ItemProblem
from safehold.sources.disk.apfs import ContainerOpener, MediaFile
from safehold.sources.disk.image import Media, open_media
from safehold.sources.disk.signatures import HEAD_BYTES, filesystem_hint
from safehold.sources.disk.tsk_fs import TSK_ERRORS, open_fs

__all__ = ["MAX_IMAGES", "OpenImage", "clear_cache", "opened"]

MAX_IMAGES = 4


def _hint(media: Media, offset: int) -> str | None:
    """The file-system type at ``offset`` by signature (None if its first bytes are unreadable)."""
    for size in (HEAD_BYTES, 4096):
        try:
            return filesystem_hint(media.read(offset, size))
        except OSError:
            continue
    return None


@dataclass(slots=True)
class OpenImage:
    media: Media
    lock: threading.Lock = field(default_factory=threading.Lock)
    filesystems: dict[int, Any] = field(default_factory=dict)
    containers: dict[tuple[int, Any], Any] = field(default_factory=dict)  # APFS, by (offset, opener)

    def fs_at(self, offset: int) -> Any:
        with self.lock:
            fs = self.filesystems.get(offset)
            if fs is None:
                try:
                    fs = open_fs(self.media.img, offset, _hint(self.media, offset))
                except TSK_ERRORS as exc:
                    raise ItemProblem(ErrorCode.CORRUPT, f"no file system at byte {offset}: {exc}") from exc
                self.filesystems[offset] = fs
            return fs


    def apfs_at(self, offset: int, opener: ContainerOpener) -> Any:
        """The APFS container at ``offset``, opened once per process with ``opener``."""
        with self.lock:
            container = self.containers.get((offset, opener))
            if container is None:
                stream = MediaFile(self.media, offset, self.media.size - offset, threading.Lock())
                try:
                    container = opener(stream)
                except OSError as exc:
                    raise ItemProblem(ErrorCode.CORRUPT, f"no APFS container at byte {offset}: {exc}") from exc
                self.containers[(offset, opener)] = container
            return container


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
