"""Worker side: read each file's bytes once through the extractors, and open containers.

The read is the extractor host's (``extractors.host.ContentRun``): the type from the first
bytes, the hashes as the rest streams past, then the extractors that accept the content (image
facts and PDQ, video facts and vPDQ, plugins) over what was kept of it. Containers nested in
containers are kept in memory or in the worker's scratch folder in the data directory, never next
to the evidence. Every failure becomes an ``ItemError`` on the file it concerns; nothing here ends
a run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from safehold.core.errors import ErrorCode, ItemError
from safehold.core.locator import Locator
from safehold.core.records import ContentFacts, ExtractorRun, FileRecord, FileTimes
from safehold.core.settings import Limits, VideoSettings
from safehold.extractors.base import Extractor
from safehold.extractors.host import HEAD_BYTES, ContentRun, HostEnv, error_of

# At module level: the forkserver preloads this module, so the built-in extractors and their
# decoders are imported once there, not by every worker on its first file.
from safehold.extractors.registry import installed
from safehold.hashing.crypto import EMPTY_DIGESTS
from safehold.sources.base import Blob
from safehold.sources.registry import reader_for

__all__ = ["Analyser", "Candidate"]

CHUNK = 1024 * 1024
#: Ledger lines of a zero-byte file: its well-known hashes and type are recorded, nothing else runs.
_EMPTY_RUNS = ("hashes", "filetype")


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


def _empty_facts(extractors: Sequence[Extractor]) -> ContentFacts:
    facts = ContentFacts(EMPTY_DIGESTS.sha256, EMPTY_DIGESTS.md5, EMPTY_DIGESTS.sha1, 0,
                         mime="application/x-empty", media_kind="other")
    facts.runs = [ExtractorRun(x.name, x.version) for x in extractors if x.name in _EMPTY_RUNS]
    return facts


class Analyser:
    """Turns candidates into records. One per worker process; holds the extractors, limits and scratch."""

    def __init__(self, limits: Limits, scratch: Path, video: VideoSettings | None = None,
                 derived: Path | None = None, extractors: Sequence[Extractor] | None = None) -> None:
        if extractors is None:
            extractors = installed().extractors
        self.limits = limits
        self.extractors = tuple(extractors)
        # Pillow's own process-wide guard warns at this many pixels and refuses at twice it;
        # analyse_image applies our limit from the header first, so align Pillow's with it.
        Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self.env = HostEnv(limits, video or VideoSettings(), scratch, derived)

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
        run = ContentRun(self.extractors, self.env, cand.name, cand.size, cand.local_path, keep_container=True)
        try:
            with cand.open() as f:
                head = f.read(HEAD_BYTES)
                if not head:  # its (well-known) hashes are recorded; they never match anything
                    record.size = 0
                    record.content = _empty_facts(self.extractors)
                    record.error = record.error or ItemError(ErrorCode.EMPTY, "zero-byte file")
                    yield record
                    return
                run.begin(head)
                while chunk := f.read(CHUNK):
                    run.feed(chunk)
            outcome = run.finish()
        except Exception as exc:  # any reader/decoder failure is this item's error, not the run's
            run.discard()
            record.error = error_of(exc)
            yield record
            return
        record.size = run.size
        record.content = outcome.content_facts()
        record.error = record.error or outcome.error
        blob = run.blob() if record.content.media_kind == "archive" else None
        try:
            if blob is not None:
                yield from self._expand(cand, record, record.content.mime or "", run.head_bytes, blob)
        finally:
            run.discard()
        yield record

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
            err = error_of(exc)
            record.error = record.error or ItemError(err.code, f"while listing members: {err.message}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
