"""Runs one ``BatchTask`` and streams its records in bounded chunks.

The same function serves every executor: the local process pool now, a distributed engine
later. Memory stays bounded because records leave in chunks of ``CHUNK_RECORDS`` however many
members an archive holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from safehold.core.errors import ItemProblem
from safehold.core.settings import Settings
from safehold.ingest.analyse import Analyser, Candidate
from safehold.ingest.records import BatchTask, FileRecord, RecordsChunk, top_locator
from safehold.sources.base import EvidenceSource
from safehold.sources.factory import open_source

__all__ = ["CHUNK_RECORDS", "run_batch"]

CHUNK_RECORDS = 200


def _local_path(source: EvidenceSource, ref: str) -> Path | None:
    """The seekable path, if any; a ref the source refuses is left for ``open`` to report on the file."""
    try:
        return source.local_path(ref)
    except ItemProblem:
        return None


def run_batch(task: BatchTask, settings: Settings, source: EvidenceSource | None = None) -> Iterator[RecordsChunk]:
    source = source or open_source(task.source_kind, Path(task.source_path))
    analyser = Analyser(settings.limits, settings.tmp_dir / f"worker-{os.getpid()}", settings.video,
                        settings.derived_dir)
    pending: list[FileRecord] = []
    bytes_done = 0
    for index in range(task.start, len(task.entries)):
        entry = task.entries[index]
        cand = Candidate(
            locator=top_locator(task, entry),
            name=entry.path.rsplit("/", 1)[-1],
            path=entry.path,
            size=entry.size,
            open=partial(source.open_ref, entry.ref),
            local_path=_local_path(source, entry.ref),
            times=entry.times,
            deleted=entry.deleted,
            inode=entry.inode,
            error=entry.error,
        )
        if entry.error is not None:  # recorded, never read (FIFO, link out of the root)
            pending.append(FileRecord(cand.locator, cand.name, cand.path, entry.size, entry.times,
                                      entry.deleted, entry.inode, error=entry.error))
        else:
            for rec in analyser.analyse(cand):
                pending.append(rec)
                if len(pending) >= CHUNK_RECORDS:
                    yield RecordsChunk(task.seq, pending, index, bytes_done)
                    pending, bytes_done = [], 0
        bytes_done += entry.size
        if len(pending) >= CHUNK_RECORDS:
            yield RecordsChunk(task.seq, pending, index + 1, bytes_done)
            pending, bytes_done = [], 0
    yield RecordsChunk(task.seq, pending, len(task.entries), bytes_done)
