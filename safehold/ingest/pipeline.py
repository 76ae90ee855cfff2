"""Enumerate → batches → executor → store, with checkpoints that make a killed run resumable.

Resume works because enumeration is deterministic: batch ``seq`` N always holds the same
top-level files, a finished batch is recorded in the same database as its files, and every
write is idempotent. A second run skips finished batches and redoes the rest; the stored
result is the same as an uninterrupted run's. A finished batch whose first file or size no
longer matches means the evidence changed on disk, which stops the run loudly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select

from safehold.core.errors import SafeholdError
from safehold.core.settings import Settings
from safehold.ingest.executor import Executor
from safehold.ingest.interrupt import check_stop, shielded
from safehold.ingest.records import BatchCrashed, BatchFinished, BatchTask, FileRecord, RecordsChunk
from safehold.sources.base import EvidenceSource
from safehold.sources.factory import open_source
from safehold.store.db import Database
from safehold.store.ingest_repo import done_batches, finish_batch, write_records
from safehold.store.models import FileInstance

__all__ = ["IngestProgress", "IngestStats", "ingest_evidence", "plan_batches"]



class IngestProgress(Protocol):
    """What a front end shows while ingest runs (the CLI draws a rich bar)."""

    def begin(self, evidence_label: str, total_bytes: int, files_already: int, bytes_already: int) -> None: ...

    def advance(self, files: int, nbytes: int) -> None: ...

    def note(self, message: str) -> None: ...


class NullProgress:
    def begin(self, evidence_label: str, total_bytes: int, files_already: int, bytes_already: int) -> None:
        pass

    def advance(self, files: int, nbytes: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class _GroupWriter:
    """Stores chunks and finished batches in grouped transactions, always in arrival order.

    A batch is marked finished in the same transaction as (or a later one than) its last
    records, so a kill between commits only ever leaves whole batches to redo, which the
    idempotent writes absorb.
    """

    def __init__(self, db: Database, evidence_id: int, stats: IngestStats, seconds: float, records: int) -> None:
        self._db, self._evidence_id, self._stats = db, evidence_id, stats
        self._max_seconds, self._max_records = seconds, records
        self._records: list[tuple[int, list[FileRecord]]] = []
        self._pending = 0
        self._finished: list[BatchTask] = []
        self._since = time.monotonic()

    def add(self, chunk: RecordsChunk) -> None:
        if chunk.records:
            self._records.append((chunk.seq, chunk.records))
            self._pending += len(chunk.records)
        self._maybe_flush()

    def finish(self, task: BatchTask) -> None:
        self._finished.append(task)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._pending >= self._max_records or time.monotonic() - self._since >= self._max_seconds:
            self.flush()

    def flush(self) -> None:
        with shielded():  # a stop signal waits for the commit (see ingest.interrupt)
            if self._records or self._finished:
                with self._db.session() as s:
                    for seq, records in self._records:
                        self._stats.records_written += write_records(s, self._evidence_id, seq, records)
                    for task in self._finished:
                        finish_batch(s, task)
            self._records, self._pending, self._finished = [], 0, []
            self._since = time.monotonic()


@dataclass(slots=True)
class IngestStats:
    batches_total: int = 0
    batches_skipped: int = 0
    records_written: int = 0
    crashes: list[str] = field(default_factory=list)


def plan_batches(evidence_id: int, kind: str, path: Path, source: EvidenceSource,
                 batch_files: int, batch_bytes: int) -> Iterator[BatchTask]:
    """Deterministic batches by file count and bytes (the sizes must not change between runs)."""
    seq, entries, nbytes = 0, [], 0
    for entry in source.enumerate():
        entries.append(entry)
        nbytes += entry.size
        if len(entries) >= batch_files or nbytes >= batch_bytes:
            yield BatchTask(evidence_id, seq, kind, str(path), tuple(entries))
            seq, entries, nbytes = seq + 1, [], 0
    if entries:
        yield BatchTask(evidence_id, seq, kind, str(path), tuple(entries))


def ingest_evidence(
    db: Database,
    settings: Settings,
    executor: Executor,
    evidence_id: int,
    kind: str,
    path: Path,
    total_bytes: int,
    label: str,
    progress: IngestProgress | None = None,
    batch_sizes: tuple[int, int] | None = None,
) -> IngestStats:
    """Run (or resume) ingest of one evidence item. Returns when every batch is stored.

    ``batch_sizes`` (files, bytes) are the ones recorded for this item at its first run.
    """
    progress = progress or NullProgress()
    source = open_source(kind, path)
    with db.session() as s:
        done = done_batches(s, evidence_id)
        files_already = s.scalar(
            select(func.count()).select_from(FileInstance).where(FileInstance.evidence_id == evidence_id)
        ) or 0
    stats = IngestStats()
    bytes_already = 0

    def pending() -> Iterator[BatchTask]:
        nonlocal bytes_already
        files, nbytes = batch_sizes or (settings.batch_files, settings.batch_bytes)
        for task in plan_batches(evidence_id, kind, path, source, files, nbytes):
            stats.batches_total += 1
            prior = done.get(task.seq)
            if prior is None:
                yield task
                continue
            first = task.entries[0].ref if task.entries else ""
            if prior != (first, len(task.entries)):
                raise SafeholdError(
                    f"evidence {evidence_id} changed since its ingest began: batch {task.seq} "
                    f"was {prior}, now {(first, len(task.entries))}. Evidence must be read-only."
                )
            stats.batches_skipped += 1
            progress.advance(0, task.top_bytes)

    progress.begin(label, total_bytes, files_already, bytes_already)
    writer = _GroupWriter(db, evidence_id, stats, settings.commit_seconds, settings.commit_records)
    # Closed explicitly: on an interrupt the executor stops its workers now, not when collected.
    # What the writer holds unflushed then is dropped: its batches are unfinished and redone on resume.
    with closing(executor.run(pending())) as events:
        for event in events:
            check_stop()
            if isinstance(event, RecordsChunk):
                writer.add(event)
                progress.advance(len(event.records), event.bytes_done)
            elif isinstance(event, BatchFinished):
                writer.finish(event.task)
            elif isinstance(event, BatchCrashed):
                writer.flush()  # what the dead worker sent before dying is kept
                msg = f"worker died in batch {event.task.seq} at file {event.done_upto}: {event.detail}; retrying"
                stats.crashes.append(msg)
                progress.note(msg)
    writer.flush()
    return stats
