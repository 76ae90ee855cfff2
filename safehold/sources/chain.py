"""Reach recorded files again through their locator chains, many at a time, read-only.

``analyse`` runs new extractors over contents ingested long ago: it knows each content's locator
(``evidence:7 / partition:2 / fs:/Users/a/x.zip / zip:photos/a.jpg``) and needs its bytes. The
first segments after ``evidence:N`` are the evidence source's (a folder path, a disk image's
partition and file-system path); the rest are container members, each opened with the reader
that its scheme names, as ingest did. Wanted files are gathered into a tree by their chain so each
container on the way is opened and listed once however many of its members are wanted (a zip of
10,000 photos is read once, not 10,000 times). Disk images are walked once to find their files'
refs (TSK addresses are not stored).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

from safehold.core.errors import ErrorCode, ItemError, ItemProblem
from safehold.core.locator import Locator, Segment
from safehold.core.settings import Limits
from safehold.sources.base import Blob, EvidenceSource
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.registry import reader_named

__all__ = ["Reached", "reach_all", "split_locator"]

T = TypeVar("T")
Reached = Callable[[T, Callable[[], BinaryIO], Path | None, str], None]
Failed = Callable[[T, ItemError], None]


def split_locator(loc: Locator) -> tuple[list[Segment], list[Segment]]:
    """Source segments (after ``evidence:N``) and container-member segments."""
    segs = list(loc.segments[1:])
    for i in range(1, len(segs)):
        if reader_named(segs[i].scheme) is not None:
            return segs[:i], segs[i:]
    return segs, []


@dataclass(slots=True)
class _Node(Generic[T]):
    items: list[T] = field(default_factory=list)  # wanted at exactly this place
    children: dict[Segment, _Node[T]] = field(default_factory=dict)

    def count(self) -> int:
        return len(self.items) + sum(c.count() for c in self.children.values())

    def all_items(self) -> list[T]:
        return self.items + [i for c in self.children.values() for i in c.all_items()]


def _source_refs(source: EvidenceSource, kind: str, tops: list[tuple[Segment, ...]]) -> dict[tuple[Segment, ...], str]:
    """The ref of each wanted top-level file; folders and single files derive it from the path."""
    if kind in ("folder", "file"):
        return {t: t[-1].value.lstrip("/") for t in tops if len(t) == 1}
    wanted = set(tops)
    refs: dict[tuple[Segment, ...], str] = {}
    for e in source.enumerate():
        key = (*(Segment(s, v) for s, v in e.prefix), Segment(e.scheme, e.path))
        if key in wanted and e.error is None:
            refs[key] = e.ref
    return refs


def _container_blob(opener: Callable[[], BinaryIO], local: Path | None, limits: Limits, scratch: Path) -> Blob:
    """A container's bytes as a reader's blob: its real file, memory, or a private scratch copy."""
    if local is not None:
        return PathBlob(local)
    with opener() as f:
        data = f.read(limits.spill_memory_bytes + 1)
        if len(data) <= limits.spill_memory_bytes:
            return BytesBlob(data)
        fd, name = tempfile.mkstemp(dir=scratch, suffix=".container")
        total = len(data)
        with open(fd, "wb") as out:
            out.write(data)
            while chunk := f.read(1 << 20):
                total += len(chunk)
                if total > limits.max_archive_total_bytes:
                    raise ItemProblem(ErrorCode.BOMB, "container larger than max_archive_total_bytes")
                out.write(chunk)
    return PathBlob(Path(name))


def _visit(node: _Node[T], opener: Callable[[], BinaryIO], local: Path | None, name: str, limits: Limits,
           scratch: Path, reached: Reached[T], failed: Failed[T]) -> None:
    for item in node.items:
        reached(item, opener, local, name)
    if not node.children:
        return
    work = Path(tempfile.mkdtemp(dir=scratch, prefix="chain-"))
    pending = dict(node.children)
    try:
        blob = _container_blob(opener, local, limits, work)
        by_scheme: dict[str, dict[str, tuple[Segment, _Node[T]]]] = {}
        for seg, child in pending.items():
            by_scheme.setdefault(seg.scheme, {})[seg.value] = (seg, child)
        for scheme, members in by_scheme.items():
            reader = reader_named(scheme, name)
            if reader is None:
                continue
            for m in reader.members(blob, limits, work):
                hit = members.get(m.path)
                if hit is None:
                    continue
                seg, child = hit
                del pending[seg]
                _visit(child, m.open, None, m.path.rsplit("/", 1)[-1], limits, work, reached, failed)
                if not any(s.scheme == scheme for s in pending):
                    break
    except Exception as exc:  # this container is unusable now: what was reached is kept
        err = exc.error if isinstance(exc, ItemProblem) else ItemError(
            ErrorCode.UNREADABLE, f"{type(exc).__name__}: {exc}")
        for child in pending.values():
            for item in child.all_items():
                failed(item, ItemError(err.code, f"container {name!r} could not be read again: {err.message}"))
        pending = {}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for seg, child in pending.items():
        for item in child.all_items():
            failed(item, ItemError(ErrorCode.UNREADABLE, f"member {seg} no longer found in {name!r}"))


def reach_all(source: EvidenceSource, kind: str, wanted: list[tuple[Locator, T]], limits: Limits,
              scratch: Path, reached: Reached[T], failed: Failed[T]) -> None:
    """Call ``reached(item, opener, real_path_or_None, name)`` for every wanted file that can be
    reached again, ``failed(item, error)`` for every other; each container is listed once."""
    tops: dict[tuple[Segment, ...], _Node[T]] = {}
    for loc, item in wanted:
        top, members = split_locator(loc)
        node = tops.setdefault(tuple(top), _Node())
        for seg in members:
            node = node.children.setdefault(seg, _Node())
        node.items.append(item)
    refs = _source_refs(source, kind, [t for t in tops if t])
    for top_key, node in tops.items():
        ref = refs.get(top_key)
        if ref is None:
            for item in node.all_items():
                failed(item, ItemError(ErrorCode.UNREADABLE, "file no longer found in the evidence"))
            continue
        try:
            local = source.local_path(ref)
        except ItemProblem:
            local = None
        name = top_key[-1].value.rsplit("/", 1)[-1] if top_key else ""
        _visit(node, lambda ref=ref: source.open_ref(ref), local, name,  # type: ignore[misc]
               limits, scratch, reached, failed)
