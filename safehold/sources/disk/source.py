"""Evidence that is a disk image: container → partitions → file systems → files.

Locators: ``evidence:7 / partition:2 / ntfs:/Users/a/x.zip`` (no ``partition`` segment when
the image has no partition table); APFS adds its volume: ``evidence:7 / partition:2 /
apfs-volume:1 / apfs:/Users/a/x.jpg`` (see apfs.py). A partition that cannot be read is itself recorded, with its
error, at ``evidence:7 / partition:3`` (scheme ``partition``, path ``3``); an image that cannot
be opened at all at ``evidence:7 / image:<file name>``. Nothing here ends an enumeration: every
failure becomes an entry with an error, and the other partitions are still walked.

``ref`` is ``<byte offset of the file system>:<tsk ref>`` (see tsk_fs), so a worker re-opens a
file with one cached ``FS_Info`` lookup and one ``open_meta``; for APFS it is
``<byte offset of the container>:apfs:<volume>:<inode>``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from safehold.core.errors import ErrorCode, ItemError, ItemProblem, NotFoundError
from safehold.sources.base import TopEntry
from safehold.sources.disk.apfs import ContainerOpener, MediaFile, open_apfs_entry, open_container, walk_apfs
from safehold.sources.disk.cache import opened
from safehold.sources.disk.image import Media, open_media
from safehold.sources.disk.reader import open_in_fs
from safehold.sources.disk.signatures import HEAD_BYTES, encryption_of, filesystem_hint
from safehold.sources.disk.tsk_fs import TSK_ERRORS, fs_scheme, open_fs, walk_fs
from safehold.sources.disk.virtual import libyal_reason
from safehold.sources.disk.volumes import Volume, list_volumes

__all__ = ["DiskImageSource"]

Prefix = tuple[tuple[str, str], ...]


def _head(media: Media, offset: int) -> bytes:
    """The first bytes of a volume, for signatures. 64 KiB when readable (ISO9660 needs 32 KiB
    in), else the first 4 KiB: a damaged chunk of a compressed container (DMG, E01) past the
    boot sector must cost the files stored there, not the whole volume."""
    try:
        return media.read(offset, HEAD_BYTES)
    except OSError:
        return media.read(offset, 4096)


class DiskImageSource:
    """Files (allocated and deleted) in every readable file system of one disk image."""

    scheme: ClassVar[str] = "disk"

    def __init__(self, path: Path, apfs_opener: ContainerOpener = open_container) -> None:
        """``apfs_opener`` opens APFS containers; tests pass ``safehold.testing.apfs``'s fake."""
        self.path = Path(path)
        self._apfs_opener = apfs_opener
        if not self.path.is_file():
            raise NotFoundError(f"disk image not found: {path}")

    def enumerate(self) -> Iterator[TopEntry]:
        try:
            media = open_media(self.path)
        except ItemProblem as p:
            yield self._image_error(p.error)
            return
        except Exception as exc:  # never end an enumeration on a hostile image
            yield self._image_error(ItemError(ErrorCode.CORRUPT, f"cannot open image: {exc}"))
            return
        try:
            try:
                volumes = list_volumes(media)
            except Exception as exc:
                yield self._image_error(ItemError(ErrorCode.CORRUPT, f"cannot read partitions: {exc}"))
                return
            for vol in volumes:
                yield from self._volume(media, vol)
        finally:
            media.close()

    def _image_error(self, error: ItemError) -> TopEntry:
        return TopEntry(scheme="image", path=self.path.name, ref="image", size=0, error=error)

    def _volume_error(self, vol: Volume, code: ErrorCode, message: str) -> TopEntry:
        if vol.number is None:
            return self._image_error(ItemError(code, message))
        return TopEntry(scheme="partition", path=str(vol.number), ref=f"{vol.offset}:volume", size=vol.length,
                        error=ItemError(code, message))

    def _volume(self, media: Media, vol: Volume) -> Iterator[TopEntry]:
        what = f"partition {vol.number} ({vol.description})" if vol.number is not None else "image"
        if vol.problem is not None and vol.offset >= media.size:
            yield self._volume_error(vol, ErrorCode.CORRUPT, f"{what}: {vol.problem}")
            return
        try:
            head = _head(media, vol.offset)
        except OSError as exc:  # e.g. a damaged compressed chunk of a DMG or an E01
            yield self._volume_error(vol, ErrorCode.CORRUPT, f"{what}: cannot read its first bytes: {exc}")
            return
        scheme = encryption_of(head)
        if scheme is not None:
            yield self._volume_error(vol, ErrorCode.ENCRYPTED, f"{scheme} volume: not decrypted")
            return
        prefix: Prefix = (("partition", str(vol.number)),) if vol.number is not None else ()
        if filesystem_hint(head) == "apfs":
            yield from self._apfs(media, vol, what, prefix)
            return
        if not head.strip(b"\0"):
            yield self._volume_error(vol, ErrorCode.CORRUPT, f"{what}: no file system (the volume starts with zeros)")
            return
        try:
            fs = open_fs(media.img, vol.offset, filesystem_hint(head))
        except TSK_ERRORS as exc:  # RuntimeError among them: pytsk3 wrapping a failed container read
            extra = f"; {vol.problem}" if vol.problem else ""
            yield self._volume_error(vol, ErrorCode.CORRUPT,
                                     f"{what}: no file system recognised ({str(exc).strip()}){extra}")
            return
        fs_name = fs_scheme(fs)
        try:
            for item in walk_fs(fs):
                yield TopEntry(scheme=fs_name, path=item.path, ref=f"{vol.offset}:{item.ref}", size=item.size,
                               times=item.times, deleted=item.deleted, inode=item.inode, error=item.error,
                               prefix=prefix)
        except Exception as exc:  # the root itself is unreadable, or TSK failed part-way
            yield TopEntry(scheme=fs_name, path="/", ref=f"{vol.offset}:root", size=0, prefix=prefix,
                           error=ItemError(ErrorCode.CORRUPT, f"{what}: file system walk failed: {exc}"))

    def _apfs(self, media: Media, vol: Volume, what: str, prefix: Prefix) -> Iterator[TopEntry]:
        """An APFS container: one ``apfs-volume:N`` level per volume, files read by libfsapfs."""
        stream = MediaFile(media, vol.offset, min(vol.length, media.size - vol.offset), threading.Lock())
        try:
            container = self._apfs_opener(stream)
        except Exception as exc:  # libfsapfs refuses it: damaged, or not APFS after all
            yield self._volume_error(vol, ErrorCode.CORRUPT, f"{what}: cannot open the APFS container: "
                                                             f"{libyal_reason(exc)}")
            return
        try:
            for item in walk_apfs(container):
                ref = f"{vol.offset}:apfs:{item.ref}"
                if not item.path:  # about a volume itself (encrypted, unreadable)
                    yield TopEntry(scheme="apfs-volume", path=str(item.volume), ref=ref, size=0, prefix=prefix,
                                   error=item.error)
                    continue
                yield TopEntry(scheme="apfs", path=item.path, ref=ref, size=item.size, times=item.times,
                               inode=item.inode, error=item.error,
                               prefix=(*prefix, ("apfs-volume", str(item.volume))))
        except Exception as exc:  # libfsapfs failed part-way through the container
            yield TopEntry(scheme="apfs", path="/", ref=f"{vol.offset}:apfs:root", size=0, prefix=prefix,
                           error=ItemError(ErrorCode.CORRUPT, f"{what}: APFS walk failed: {libyal_reason(exc)}"))

    def open_ref(self, ref: str) -> BinaryIO:
        offset, sep, rest = ref.partition(":")
        if not sep or not offset.isdigit():
            raise ItemProblem(ErrorCode.INTERNAL, f"not a disk-image reference: {ref!r}")
        image = opened(self.path)
        if rest.startswith("apfs:"):
            container = image.apfs_at(int(offset), self._apfs_opener)
            return open_apfs_entry(container, rest.removeprefix("apfs:"), image.lock)  # type: ignore[return-value]
        fs = image.fs_at(int(offset))
        return open_in_fs(fs, rest, image.lock, image.media.img)  # type: ignore[return-value]

    def local_path(self, ref: str) -> Path | None:
        return None
