"""Record types that cross layers and processes: what sources find, what ingest produces, what
the store writes. Plain, picklable dataclasses with no I/O, kept in ``core`` so that ``store``
never imports ``ingest`` (the data flow runs one way).

As in plaso's task records: a ``BatchTask`` can be retried from any top-level index, and every
``FileRecord`` is keyed by its locator, so re-running work never stores a file twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from safehold.core.errors import ItemError
from safehold.core.locator import Locator
from safehold.core.pickling import compact_pickle

__all__ = [
    "ArtifactRecord",
    "BatchTask",
    "ContentFacts",
    "ExtractorRun",
    "FileRecord",
    "FileTimes",
    "TopEntry",
    "top_locator",
]


@compact_pickle
@dataclass(frozen=True, slots=True)
class FileTimes:
    """MACB times as recorded by the layer that holds the file (None when it keeps none)."""

    modified: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    created: datetime | None = None


@compact_pickle
@dataclass(frozen=True, slots=True)
class TopEntry:
    """A file directly on an evidence item. Picklable: workers re-open it through ``ref``.

    ``error`` is set for entries that are recorded but not read (a FIFO, a link out of the root).
    """

    scheme: str  # locator scheme of this layer, e.g. "fs"
    path: str  # path shown to investigators, '/'-separated, relative to the evidence root
    ref: str  # what EvidenceSource.open_ref needs (for a folder: the relative path)
    size: int
    times: FileTimes = field(default_factory=FileTimes)
    deleted: bool = False
    inode: str | None = None
    error: ItemError | None = None
    prefix: tuple[tuple[str, str], ...] = ()


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


@compact_pickle
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
    # What the extractors found inside the bytes, and which extractor versions ran (the ledger).
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    runs: list[ExtractorRun] = field(default_factory=list)


@compact_pickle
@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """A typed fact an extractor found inside one content, with where it was found.

    ``kind`` is the extractor's vocabulary (``email``, ``phone``, ``message``, ``camera-serial``);
    ``value`` the normalised fact as text; ``offset`` a byte offset into the content, ``where`` any
    other position (``page 3``, ``frame 120``, ``row 17``, ``line 4``); ``data`` structured detail.
    The extractor's name and version are the run's (``ExtractorRun``), never the artifact's own.
    """

    extractor: str
    version: int
    kind: str
    value: str
    offset: int | None = None
    where: str | None = None
    data: dict[str, Any] | None = None


class ExtractorRun(NamedTuple):
    """One ledger line: ``extractor`` at ``version`` ran over the content (``error`` if it failed).

    A named tuple, not a dataclass: two or three go with every file from the workers to the writer,
    and a tuple pickles and unpickles several times faster than a slotted dataclass."""

    extractor: str
    version: int
    error: str | None = None


@compact_pickle
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


def top_locator(task: BatchTask, entry: TopEntry) -> Locator:
    loc = Locator.root(task.evidence_id)
    for scheme, value in entry.prefix:
        loc = loc.child(scheme, value)
    return loc.child(entry.scheme, entry.path)
