"""APFS containers through libfsapfs (pyfsapfs): volumes, files, MACB times, content.

Why libfsapfs and not TSK or dfVFS: an APFS file system is not a byte range TSK could be handed.
Its volumes live inside the container, found through the container's object map, and pytsk3
exposes no TSK pool API to reach them. dfVFS reads APFS with this same library; calling it
directly keeps dfVFS's dependency tree out, as for the virtual-disk containers (virtual.py).
The container's bytes still come from ``Media`` (raw, split, E01, VHD(X), VMDK, QCOW, DMG), so
an APFS partition inside any container Safehold opens is read.

Locators: ``evidence:7 / partition:2 / apfs-volume:1 / apfs:/Users/a/x.jpg`` (volumes numbered
from 1 in container order). Refs: ``<volume>:<file entry identifier>`` (the inode number).

What is and is not read:
* every regular file of every unlocked volume, with its inode number and the four times APFS
  keeps (modified, accessed, inode changed, created), nanosecond values truncated to µs;
* an encrypted volume (FileVault) that libfsapfs reports locked: one entry with an
  ``encrypted`` error, nothing decrypted;
* symbolic links, devices, FIFOs and sockets: listed with a ``skipped`` error, not read;
* not read: deleted files (libfsapfs lists none), snapshots, extended attributes and resource
  forks (``com.apple.ResourceFork``), clones are read as ordinary files.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.sources.base import FileTimes
from safehold.sources.common import clean_name
from safehold.sources.disk.positioned import PositionedReader
from safehold.sources.disk.virtual import libyal_reason

__all__ = ["ApfsFile", "ApfsItem", "ContainerOpener", "MediaFile", "open_apfs_entry", "open_container", "walk_apfs"]

MAX_DEPTH = 256
S_IFMT, S_IFDIR, S_IFREG = 0o170000, 0o040000, 0o100000
_SPECIAL = {0o120000: "symbolic link", 0o020000: "character device", 0o060000: "block device",
            0o010000: "FIFO", 0o140000: "socket"}


class ReadAt(Protocol):
    def read(self, offset: int, size: int) -> bytes: ...


class MediaFile(PositionedReader):
    """The bytes of one volume of an opened image, as the file object libbfio reads from.

    libfsapfs calls ``seek``/``read``/``get_size`` on it; reads go to ``Media.read`` (which
    already serves TSK), under the image's lock since both share the container handle.
    """

    def __init__(self, media: ReadAt, offset: int, size: int, lock: threading.Lock) -> None:
        super().__init__(size, lock)
        self._media, self._offset = media, offset

    def _read_at(self, offset: int, size: int) -> bytes:
        return self._media.read(self._offset + offset, size)


ContainerOpener = Callable[[MediaFile], Any]


def open_container(stream: MediaFile) -> Any:
    """The real opener: a ``pyfsapfs.container`` over ``stream`` (``OSError`` if not APFS)."""
    import pyfsapfs  # type: ignore[import-not-found]

    container = pyfsapfs.container()
    container.open_file_object(stream)
    return container


@dataclass(frozen=True, slots=True)
class ApfsItem:
    volume: int  # 1-based
    path: str  # "" for an entry about the volume itself (locked, unreadable)
    ref: str
    size: int = 0
    times: FileTimes = field(default_factory=FileTimes)
    inode: str | None = None
    error: ItemError | None = None


def _time(ns: int | None) -> datetime | None:
    if not ns or ns < 0:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    except OverflowError:
        return None


def times_of(entry: Any) -> FileTimes:
    """MACB times of an inode, correcting libfsapfs's swap of creation and modification.

    Apple's APFS reference lays out ``j_inode_val_t`` as parent, private ID, ``create_time``,
    ``mod_time``, ``change_time``, ``access_time``; TSK reads it so. libfsapfs names the field
    at offset 16 "modification" and the one at 24 "creation", so pyfsapfs's getters return
    each other's value: on a volume made by macOS its "creation" time comes after its
    "modification" time and after the access and date-added times TSK shows as creation
    (sleuthkit issue 2068 quotes both tools on one image). A report must not carry that swap.
    tests/sources/disk/test_apfs.py writes known times with Apple's layout and checks them here
    and with TSK's ``istat``, so a libfsapfs that fixes the names fails that test, not a case.
    """
    return FileTimes(
        modified=_time(entry.get_creation_time_as_integer()),  # Apple's mod_time (offset 24)
        accessed=_time(entry.get_access_time_as_integer()),
        changed=_time(entry.get_inode_change_time_as_integer()),
        created=_time(entry.get_modification_time_as_integer()),  # Apple's create_time (offset 16)
    )


def _volume_item(number: int, code: ErrorCode, message: str) -> ApfsItem:
    return ApfsItem(number, "", f"{number}:volume", error=ItemError(code, message))


def walk_apfs(container: Any) -> Iterator[ApfsItem]:
    """Every non-directory entry of every volume; problems become items with errors."""
    count = int(container.get_number_of_volumes())
    for number in range(1, count + 1):
        try:
            volume = container.get_volume(number - 1)
            name = clean_name(volume.get_name() or "")
            locked = bool(volume.is_locked())
        except OSError as exc:
            yield _volume_item(number, ErrorCode.CORRUPT, f"APFS volume {number}: cannot open: {libyal_reason(exc)}")
            continue
        label = f"APFS volume {number} ({name})" if name else f"APFS volume {number}"
        if locked:
            yield _volume_item(number, ErrorCode.ENCRYPTED, f"{label}: encrypted (FileVault): not decrypted")
            continue
        try:
            root = volume.get_root_directory()
        except OSError as exc:
            yield _volume_item(number, ErrorCode.CORRUPT,
                               f"{label}: cannot read its root directory: {libyal_reason(exc)}")
            continue
        yield from _walk_volume(number, root)


def _walk_volume(number: int, root: Any) -> Iterator[ApfsItem]:
    """Depth first, a directory's entries in on-disk (B-tree) order; memory bounded by fan-out x depth."""
    stack: list[tuple[str, Any, tuple[int, ...]]] = [("", root, ())]
    while stack:
        path, directory, ancestors = stack.pop()
        ident = int(directory.get_identifier())
        subdirs: list[tuple[str, Any, tuple[int, ...]]] = []
        try:
            count = int(directory.get_number_of_sub_file_entries())
        except OSError as exc:
            yield ApfsItem(number, path or "/", f"{number}:dir:{ident}", inode=str(ident),
                           error=ItemError(ErrorCode.UNREADABLE, f"cannot list directory: {libyal_reason(exc)}"))
            continue
        for index in range(count):
            try:
                entry = directory.get_sub_file_entry(index)
                item = _entry(number, path, entry)
            except OSError as exc:
                why = f"cannot read directory entry {index}: {libyal_reason(exc)}"
                yield ApfsItem(number, f"{path}/#{index}", f"{number}:dir:{ident}", inode=str(ident),
                               error=ItemError(ErrorCode.UNREADABLE, why))
                continue
            if item is None:  # a directory
                child = int(entry.get_identifier())
                if child not in ancestors and child != ident and len(ancestors) < MAX_DEPTH:
                    subdirs.append((f"{path}/{clean_name(entry.get_name() or '')}", entry, (*ancestors, ident)))
                continue
            yield item
        stack.extend(reversed(subdirs))


