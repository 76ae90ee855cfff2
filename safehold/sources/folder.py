# str paths and os.* on purpose here: a million-file walk pays for every Path object.
# ruff: noqa: PTH112, PTH114, PTH115, PTH116, PTH117, PTH118, PTH119, PTH120
"""Evidence that is a folder: a deterministic, memory-bounded walk that never leaves the root.

The walk is iterative (a stack of per-directory name iterators), so memory grows with the largest
directory and the depth, not with the number of files; resume depends on its order being the same
every time: each directory's names sorted by code point, depth first. Links are never followed:
a symlink is recorded (SKIPPED, with its target) instead of being read twice or leading outside
the evidence, and symlinked directories are not descended, so loops cannot happen.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemError, ItemProblem, NotFoundError
from safehold.sources.base import FileTimes, TopEntry
from safehold.sources.common import clean_name

__all__ = ["FolderSource", "manifest_hash", "open_readonly", "times_of"]

_KINDS = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def times_of(st: os.stat_result) -> FileTimes:
    """MAC(B) times from an lstat; birth time where the platform reports one."""
    birth = getattr(st, "st_birthtime", None)
    return FileTimes(
        modified=from_timestamp(st.st_mtime),
        accessed=from_timestamp(st.st_atime),
        changed=from_timestamp(st.st_ctime),
        created=from_timestamp(birth),
    )


def open_readonly(path: str) -> BinaryIO:
    """Open a regular file read-only without following a final symlink or blocking on a FIFO.

    O_NOATIME keeps the evidence's access times as seized where the OS allows it.
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags | noatime)
    except PermissionError:
        if not noatime:
            raise
        fd = os.open(path, flags)  # O_NOATIME needs ownership or CAP_FOWNER
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ItemProblem(ErrorCode.SKIPPED, f"not a regular file: {path}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _names(directory: str) -> list[str]:
    with os.scandir(directory) as it:
        return sorted(entry.name for entry in it)


def _walk(root: str) -> Iterator[tuple[str, os.stat_result | None, OSError | None]]:
    """(relative path, lstat, error) for every entry under ``root``, depth first.

    The root comes first as "". A directory comes before its contents, with the error met
    listing it (its contents are then absent); an entry that cannot be stat'ed has no lstat.
    """
    stack: list[tuple[str, Iterator[str], tuple[int, int]]] = []
    seen: set[tuple[int, int]] = set()  # (dev, inode) of the directories on the current path

    def enter(rel: str, st: os.stat_result) -> OSError | None:
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a bind mount back onto an ancestor
            return OSError(f"directory loop: /{rel} is its own ancestor")
        try:
            listing = _names(os.path.join(root, rel) if rel else root)
        except OSError as exc:
            return exc
        seen.add(key)
        stack.append((rel, iter(listing), key))
        return None

    try:
        top = os.stat(root)
    except OSError as exc:
        yield "", None, exc
        return
    yield "", top, enter("", top)
    while stack:
        rel_dir, names, key = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            seen.discard(key)
            continue
        rel = f"{rel_dir}/{name}" if rel_dir else name
        try:
            st = os.lstat(os.path.join(root, rel))
        except OSError as exc:
            yield rel, None, exc
            continue
        yield rel, st, enter(rel, st) if stat.S_ISDIR(st.st_mode) else None


class FolderSource:
    """Files under one evidence folder; ``ref`` is the path relative to the root."""

    scheme: ClassVar[str] = "fs"

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        if not self.root.is_dir():
            raise NotFoundError(f"evidence folder not found: {root}")
        self._root = str(self.root)

    def enumerate(self) -> Iterator[TopEntry]:
        for rel, st, err in _walk(self._root):
            if st is None:
                unreadable = ItemError(ErrorCode.UNREADABLE, f"cannot stat: {err}")
                yield self._entry(rel, 0, FileTimes(), None, unreadable)
                continue
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                if err is not None:
                    yield self._entry(rel, 0, times_of(st), st,
                                      ItemError(ErrorCode.UNREADABLE, f"cannot list directory: {err}"))
            elif stat.S_ISREG(mode):
                yield self._entry(rel, st.st_size, times_of(st), st, None)
            elif stat.S_ISLNK(mode):
                yield self._entry(rel, 0, times_of(st), st, self._link_error(rel))
            else:
                kind = _KINDS.get(stat.S_IFMT(mode), "special file")
                yield self._entry(rel, 0, times_of(st), st, ItemError(ErrorCode.SKIPPED, f"{kind}: not read"))

    def _entry(self, rel: str, size: int, times: FileTimes, st: os.stat_result | None,
               error: ItemError | None) -> TopEntry:
        return TopEntry(
            scheme=self.scheme, path="/" + clean_name(rel), ref=rel, size=size, times=times,
            inode=str(st.st_ino) if st is not None else None, error=error,
        )

    def _link_error(self, rel: str) -> ItemError:
        full = os.path.join(self._root, rel)
        try:
            target = os.readlink(full)
        except OSError as exc:
            return ItemError(ErrorCode.SKIPPED, f"symlink (target unreadable: {exc})")
        resolved = os.path.realpath(full)
        shown = clean_name(target)
        if self._inside(resolved):
            return ItemError(ErrorCode.SKIPPED, f"symlink to {shown} (inside the evidence: not read twice)")
        return ItemError(ErrorCode.SKIPPED, f"symlink to {shown} leads out of the evidence: not followed")

    def _inside(self, real: str) -> bool:
        return real == self._root or real.startswith(self._root.rstrip("/") + "/")

    def _resolve(self, ref: str) -> str:
        """The real path for ``ref``, refusing anything that could leave the root."""
        parts = ref.replace("\\", "/").split("/")
        if not ref or "\x00" in ref or os.path.isabs(ref) or ".." in parts:
            raise ItemProblem(ErrorCode.UNSAFE_PATH, f"reference escapes the evidence root: {ref!r}")
        full = os.path.join(self._root, ref)
        parent = os.path.realpath(os.path.dirname(full))
        if not self._inside(parent):
            raise ItemProblem(ErrorCode.UNSAFE_PATH, f"reference leads outside the evidence root: {ref!r}")
        return os.path.join(parent, os.path.basename(full))

    def open_ref(self, ref: str) -> BinaryIO:
        path = self._resolve(ref)
        try:
            return open_readonly(path)
        except OSError as exc:
            if os.path.islink(path):
                raise ItemProblem(ErrorCode.SKIPPED, f"symlink: not followed: {ref!r}") from exc
            raise ItemProblem(ErrorCode.UNREADABLE, f"{ref!r}: {exc}") from exc

    def local_path(self, ref: str) -> Path | None:
        path = self._resolve(ref)
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return Path(path) if stat.S_ISREG(st.st_mode) else None


def manifest_hash(root: Path) -> tuple[str, int, int]:
    """SHA-256 over the walk's listing of regular files: (hex digest, file count, total bytes).

    The acquisition hash of folder evidence: it fixes names, sizes and modification times (not
    contents, which are hashed per file at ingest). Each file adds, in walk order, its relative
    path as UTF-8 (undecodable bytes as on disk), then decimal size, then decimal mtime_ns, each
    followed by a NUL byte.
    """
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        raise NotFoundError(f"evidence folder not found: {root}")
    digest = hashlib.sha256()
    count = total = 0
    for rel, st, _err in _walk(real):
        if st is None or not stat.S_ISREG(st.st_mode):
            continue
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(f"{st.st_size}\0{st.st_mtime_ns}\0".encode())
        count += 1
        total += st.st_size
    return digest.hexdigest(), count, total
