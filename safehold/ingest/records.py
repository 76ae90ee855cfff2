"""Typed work units and results that cross process boundaries (plain, picklable dataclasses).

As in plaso's task records: a ``BatchTask`` can be retried from any top-level index, and every
``FileRecord`` is keyed by its locator, so re-running work never stores a file twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from safehold.core.errors import ErrorCode, ItemError
from safehold.core.locator import Locator
from safehold.sources.base import FileTimes, TopEntry

__all__ = [
    "BatchCrashed",
    "BatchEvent",
    "BatchFinished",
    "BatchTask",
    "ContentFacts",
    "FileRecord",
    "RecordsChunk",
    "crash_record",
]


@dataclass(frozen=True, slots=True)
class BatchTask:
    """Top-level entries ``entries[start:]`` of one evidence item; ``seq`` is stable across runs."""

    evidence_id: int
    seq: int
    source_kind: str
    source_path: str
    entries: tuple[TopEntry, ...]
    start: int = 0

    @property
    def top_bytes(self) -> int:
        return sum(e.size for e in self.entries)


@dataclass(slots=True)
class ContentFacts:
    """Facts that depend on the bytes alone (stored once per SHA-256)."""

    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str | None = None
    media_kind: str | None = None  # image | video | archive | other
    image_format: str | None = None
    width: int | None = None
    height: int | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: str | None = None  # 8 × 64 hex, rotations/flips for matching
    exif: dict[str, Any] | None = None
    # Videos (``safehold.extract.video``): facts, the packed vPDQ fingerprint, the contact sheet.
    container: str | None = None
    duration: float | None = None
    frame_rate: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    video_meta: dict[str, Any] | None = None  # creation time, make, model, location, decode notes
    vpdq: bytes | None = None  # ``hashing.vpdq.pack_frames``; partial when decoding broke off
    contact_sheet: str | None = None  # relative to the data directory's ``derived`` folder


@dataclass(slots=True)
class FileRecord:
    locator: Locator
    name: str
    path: str
    size: int | None
    times: FileTimes = field(default_factory=FileTimes)
    deleted: bool = False
    inode: str | None = None
    parent_sha256: str | None = None
    content: ContentFacts | None = None
    error: ItemError | None = None
    depth: int = 0  # containers above this file within its evidence item


@dataclass(frozen=True, slots=True)
class RecordsChunk:
    seq: int
    records: list[FileRecord]
    done_upto: int  # top-level entries [0, done_upto) of the batch are complete
    bytes_done: int  # top-level bytes completed by this chunk (for progress)


@dataclass(frozen=True, slots=True)
class BatchFinished:
    task: BatchTask


@dataclass(frozen=True, slots=True)
class BatchCrashed:
    """A worker died; the executor retries from ``done_upto`` and reports a repeat offender."""

    task: BatchTask
    done_upto: int
    detail: str


BatchEvent = RecordsChunk | BatchFinished | BatchCrashed


def top_locator(task: BatchTask, entry: TopEntry) -> Locator:
    loc = Locator.root(task.evidence_id)
    for scheme, value in entry.prefix:
        loc = loc.child(scheme, value)
    return loc.child(entry.scheme, entry.path)


def crash_record(task: BatchTask, index: int, detail: str) -> FileRecord:
    """The record stored for a top-level file whose processing killed a worker twice."""
    entry = task.entries[index]
    return FileRecord(
        locator=top_locator(task, entry),
        name=entry.path.rsplit("/", 1)[-1],
        path=entry.path,
        size=entry.size,
        times=entry.times,
        deleted=entry.deleted,
        inode=entry.inode,
        error=ItemError(ErrorCode.WORKER_CRASH, f"worker process died twice on this file ({detail})"),
    )
