"""Executor events: what workers send back to the writer (plain, picklable dataclasses).

The records they carry (``BatchTask``, ``FileRecord``, ``ContentFacts``) live in ``core.records``,
which every layer may import; they are re-exported here for the ingest code that names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from safehold.core.errors import ErrorCode, ItemError
from safehold.core.records import BatchTask, ContentFacts, FileRecord, top_locator

__all__ = [
    "BatchCrashed",
    "BatchEvent",
    "BatchFinished",
    "BatchTask",
    "ContentFacts",
    "FileRecord",
    "RecordsChunk",
    "crash_record",
    "top_locator",
]


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
