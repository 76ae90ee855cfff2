"""The extractor contract: a narrow, typed capability with a stable name, as python-threatexchange's
``SignalType``, and a mediator that is all it may touch, as plaso's parsers.

An extractor declares its ``name`` (the storage key in the ledger and on every artifact: never
rename one), its ``version`` (raise it when its output changes, and ``safehold analyse`` re-runs it
over old evidence), what it ``accepts`` (media kinds, media-type prefixes) and how it ``reads``:

* ``HEAD``: the first 64 KiB only, before the rest is read (the file type, which decides what
  every later extractor accepts);
* ``STREAM``: every byte once, in order, while ingest reads the file (the cryptographic hashes);
* ``CONTENT``: the whole content afterwards, through ``ContentView`` as bytes, a seekable stream
  or a path (images, videos, and third-party extractors).

``run(view, sink)`` reads through the view and emits through the sink: facts for the content's
dedicated columns (built-ins only: hashes, type, PDQ, dimensions are what every query needs),
typed artifacts with where they were found, and errors. It never opens the database, the
evidence or the network, and holds no state between contents.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol

from safehold.core.errors import ItemError
from safehold.core.settings import Limits, VideoSettings

__all__ = [
    "Accepts",
    "Accumulator",
    "ContentView",
    "Extractor",
    "ExtractorError",
    "Reads",
    "Sink",
    "StreamExtractor",
    "check_name",
]

_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MEDIA_KINDS = frozenset({"image", "video", "archive", "other"})


class ExtractorError(ValueError):
    """An extractor class that breaks the contract (bad name, version or accepts)."""


def check_name(name: object) -> str:
    """Names are storage keys: lower-case, short, stable."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ExtractorError(f"extractor name {name!r} is not 1-64 of [a-z0-9_.-] starting with a letter")
    return name


class Reads(StrEnum):
    HEAD = "head"
    STREAM = "stream"
    CONTENT = "content"


@dataclass(frozen=True, slots=True)
class Accepts:
    """What an extractor is run on. Empty ``kinds`` or ``mimes`` means any; both must match."""

    kinds: frozenset[str] = frozenset()  # image | video | archive | other
    mimes: tuple[str, ...] = ()  # prefixes: "text/", "application/pdf"
    max_size: int | None = None  # bytes; None: any size

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - MEDIA_KINDS
        if unknown:
            raise ExtractorError(f"unknown media kinds {sorted(unknown)}; known: {sorted(MEDIA_KINDS)}")

    def matches(self, mime: str | None, kind: str | None, size: int | None) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        if self.mimes and not (mime and mime.lower().startswith(self.mimes)):
            return False
        return self.max_size is None or size is None or size <= self.max_size

    def describe(self) -> dict[str, Any]:
        return {"kinds": sorted(self.kinds), "mimes": list(self.mimes), "max_size": self.max_size}


class ContentView(Protocol):
    """Read-only access to one content; what an extractor sees of the evidence."""

    @property
    def name(self) -> str:
        """The file name of the instance being read (a hint only: names in evidence lie)."""
        ...

    @property
    def size(self) -> int | None: ...

    @property
    def mime(self) -> str | None: ...

    @property
    def media_kind(self) -> str | None: ...

    @property
    def sha256(self) -> str | None:
        """Known to ``CONTENT`` extractors; None while the bytes are still being read."""
        ...

    @property
    def limits(self) -> Limits: ...

    @property
    def video(self) -> VideoSettings: ...

    @property
    def local_path(self) -> Path | None:
        """A real file holding exactly these bytes when one exists already (costs nothing)."""
        ...

    def head(self) -> bytes:
        """The first 64 KiB (less for a smaller content)."""
        ...

    def read(self) -> bytes:
        """The whole content in memory; ``ItemProblem`` (too large) past ``limits.max_image_bytes``."""
        ...

    def open(self) -> BinaryIO:
        """A fresh seekable stream over the content, read-only."""
        ...

    def path(self) -> Path:
        """A real file with the content (spilled to private scratch space if need be)."""
        ...


class Sink(Protocol):
    """Where an extractor's results go; the host adds the provenance (content, name, version)."""

    @property
    def derived_dir(self) -> Path | None:
        """The data directory's folder for derived files (contact sheets); None: write none."""
        ...

    def facts(self, **values: Any) -> None:
        """Values for the content's dedicated columns (``core.records.ContentFacts`` fields)."""
        ...

    def artifact(self, kind: str, value: str, *, offset: int | None = None, where: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        """A typed fact found inside the content: ``offset`` in bytes, or ``where`` (page, frame, row)."""
        ...

    def error(self, error: ItemError) -> None:
        """A problem with this content that did not stop the extractor (the first one is kept)."""
        ...


class Extractor(ABC):
    """Subclass, set the four class attributes, write ``run``. See docs/ARCHITECTURE.md."""

    name: ClassVar[str]
    version: ClassVar[int]
    accepts: ClassVar[Accepts] = Accepts()
    reads: ClassVar[Reads] = Reads.CONTENT
    description: ClassVar[str] = ""
    #: The content's dedicated columns this extractor fills (built-ins only; plugins emit artifacts).
    facts: ClassVar[frozenset[str]] = frozenset()
    #: Wants the bytes in memory (``view.read()``): the host keeps small contents while reading them.
    in_memory: ClassVar[bool] = False

    @abstractmethod
    def run(self, view: ContentView, sink: Sink) -> None:
        """Look at one content and emit what was found. Exceptions become the content's error."""

    @classmethod
    def check(cls) -> None:
        """Refuse a class that breaks the contract, before it touches any evidence."""
        check_name(getattr(cls, "name", None))
        version = getattr(cls, "version", None)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ExtractorError(f"extractor {cls.name!r}: version must be a positive integer, not {version!r}")
        if not isinstance(cls.accepts, Accepts):
            raise ExtractorError(f"extractor {cls.name!r}: accepts must be an Accepts")
        if not isinstance(cls.reads, Reads):
            raise ExtractorError(f"extractor {cls.name!r}: reads must be a Reads")
        if cls.reads is Reads.STREAM and not issubclass(cls, StreamExtractor):
            raise ExtractorError(f"extractor {cls.name!r}: a STREAM extractor subclasses StreamExtractor")


class Accumulator(Protocol):
    """One content's running state for a ``StreamExtractor``."""

    def update(self, data: bytes) -> None: ...

    def finish(self, sink: Sink) -> None: ...


@dataclass(slots=True)
class _Fed:
    """Feeds a whole stream to an accumulator (``StreamExtractor.run`` outside ingest's one read)."""

    begin: Callable[[], Accumulator]
    chunk: int = field(default=1 << 20)

    def run(self, view: ContentView, sink: Sink) -> None:
        acc = self.begin()
        with view.open() as f:
            while data := f.read(self.chunk):
                acc.update(data)
        acc.finish(sink)


class StreamExtractor(Extractor):
    """Sees every byte once while ingest reads the file, so a hash costs no second read."""

    reads: ClassVar[Reads] = Reads.STREAM

    @abstractmethod
    def begin(self) -> Accumulator:
        """Fresh state for one content."""

    def run(self, view: ContentView, sink: Sink) -> None:
        _Fed(self.begin).run(view, sink)
