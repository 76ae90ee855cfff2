"""Evidence that is a disk image: container → partitions → file systems → files.

Locators: ``evidence:7 / partition:2 / ntfs:/Users/a/x.zip`` (no ``partition`` segment when
the image has no partition table). A partition that cannot be read is itself recorded, with its
error, at ``evidence:7 / partition:3`` (scheme ``partition``, path ``3``); an image that cannot
be opened at all at ``evidence:7 / image:<file name>``. Nothing here ends an enumeration: every
failure becomes an entry with an error, and the other partitions are still walked.

``ref`` is ``<byte offset of the file system>:<tsk ref>`` (see tsk_fs), so a worker re-opens a
file with one cached ``FS_Info`` lookup and one ``open_meta``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

import pytsk3  # type: ignore[import-not-found]

from safehold.core.errors import ErrorCode, ItemError, ItemProblem, NotFoundError
from safehold.sources.base import TopEntry
from safehold.sources.disk.cache import opened
from safehold.sources.disk.image import Media, open_media
from safehold.sources.disk.reader import open_in_fs
from safehold.sources.disk.signatures import HEAD_BYTES, encryption_of, filesystem_hint
from safehold.sources.disk.tsk_fs import fs_scheme, walk_fs
from safehold.sources.disk.volumes import Volume, list_volumes

__all__ = ["DiskImageSource"]

Prefix = tuple[tuple[str, str], ...]


class DiskImageSource:
    """Files (allocated and deleted) in every readable file system of one disk image."""

    scheme: ClassVar[str] = "disk"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
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
        head = media.read(vol.offset, HEAD_BYTES)
        scheme = encryption_of(head)
        if scheme is not None:
            yield self._volume_error(vol, ErrorCode.ENCRYPTED, f"{scheme} volume: not decrypted")
            return
        if filesystem_hint(head) == "apfs":
            yield self._volume_error(vol, ErrorCode.UNSUPPORTED, f"{what}: APFS container: not read yet")
            return
        if not head.strip(b"\0"):
            yield self._volume_error(vol, ErrorCode.CORRUPT, f"{what}: no file system (the volume starts with zeros)")
            return
        try:
            fs = pytsk3.FS_Info(media.img, offset=vol.offset)
        except OSError as exc:
            extra = f"; {vol.problem}" if vol.problem else ""
            yield self._volume_error(vol, ErrorCode.CORRUPT,
                                     f"{what}: no file system recognised ({str(exc).strip()}){extra}")
            return
        prefix: Prefix = (("partition", str(vol.number)),) if vol.number is not None else ()
        fs_name = fs_scheme(fs)
        try:
            for item in walk_fs(fs):
                yield TopEntry(scheme=fs_name, path=item.path, ref=f"{vol.offset}:{item.ref}", size=item.size,
                               times=item.times, deleted=item.deleted, inode=item.inode, error=item.error,
                               prefix=prefix)
        except Exception as exc:  # the root itself is unreadable, or TSK failed part-way
            yield TopEntry(scheme=fs_name, path="/", ref=f"{vol.offset}:root", size=0, prefix=prefix,
                           error=ItemError(ErrorCode.CORRUPT, f"{what}: file system walk failed: {exc}"))

    def open_ref(self, ref: str) -> BinaryIO:
        offset, sep, rest = ref.partition(":")
        if not sep or not offset.isdigit():
            raise ItemProblem(ErrorCode.INTERNAL, f"not a disk-image reference: {ref!r}")
        image = opened(self.path)
        return open_in_fs(image.fs_at(int(offset)), rest, image.lock)  # type: ignore[return-value]

    def local_path(self, ref: str) -> Path | None:
        return None
