"""Walk one file system with pytsk3: allocated and deleted files, NTFS alternate data streams.

The walk is iterative and streams: a directory's files are yielded as TSK lists them (on-disk
order, the same every time for a read-only image), its subdirectories are visited afterwards,
depth first. Memory grows with directory fan-out times depth, never with the file count.

What is not evidence for this tool and is skipped (``fls -r -p`` lists these):
* ``.`` and ``..``; TSK's virtual files (``$MBR``, ``$FAT1``, ``$FAT2``, ``$OrphanFiles`` and
  the ``OrphanFile-N`` entries under it: metadata with no name, recorded by no directory);
* NTFS system metadata in the root: names starting with ``$`` whose MFT entry is a reserved one
  (below 24: ``$MFT``, ``$MFTMirr``, ``$LogFile``, ``$Volume``, ``$AttrDef``, ``$Bitmap``,
  ``$Boot``, ``$BadClus``, ``$Secure``, ``$UpCase``, ``$Extend`` and what lies under it).
  User folders such as ``$Recycle.Bin`` have ordinary entries and are walked;
* FAT/exFAT pseudo-files TSK names after directory entries that are not files: the volume
  label (``NAME (Volume Label Entry)``) and exFAT's ``$ALLOC_BITMAP``, ``$UPCASE_TABLE``,
  ``$VOLUME_GUID``, ``$TEX_FAT``, ``$ACT``, ``$VOLUME_LABEL_NONE`` in the root.
* HFS+ special files TSK shows in the root: ``$ExtentsFile``, ``$CatalogFile``,
  ``$BadBlockFile``, ``$AllocationFile``, ``$StartupFile``, ``$AttributesFile`` (catalog node
  IDs below 16, which HFS+ reserves for itself; user files start at 16). HFS+ keeps no names of
  deleted files in its catalog B-tree and TSK lists none, so an HFS+ walk has no deleted files.

Each file becomes an ``FsItem`` whose ``ref`` re-opens it: ``<inode>`` or, on NTFS,
``<inode>:<attribute type>:<attribute id>`` (one per ``$DATA`` stream; a named stream's path
is ``/file.txt:stream``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytsk3  # type: ignore[import-not-found]

from safehold.core.clock import from_timestamp
from safehold.core.errors import ErrorCode, ItemError
from safehold.sources.base import FileTimes
from safehold.sources.common import clean_name

__all__ = ["TSK_ERRORS", "FsItem", "fs_scheme", "open_fs", "walk_fs"]

NTFS_DATA = pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA
NTFS_RESERVED_ENTRIES = 24
FAT_PSEUDO = {b"$ALLOC_BITMAP", b"$UPCASE_TABLE", b"$VOLUME_GUID", b"$TEX_FAT", b"$ACT", b"$VOLUME_LABEL_NONE"}
_FAT_TYPES = {pytsk3.TSK_FS_TYPE_FAT12, pytsk3.TSK_FS_TYPE_FAT16, pytsk3.TSK_FS_TYPE_FAT32, pytsk3.TSK_FS_TYPE_EXFAT}
HFS_FIRST_USER_ID = 16  # kHFSFirstUserCatalogNodeID
MAX_DEPTH = 256
# what pytsk3 raises for a damaged structure (OSError) or a failed read of a Python-backed image
# (RuntimeError wrapping the container's error: a bad DMG or E01 chunk)
TSK_ERRORS = (OSError, RuntimeError)

_SCHEMES = {
    pytsk3.TSK_FS_TYPE_NTFS: "ntfs",
    pytsk3.TSK_FS_TYPE_FAT12: "fat",
    pytsk3.TSK_FS_TYPE_FAT16: "fat",
    pytsk3.TSK_FS_TYPE_FAT32: "fat",
    pytsk3.TSK_FS_TYPE_EXFAT: "exfat",
    pytsk3.TSK_FS_TYPE_EXT2: "ext2",
    pytsk3.TSK_FS_TYPE_EXT3: "ext3",
    pytsk3.TSK_FS_TYPE_EXT4: "ext4",
    pytsk3.TSK_FS_TYPE_HFS: "hfs",
    pytsk3.TSK_FS_TYPE_ISO9660: "iso9660",
    pytsk3.TSK_FS_TYPE_FFS1: "ufs",
    pytsk3.TSK_FS_TYPE_FFS1B: "ufs",
    pytsk3.TSK_FS_TYPE_FFS2: "ufs",
    pytsk3.TSK_FS_TYPE_YAFFS2: "yaffs2",
}
# filesystem_hint's names → the TSK type to open with, so TSK does not probe every type
_DETECT = {
    "ntfs": pytsk3.TSK_FS_TYPE_NTFS_DETECT,
    "fat": pytsk3.TSK_FS_TYPE_FAT_DETECT,
    "exfat": pytsk3.TSK_FS_TYPE_FAT_DETECT,
    "ext": pytsk3.TSK_FS_TYPE_EXT_DETECT,
    "hfs": pytsk3.TSK_FS_TYPE_HFS_DETECT,
    "iso9660": pytsk3.TSK_FS_TYPE_ISO9660_DETECT,
}
_VIRTUAL = {pytsk3.TSK_FS_NAME_TYPE_VIRT, pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR}
_VIRTUAL_META = {pytsk3.TSK_FS_META_TYPE_VIRT, pytsk3.TSK_FS_META_TYPE_VIRT_DIR}
_SPECIAL = {
    pytsk3.TSK_FS_META_TYPE_LNK: "symbolic link",
    pytsk3.TSK_FS_META_TYPE_CHR: "character device",
    pytsk3.TSK_FS_META_TYPE_BLK: "block device",
    pytsk3.TSK_FS_META_TYPE_FIFO: "FIFO",
    pytsk3.TSK_FS_META_TYPE_SOCK: "socket",
    pytsk3.TSK_FS_META_TYPE_SHAD: "shadow inode",
    pytsk3.TSK_FS_META_TYPE_WHT: "whiteout",
}
_NAME_SPECIAL = {
    pytsk3.TSK_FS_NAME_TYPE_LNK: pytsk3.TSK_FS_META_TYPE_LNK,
    pytsk3.TSK_FS_NAME_TYPE_CHR: pytsk3.TSK_FS_META_TYPE_CHR,
    pytsk3.TSK_FS_NAME_TYPE_BLK: pytsk3.TSK_FS_META_TYPE_BLK,
    pytsk3.TSK_FS_NAME_TYPE_FIFO: pytsk3.TSK_FS_META_TYPE_FIFO,
    pytsk3.TSK_FS_NAME_TYPE_SOCK: pytsk3.TSK_FS_META_TYPE_SOCK,
}


@dataclass(frozen=True, slots=True)
class FsItem:
    path: str
    ref: str
    size: int
    times: FileTimes = field(default_factory=FileTimes)
    deleted: bool = False
    inode: str | None = None
    error: ItemError | None = None


def fs_scheme(fs: Any) -> str:
    return _SCHEMES.get(fs.info.ftype, "fs")


def open_fs(img: Any, offset: int, hint: str | None) -> Any:
    """``FS_Info`` for the file system at ``offset``, of the type ``hint`` names when it names one.

    Why not always let TSK detect: detection probes every file-system type, each reading its own
    superblock locations across the volume. On a compressed container (DMG, E01) one damaged
    chunk under any of those probes makes detection fail, and a sound FAT or NTFS becomes
    unreadable as a whole. Opening with the recognised type reads only that type's structures;
    if it fails, detection still gets its chance. Raises what pytsk3 raises (``TSK_ERRORS``).
    """
    detect = _DETECT.get(hint or "")
    if detect is not None:
        try:
            return pytsk3.FS_Info(img, offset=offset, type=detect)
        except TSK_ERRORS:
            pass
    return pytsk3.FS_Info(img, offset=offset)


def _time(secs: int, nano: int) -> datetime | None:
    return from_timestamp(secs + nano / 1e9) if secs > 0 else None


def times_of(meta: Any) -> FileTimes:
    if meta is None:
        return FileTimes()
    return FileTimes(
        modified=_time(meta.mtime, meta.mtime_nano), accessed=_time(meta.atime, meta.atime_nano),
        changed=_time(meta.ctime, meta.ctime_nano), created=_time(meta.crtime, meta.crtime_nano),
    )


def _name(raw: bytes) -> str:
    return clean_name(raw.decode("utf-8", "surrogateescape"))


class _Walker:
    def __init__(self, fs: Any) -> None:
        self.fs = fs
        self.ntfs = fs.info.ftype == pytsk3.TSK_FS_TYPE_NTFS
        self.fat = fs.info.ftype in _FAT_TYPES
        self.hfs = fs.info.ftype == pytsk3.TSK_FS_TYPE_HFS
        self.root = int(fs.info.root_inum)

    def walk(self) -> Iterator[FsItem]:
        stack: list[tuple[str, int, tuple[int, ...]]] = [("", self.root, ())]
        while stack:
            path, addr, ancestors = stack.pop()
            subdirs: list[tuple[str, int, tuple[int, ...]]] = []
            try:
                entries = iter(self.fs.open_dir(inode=addr))
            except TSK_ERRORS as exc:  # a damaged directory: record it, go on with the rest
                if not path:
                    raise
                yield self._dir_error(path, addr, exc)
                continue
            while True:
                try:
                    f = next(entries)
                except StopIteration:
                    break
                except TSK_ERRORS as exc:
                    yield self._dir_error(path or "/", addr, exc)
                    break
                try:
                    items = list(self._entry(f, path, (*ancestors, addr), subdirs))
                except TSK_ERRORS as exc:
                    name = _name(f.info.name.name)
                    items = [FsItem(f"{path}/{name}", str(f.info.name.meta_addr), 0, deleted=False,
                                    error=ItemError(ErrorCode.UNREADABLE, f"cannot read entry: {exc}"))]
                yield from items
            stack.extend(reversed(subdirs))

    @staticmethod
    def _dir_error(path: str, addr: int, exc: Exception) -> FsItem:
        return FsItem(path, f"dir:{addr}", 0, inode=str(addr),
                      error=ItemError(ErrorCode.UNREADABLE, f"cannot list directory: {exc}"))

    def _entry(self, f: Any, parent: str, ancestors: tuple[int, ...],
               subdirs: list[tuple[str, int, tuple[int, ...]]]) -> Iterator[FsItem]:
        info = f.info.name
        raw = info.name
        if raw in (b".", b"..") or info.type in _VIRTUAL:
            return
        addr = int(info.meta_addr)
        if not parent and self._pseudo(raw, addr):
            return
        meta = f.info.meta
        deleted = bool(int(info.flags) & pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
        if meta is None and addr:
            try:  # NTFS deleted entries: load the MFT entry by address
                f = self.fs.open_meta(inode=addr)
                meta = f.info.meta
            except TSK_ERRORS:
                meta = None
        if meta is not None and meta.type in _VIRTUAL_META:
            return
        path = f"{parent}/{_name(raw)}"
        mtype = meta.type if meta is not None else _NAME_SPECIAL.get(info.type)
        is_dir = mtype == pytsk3.TSK_FS_META_TYPE_DIR or (meta is None and info.type == pytsk3.TSK_FS_NAME_TYPE_DIR)
        times = times_of(meta)
        if is_dir:
            if meta is not None and addr not in ancestors and len(ancestors) < MAX_DEPTH:
                subdirs.append((path, addr, ancestors))
            if self.ntfs and meta is not None:
                yield from self._streams(f, path, addr, times, deleted, named_only=True)
            return
        if mtype in _SPECIAL:
            yield FsItem(path, str(addr), 0, times, deleted, str(addr),
                         ItemError(ErrorCode.SKIPPED, f"{_SPECIAL[mtype]}: not read"))
            return
        if meta is None:
            why = "deleted entry: its metadata is gone" if deleted else "its metadata entry is damaged or missing"
            yield FsItem(path, str(addr), 0, times, deleted, str(addr) if addr else None,
                         ItemError(ErrorCode.UNREADABLE, why))
            return
        if deleted and int(meta.flags) & pytsk3.TSK_FS_META_FLAG_ALLOC:
            yield FsItem(path, str(addr), 0, times, deleted, str(addr),
                         ItemError(ErrorCode.SKIPPED,
                                   "deleted name whose metadata now belongs to another file (reallocated)"))
            return
        if self.ntfs:
            yield from self._streams(f, path, addr, times, deleted, named_only=False)
            return
        yield FsItem(path, str(addr), int(meta.size), times, deleted, str(addr))

    def _pseudo(self, raw: bytes, addr: int) -> bool:
        """A root entry that names file-system metadata, not a user's file (module notes)."""
        if self.ntfs:
            return raw.startswith(b"$") and addr < NTFS_RESERVED_ENTRIES
        if self.hfs:
            return raw.startswith(b"$") and addr < HFS_FIRST_USER_ID
        return self.fat and (raw in FAT_PSEUDO or raw.endswith(b" (Volume Label Entry)"))

    def _streams(self, f: Any, path: str, addr: int, times: FileTimes, deleted: bool,
                 named_only: bool) -> Iterator[FsItem]:
        """One item per NTFS $DATA attribute: the unnamed one is the file, named ones are ADS."""
        found = False
        for attr in f:
            a = attr.info
            if a.type != NTFS_DATA:
                continue
            name = a.name
            if name:
                yield FsItem(f"{path}:{_name(name)}", f"{addr}:{NTFS_DATA}:{a.id}", int(a.size),
                             times, deleted, str(addr))
            elif not named_only:
                found = True
                yield FsItem(path, f"{addr}:{NTFS_DATA}:{a.id}", int(a.size), times, deleted, str(addr))
        if not found and not named_only:  # no unnamed $DATA (e.g. damaged entry): still listed
            yield FsItem(path, str(addr), int(f.info.meta.size), times, deleted, str(addr))


def walk_fs(fs: Any) -> Iterator[FsItem]:
    """Every non-directory entry of ``fs`` (see the module notes for what is skipped)."""
    return _Walker(fs).walk()
