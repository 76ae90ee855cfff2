"""Worker side: read each file's bytes once, hash and describe them, and open containers.

One read feeds MD5+SHA-1+SHA-256 and, for images, the decoder (the bytes are kept in memory
only for images under ``limits.max_image_bytes``). Containers nested in containers are spilled
to memory or to the worker's scratch folder in the data directory, never next to the evidence.
Videos are decoded after hashing, from the file itself when it is on a file system, otherwise
from a copy spilled to the scratch folder; contact sheets go to the data directory's
``derived`` folder. Every failure becomes an ``ItemError`` on the file it concerns; nothing
here ends a run.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.locator import Locator
from safehold.core.settings import Limits, VideoSettings
from safehold.extract.contact_sheet import write_contact_sheet
from safehold.extract.filetype import detect_mime, is_image_mime, is_video_mime
from safehold.extract.image import analyse_image
from safehold.extract.video import VideoFacts, analyse_video
from safehold.hashing.crypto import EMPTY_DIGESTS, MultiDigest
from safehold.hashing.vpdq import pack_frames
from safehold.ingest.records import ContentFacts, FileRecord
from safehold.sources.base import Blob, FileTimes
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.registry import reader_for

__all__ = ["Analyser", "Candidate"]

HEAD_BYTES = 64 * 1024
CHUNK = 1024 * 1024


@dataclass(slots=True)
class Candidate:
    """A file about to be analysed, wherever it lives."""

    locator: Locator
    name: str
    path: str
    size: int | None
    open: Callable[[], BinaryIO]
    local_path: Path | None = None  # a real seekable file (top-level files on a folder)
    times: FileTimes = field(default_factory=FileTimes)
    deleted: bool = False
    inode: str | None = None
    parent_sha256: str | None = None
    error: ItemError | None = None  # known before reading (e.g. unsafe member name)
    encrypted: bool = False
    depth: int = 0  # containers above this file within its evidence item (0: on the file system)


def _read_error(exc: BaseException) -> ItemError:
    if isinstance(exc, ItemProblem):
        return exc.error
    if isinstance(exc, MemoryError):
        return ItemError(ErrorCode.BOMB, "ran out of memory decoding this item")
    if isinstance(exc, OSError) and not type(exc).__module__.startswith(("zipfile", "py7zr", "rarfile")):
        return ItemError(ErrorCode.UNREADABLE, f"{type(exc).__name__}: {exc}")
    return ItemError(ErrorCode.CORRUPT, f"{type(exc).__name__}: {exc}")


class _Spill:
    """Bytes of a nested container, kept as a Blob while its members are read."""

    def __init__(self, limit: int, scratch: Path) -> None:
        self._limit = limit
        self._scratch = scratch
        self._mem: io.BytesIO | None = io.BytesIO()
        self._file: BinaryIO | None = None
        self._path: Path | None = None

    def write(self, data: bytes) -> None:
        if self._mem is not None and self._mem.tell() + len(data) > self._limit:
            fd, name = tempfile.mkstemp(dir=self._scratch, suffix=".spill")
            self._path = Path(name)
            self._file = open(fd, "wb")  # noqa: SIM115 - closed in blob()/discard()
            self._file.write(self._mem.getbuffer())
            self._mem = None
        if self._mem is not None:
            self._mem.write(data)
        elif self._file is not None:
            self._file.write(data)

    def blob(self) -> Blob:
        if self._file is not None and self._path is not None:
            self._file.close()
            return PathBlob(self._path)
        assert self._mem is not None
        return BytesBlob(self._mem.getvalue())

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self._mem = None


class Analyser:
    """Turns candidates into records. One per worker process; holds only limits and scratch."""

    def __init__(self, limits: Limits, scratch: Path, video: VideoSettings | None = None,
                 derived: Path | None = None) -> None:
        self.limits = limits
        self.video = video or VideoSettings()
        self.derived = derived  # where contact sheets go; None: none are written
        # Pillow's own process-wide guard warns at this many pixels and refuses at twice it;
        # analyse_image applies our limit from the header first, so align Pillow's with it.
        Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)

    def analyse(self, cand: Candidate) -> Iterator[FileRecord]:
        """Yield the record of ``cand`` and, for containers, of every member below it.

        The container's own record comes last so an error met while listing members
        (a truncated archive) is recorded on the container itself.
        """
        record = FileRecord(
            locator=cand.locator, name=cand.name, path=cand.path, size=cand.size,
            times=cand.times, deleted=cand.deleted, inode=cand.inode,
            parent_sha256=cand.parent_sha256, error=cand.error, depth=cand.depth,
        )
        if cand.encrypted:
            record.error = ItemError(ErrorCode.ENCRYPTED, "encrypted member: content not readable")
            yield record
            return
        spill: _Spill | None = None
        try:
            with cand.open() as f:
                head = f.read(HEAD_BYTES)
                if not head:  # its (well-known) hashes are recorded; they never match anything
                    record.size = 0
                    record.content = ContentFacts(EMPTY_DIGESTS.sha256, EMPTY_DIGESTS.md5, EMPTY_DIGESTS.sha1, 0,
                                                  mime="application/x-empty", media_kind="other")
                    record.error = record.error or ItemError(ErrorCode.EMPTY, "zero-byte file")
                    yield record
                    return
                mime = detect_mime(head)
                digest = MultiDigest()
                digest.update(head)
                total = len(head)
                image_bytes: bytearray | None = None
                if is_image_mime(mime) and (cand.size is None or cand.size <= self.limits.max_image_bytes):
                    image_bytes = bytearray(head)
                probe = reader_for(mime, head, None)
                video = is_video_mime(mime)
                if (probe is not None or video) and cand.local_path is None:
                    spill = _Spill(self.limits.spill_memory_bytes, self.scratch)
                    spill.write(head)
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    total += len(chunk)
                    if image_bytes is not None:
                        if len(image_bytes) + len(chunk) > self.limits.max_image_bytes:
                            image_bytes = None
                        else:
                            image_bytes += chunk
                    if spill is not None:
                        spill.write(chunk)
        except Exception as exc:  # any reader/decoder failure is this item's error, not the run's
            if spill is not None:
                spill.discard()
            record.error = _read_error(exc)
            yield record
            return

        d = digest.result()
        record.size = total
        facts = ContentFacts(sha256=d.sha256, md5=d.md5, sha1=d.sha1, size=total, mime=mime)
        record.content = facts
        if is_image_mime(mime):
            facts.media_kind = "image"
            self._describe_image(facts, record, image_bytes)
        elif video:
            facts.media_kind = "video"
            if probe is None:
                source = PathBlob(cand.local_path) if cand.local_path is not None else spill.blob()  # type: ignore[union-attr]
                try:
                    self._describe_video(facts, record, source)
                finally:
                    if spill is not None:
                        spill.discard()
        elif probe is not None:
            facts.media_kind = "archive"
        else:
            facts.media_kind = "other"

        if probe is None:
            yield record
            return
        blob: Blob = PathBlob(cand.local_path) if cand.local_path is not None else spill.blob()  # type: ignore[union-attr]
        try:
            yield from self._expand(cand, record, mime, head, blob)
        finally:
            if spill is not None:
                spill.discard()
        yield record

    def _describe_image(self, facts: ContentFacts, record: FileRecord, data: bytearray | None) -> None:
        if data is None:
            record.error = record.error or ItemError(
                ErrorCode.UNSUPPORTED,
                f"image larger than {self.limits.max_image_bytes} bytes: hashed, not decoded")
            return
        try:
            img = analyse_image(bytes(data), self.limits)
        except Exception as exc:
            record.error = record.error or _read_error(exc)
            return
        facts.image_format = img.format
        facts.width, facts.height = img.width, img.height
        facts.pdq, facts.pdq_quality = img.pdq, img.pdq_quality
        facts.pdq_dihedral = "".join(img.pdq_dihedral) or None
        facts.exif = img.exif.as_dict() if img.exif is not None else None
        if img.error is not None:
            record.error = record.error or img.error

    def _describe_video(self, facts: ContentFacts, record: FileRecord, blob: Blob) -> None:
        try:
            video = analyse_video(blob.path or blob.open, self.limits, self.video)
        except Exception as exc:  # the container did not open: hashed, not described
            record.error = record.error or _read_error(exc)
            return
        _video_facts(facts, video)
        if video.thumbnails and self.derived is not None:
            try:
                facts.contact_sheet = write_contact_sheet(self.derived, facts.sha256, video.thumbnails)
            except OSError as exc:  # a full disk costs the sheet, not the file's facts
                record.error = record.error or ItemError(ErrorCode.UNREADABLE, f"contact sheet not written: {exc}")
        if video.error is not None:
            record.error = record.error or video.error

    def _expand(
        self, cand: Candidate, record: FileRecord, mime: str, head: bytes, blob: Blob
    ) -> Iterator[FileRecord]:
        if cand.depth + 1 > self.limits.max_depth:  # the members would be nested too deep
            record.error = record.error or ItemError(
                ErrorCode.DEPTH, f"container nested deeper than {self.limits.max_depth}: members not listed")
            return
        reader = reader_for(mime, head, blob, cand.name)
        if reader is None:
            return
        assert record.content is not None
        parent_sha = record.content.sha256
        scratch = Path(tempfile.mkdtemp(dir=self.scratch, prefix=f"{reader.scheme}-"))
        try:
            for m in reader.members(blob, self.limits, scratch):
                child = Candidate(
                    locator=cand.locator.child(reader.scheme, m.path),
                    name=m.path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or m.path,
                    path=m.path, size=m.size, open=m.open, times=m.times,
                    parent_sha256=parent_sha, error=m.error, encrypted=m.encrypted, depth=cand.depth + 1,
                )
                yield from self.analyse(child)
        except Exception as exc:  # the container broke part-way: keep members already listed
            err = _read_error(exc)
            record.error = record.error or ItemError(err.code, f"while listing members: {err.message}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _video_facts(facts: ContentFacts, video: VideoFacts) -> None:
    facts.container, facts.duration, facts.frame_rate = video.container, video.duration, video.frame_rate
    facts.video_codec, facts.audio_codec = video.video_codec, video.audio_codec
    facts.width, facts.height = video.width, video.height
    meta: dict[str, object] = dict(video.metadata)
    if video.bit_rate:
        meta["bit_rate"] = video.bit_rate
    meta["frames_decoded"] = video.decoded
    facts.video_meta = meta
    facts.vpdq = pack_frames(video.frames) if video.frames else None
