"""Runs extractors over one content while its bytes are read once: the mediator they all get.

Ingest and ``analyse`` share it. The host reads the first 64 KiB and runs the ``HEAD``
extractors (the type), then streams the rest through the ``STREAM`` extractors (the hashes),
keeping the bytes only as far as the ``CONTENT`` extractors that accept the content need them:
in memory when one of them wants bytes and the content is small (an image), spilled to private
scratch space when there is no real file to reopen (an archive member), not at all when the file
sits on a file system. Then each ``CONTENT`` extractor runs over a ``ContentView``. Every
extractor's failure is caught, recorded in the ledger line of that extractor and as the
content's error, and the others still run.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.records import ArtifactRecord, ContentFacts, ExtractorRun
from safehold.core.settings import Limits, VideoSettings
from safehold.extractors.base import Accumulator, Extractor, ExtractorError, Reads, Sink
from safehold.sources.base import Blob
from safehold.sources.blobs import BytesBlob, PathBlob

__all__ = ["HEAD_BYTES", "ContentOutcome", "ContentRun", "HostEnv", "Known", "error_of", "storable"]

HEAD_BYTES = 64 * 1024
_FACT_FIELDS = frozenset(f.name for f in fields(ContentFacts)) - {"artifacts", "runs"}
_MAX_VALUE = 100_000  # characters of one artifact value; longer values are refused as an error


def error_of(exc: BaseException) -> ItemError:
    """The item error a failure stands for (decoders and readers raise all sorts)."""
    if isinstance(exc, ItemProblem):
        return exc.error
    if isinstance(exc, MemoryError):
        return ItemError(ErrorCode.BOMB, "ran out of memory decoding this item")
    if isinstance(exc, OSError) and not type(exc).__module__.startswith(("zipfile", "py7zr", "rarfile")):
        return ItemError(ErrorCode.UNREADABLE, f"{type(exc).__name__}: {exc}")
    return ItemError(ErrorCode.CORRUPT, f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class HostEnv:
    """What extractors may be given: limits, options, where derived files and scratch go."""

    limits: Limits
    video: VideoSettings
    scratch: Path
    derived_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Known:
    """Facts already stored for a content that ``analyse`` reads back (its type is not re-run)."""

    sha256: str
    mime: str | None
    media_kind: str | None
    size: int | None


@dataclass(slots=True)
class ContentOutcome:
    """What the extractors said about one content: column facts, artifacts, ledger lines, first error."""

    facts: dict[str, Any] = field(default_factory=dict)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    runs: list[ExtractorRun] = field(default_factory=list)
    error: ItemError | None = None

    def content_facts(self) -> ContentFacts:
        facts = ContentFacts(**self.facts)
        facts.artifacts, facts.runs = self.artifacts, self.runs
        return facts


class _Sink:
    """One extractor's sink over one content; adds the provenance and checks what it is given."""

    def __init__(self, x: Extractor, out: ContentOutcome, derived_dir: Path | None) -> None:
        self._x, self._out, self.derived_dir = x, out, derived_dir
        self.error_seen: ItemError | None = None

    def facts(self, **values: Any) -> None:
        stray = set(values) - (type(self._x).facts & _FACT_FIELDS)
        if stray:
            raise ExtractorError(f"extractor {self._x.name!r} may not set {sorted(stray)}")
        self._out.facts.update(values)

    def artifact(self, kind: str, value: str, *, offset: int | None = None, where: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        if not isinstance(kind, str) or not kind or len(kind) > 64:
            raise ExtractorError(f"artifact kind {kind!r} is not 1-64 characters")
        if not isinstance(value, str) or len(value) > _MAX_VALUE:
            raise ExtractorError(f"artifact value must be text of at most {_MAX_VALUE} characters")
        if offset is not None and (not isinstance(offset, int) or isinstance(offset, bool) or offset < 0):
            raise ExtractorError(f"artifact offset {offset!r} is not a byte offset")
        if where is not None and (not isinstance(where, str) or len(where) > 200):
            raise ExtractorError("artifact position ('where') must be text of at most 200 characters")
        if data is not None:
            data = _plain(data)
        self._out.artifacts.append(ArtifactRecord(self._x.name, self._x.version, storable(kind), storable(value),
                                                  offset, storable(where) if where is not None else None, data))

    def error(self, error: ItemError) -> None:
        self.error_seen = self.error_seen or error


def storable(text: str) -> str:
    """Text found in evidence may hold NULs or undecodable bytes (surrogate escapes), which neither SQLite
    nor PostgreSQL text accepts: kept visibly escaped as ``\\xNN`` instead of failing the batch."""
    if "\x00" not in text:
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _plain(data: Any) -> dict[str, Any]:
    """Structured detail as JSON stores it, every string made storable; anything else (a set, bytes,
    NaN) is the extractor's error, never the batch's."""
    if not isinstance(data, dict):
        raise ExtractorError("artifact data must be a dict")
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExtractorError(f"artifact data is not plain JSON: {exc}") from None
    cleaned: dict[str, Any] = _clean(data)
    return cleaned


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class _Keep:
    """The bytes kept for CONTENT extractors: memory up to ``memory``, then a scratch file (if allowed)."""

    def __init__(self, memory: int, scratch: Path | None) -> None:
        self._memory, self._scratch = memory, scratch
        self._buf: bytearray | None = bytearray()
        self._file: BinaryIO | None = None
        self.path: Path | None = None
        self.dropped = False

    def write(self, data: bytes) -> None:
        if self._buf is not None and len(self._buf) + len(data) > self._memory:
            if self._scratch is None:  # a real file exists: just stop keeping
                self._buf, self.dropped = None, True
                return
            fd, name = tempfile.mkstemp(dir=self._scratch, suffix=".spill")
            self.path, self._file = Path(name), open(fd, "wb")  # noqa: SIM115 - closed in done()/discard()
            self._file.write(self._buf)
            self._buf = None
        if self._buf is not None:
            self._buf += data
        elif self._file is not None:
            self._file.write(data)

    def done(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def data(self) -> bytes | None:
        return bytes(self._buf) if self._buf is not None else None

    def discard(self) -> None:
        self.done()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self._buf = None


class _View:
    """The read-only ``ContentView`` over a content being analysed."""

    def __init__(self, run: ContentRun) -> None:
        self._run = run
        self._temp: Path | None = None

    name = property(lambda self: self._run.name)
    size = property(lambda self: self._run.size)
    mime = property(lambda self: self._run.mime)
    media_kind = property(lambda self: self._run.kind)
    sha256 = property(lambda self: self._run.sha256)
    limits = property(lambda self: self._run.env.limits)
    video = property(lambda self: self._run.env.video)

    @property
    def local_path(self) -> Path | None:
        run = self._run
        return run.local_path or (run.keep.path if run.keep is not None else None)

    def head(self) -> bytes:
        return self._run.head_bytes

    def read(self) -> bytes:
        run, limit = self._run, self._run.env.limits.max_image_bytes
        kept = run.keep.data() if run.keep is not None else None
        if kept is not None and (run.complete or (run.phase is Reads.HEAD and len(kept) < HEAD_BYTES)):
            return kept
        with self.open() as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise ItemProblem(ErrorCode.SKIPPED, f"content over max_image_bytes={limit:,}: not read into memory")
        return data

    def open(self) -> BinaryIO:
        run = self._run
        kept = run.keep.data() if run.keep is not None else None
        if kept is not None:
            return io.BytesIO(kept)
        path = self.local_path
        if path is not None:
            return path.open("rb")
        if run.reopen is None:
            raise ItemProblem(ErrorCode.UNREADABLE, "the content was not kept and cannot be reopened")
        return run.reopen()

    def path(self) -> Path:
        path = self.local_path
        if path is not None:
            return path
        if self._temp is None:
            fd, name = tempfile.mkstemp(dir=self._run.env.scratch, suffix=".view")
            with open(fd, "wb") as out, self.open() as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            self._temp = Path(name)
        return self._temp

    def close(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None


class ContentRun:
    """One content through the extractors: ``begin`` with its head, ``feed`` the rest, ``finish``."""

    def __init__(self, extractors: Sequence[Extractor], env: HostEnv, name: str, size: int | None,
                 local_path: Path | None = None, reopen: Callable[[], BinaryIO] | None = None,
                 known: Known | None = None, keep_container: bool = False) -> None:
        self.env, self.name, self.size = env, name, size
        self.local_path, self.reopen = local_path, reopen
        self._extractors = extractors
        self._keep_container = keep_container
        self.out = ContentOutcome()
        self.mime = known.mime if known else None
        self.kind = known.media_kind if known else None
        self.sha256: str | None = None
        self._expect = known.sha256 if known else None
        self._verify = hashlib.sha256() if known and not any(x.reads is Reads.STREAM for x in extractors) else None
        self.head_bytes = b""
        self.phase = Reads.HEAD
        self.complete = False
        self.keep: _Keep | None = None
        self._streams: list[tuple[Extractor, Accumulator]] = []
        self._total = 0

    def _run(self, x: Extractor, body: Callable[[Sink], None]) -> None:
        sink = _Sink(x, self.out, self.env.derived_dir)
        try:
            body(sink)
        except Exception as exc:  # one extractor's failure is this content's error, not the run's
            sink.error(error_of(exc) if not isinstance(exc, ExtractorError) else
                       ItemError(ErrorCode.INTERNAL, f"extractor {x.name}: {exc}"))
        err = sink.error_seen
        self.out.runs.append(ExtractorRun(x.name, x.version, f"{err.code.value}: {err.message}" if err else None))
        if err is not None:
            self.out.error = self.out.error or err

    def _accepted(self, phase: Reads) -> list[Extractor]:
        size = self.size if self.size is not None else (self._total or None)
        return [x for x in self._extractors if x.reads is phase and x.accepts.matches(self.mime, self.kind, size)]

    def begin(self, head: bytes) -> None:
        """The first bytes: the type is decided, and what to keep of the rest."""
        self.head_bytes = head
        view = _View(self)
        for x in self._accepted(Reads.HEAD):
            self._run(x, partial(x.run, view))
            self.mime = self.out.facts.get("mime", self.mime)
            self.kind = self.out.facts.get("media_kind", self.kind)
        self.phase = Reads.STREAM
        self._streams = [(x, x.begin()) for x in self._accepted(Reads.STREAM)]  # type: ignore[attr-defined]
        content = self._accepted(Reads.CONTENT)
        in_memory = any(x.in_memory for x in content)
        container = self._keep_container and self.kind == "archive"  # its members are listed from the kept bytes
        if in_memory or ((content or container) and self.local_path is None):
            memory = self.env.limits.max_image_bytes if in_memory else self.env.limits.spill_memory_bytes
            self.keep = _Keep(memory, self.env.scratch if self.local_path is None else None)
        self.feed(head)

    def feed(self, data: bytes) -> None:
        self._total += len(data)
        for _, acc in self._streams:
            acc.update(data)
        if self._verify is not None:
            self._verify.update(data)
        if self.keep is not None:
            self.keep.write(data)

    def finish(self) -> ContentOutcome:
        """All bytes read: the stream extractors finish, then the content extractors run."""
        self.complete = True
        if self.keep is not None:
            self.keep.done()
        for x, acc in self._streams:
            self._run(x, acc.finish)
        self.sha256 = self.out.facts.get("sha256") or (self._verify.hexdigest() if self._verify else None)
        if self._expect is not None and self.sha256 != self._expect:
            raise ItemProblem(ErrorCode.UNREADABLE, f"bytes read back hash to {self.sha256}, not {self._expect}: "
                                                    "the evidence changed or the locator is wrong")
        self.size = self._total
        self.phase = Reads.CONTENT
        view = _View(self)
        try:
            for x in self._accepted(Reads.CONTENT):
                self._run(x, partial(x.run, view))
        finally:
            view.close()
        return self.out

    def blob(self) -> Blob | None:
        """The content as a container reader's blob (a real file, or the kept bytes)."""
        if self.local_path is not None:
            return PathBlob(self.local_path)
        if self.keep is None:
            return None
        data = self.keep.data()
        return BytesBlob(data) if data is not None else PathBlob(self.keep.path) if self.keep.path else None

    def discard(self) -> None:
        if self.keep is not None:
            self.keep.discard()