def _entry(number: int, parent: str, entry: Any) -> ApfsItem | None:
    """The item for one directory entry; None for a subdirectory (walked, not listed)."""
    ident = int(entry.get_identifier())
    mode = int(entry.get_file_mode() or 0) & S_IFMT
    if mode == S_IFDIR:
        return None
    path = f"{parent}/{clean_name(entry.get_name() or '')}"
    ref = f"{number}:{ident}"
    times = times_of(entry)
    if mode != S_IFREG:
        what = _SPECIAL.get(mode, f"file of type {mode:o}")
        return ApfsItem(number, path, ref, 0, times, str(ident), ItemError(ErrorCode.SKIPPED, f"{what}: not read"))
    return ApfsItem(number, path, ref, int(entry.get_size()), times, str(ident))


class ApfsFile(PositionedReader):
    """Sequential or random reads of one APFS file's data (libfsapfs decompresses as needed)."""

    def __init__(self, entry: Any, size: int, lock: threading.Lock) -> None:
        super().__init__(size, lock)
        self._entry = entry

    def _read_at(self, offset: int, size: int) -> bytes:
        try:
            data: bytes = self._entry.read_buffer_at_offset(size, offset)
        except OSError as exc:
            span = f"{offset}-{offset + size - 1}"
            raise OSError(f"cannot read bytes {span} of this file: {libyal_reason(exc)}") from exc
        if len(data) < size:  # as for TSK: missing bytes are an error, never a silent end of file
            span = f"{offset + len(data)}-{offset + size - 1}"
            raise OSError(f"cannot read bytes {span} of this file: the container ends early or is damaged there")
        return data


def open_apfs_entry(container: Any, ref: str, lock: threading.Lock) -> ApfsFile:
    """``ref`` as walk_apfs makes it: ``<volume>:<identifier>``."""
    try:
        number, ident = (int(p) for p in ref.split(":"))
    except ValueError:
        raise ItemProblem(ErrorCode.INTERNAL, f"not an APFS reference: {ref!r}") from None
    try:
        with lock:
            volume = container.get_volume(number - 1)
            if volume.is_locked():
                raise ItemProblem(ErrorCode.ENCRYPTED, f"APFS volume {number} is encrypted")
            entry = volume.get_file_entry_by_identifier(ident)
            size = int(entry.get_size())
    except OSError as exc:
        why = f"cannot open APFS entry {ident} of volume {number}: {libyal_reason(exc)}"
        raise ItemProblem(ErrorCode.UNREADABLE, why) from exc
    return ApfsFile(entry, size, lock)
