"""Read a content's bytes again from the evidence, through its locator chain, read-only.

The review screen needs pixels that ingest did not keep (Safehold stores hashes and facts, never
copies of evidence). A file instance's locator says exactly where its bytes are:
``evidence:7 / fs:/Downloads/holiday.zip / zip:photos/a.jpg``. The first segments are the
evidence source's (a folder path, a disk image's partition and file-system path); the rest are
container members, each opened with the reader its scheme names, as ingest did.

The bytes are checked against the content's SHA-256 before use: evidence that changed on disk,
or a locator that now resolves to something else, yields nothing rather than a wrong picture.
Disk-image files are found by walking the image again (their TSK addresses are not stored);
the walk is cached per evidence item in ``RefCache``, which the web app holds for its lifetime.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from sqlalchemy import select

from safehold.core.errors import ItemProblem
from safehold.core.locator import Locator
from safehold.services.context import ServiceContext
from safehold.sources.base import Blob, EvidenceSource
from safehold.sources.blobs import BytesBlob, PathBlob
from safehold.sources.chain import split_locator
from safehold.sources.factory import open_source
from safehold.sources.registry import reader_named
from safehold.store.models import EvidenceItem, FileInstance

__all__ = ["RefCache", "content_file", "read_content"]

_CHUNK = 1 << 20
_TopKey = tuple[tuple[str, str], ...]
_T = TypeVar("_T")


class RefCache:
    """Per evidence item, the walk of a source whose refs cannot be derived from the locator."""

    def __init__(self, items: int = 4) -> None:
        self._items = items
        self._refs: OrderedDict[int, dict[_TopKey, str]] = OrderedDict()
        self._lock = threading.Lock()

    def refs(self, evidence_id: int, source: EvidenceSource) -> dict[_TopKey, str]:
        with self._lock:
            if evidence_id in self._refs:
                self._refs.move_to_end(evidence_id)
                return self._refs[evidence_id]
        walked = {(*e.prefix, (e.scheme, e.path)): e.ref for e in source.enumerate() if e.error is None}
        with self._lock:
            self._refs[evidence_id] = walked
            while len(self._refs) > self._items:
                self._refs.popitem(last=False)
        return walked


def _read(stream_open: Callable[[], BinaryIO], limit: int) -> bytes | None:
    with stream_open() as f:
        data: bytes = f.read(limit + 1)
    return None if len(data) > limit else data


def _blob(data: bytes, spill_at: int, scratch: Path) -> Blob:
    if len(data) <= spill_at:
        return BytesBlob(data)
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "container.bin"
    path.write_bytes(data)
    return PathBlob(path)


def _open_chain(ctx: ServiceContext, refs: RefCache, item: EvidenceItem, loc: Locator, limit: int,
                scratch: Path, use: Callable[[Callable[[], BinaryIO], Path | None], _T]) -> _T | None:
    """Follow the locator to its leaf and hand ``use`` an opener for it (and its real path when
    the leaf is a file of a folder or disk source with one). Containers on the way are held in
    memory up to ``limit`` (spilled past ``spill_memory_bytes``); the leaf itself is streamed."""
    source = open_source(item.source_kind, Path(item.source_path))
    top, members = split_locator(loc)
    if not top:
        return None
    leaf = top[-1]
    if item.source_kind in ("folder", "file") and len(top) == 1:
        ref: str | None = leaf.value.lstrip("/")
    else:
        ref = refs.refs(item.id, source).get(tuple((s.scheme, s.value) for s in top))
    if ref is None:
        return None
    top_ref: str = ref
    local = source.local_path(top_ref)
    if not members:
        return use(lambda: source.open_ref(top_ref), local)
    blob: Blob | None = PathBlob(local) if local is not None else None
    data = None if blob is not None else _read(lambda: source.open_ref(top_ref), limit)
    name = leaf.value.rsplit("/", 1)[-1]
    for i, seg in enumerate(members):
        if blob is None:
            if data is None:
                return None
            blob = _blob(data, ctx.settings.limits.spill_memory_bytes, scratch / str(i))
        reader = reader_named(seg.scheme, name)
        if reader is None:
            return None
        (scratch / f"r{i}").mkdir(parents=True, exist_ok=True)
        data = None
        last = i == len(members) - 1
        for m in reader.members(blob, ctx.settings.limits, scratch / f"r{i}"):
            if m.path == seg.value:
                if last:
                    return use(m.open, None)
                data = _read(m.open, limit)
                break
        blob, name = None, seg.value.rsplit("/", 1)[-1]
    return None


def _instances(ctx: ServiceContext, case_id: int, sha256: str) -> list[tuple[str, EvidenceItem]]:
    with ctx.db.session() as s:
        return [(key, item) for key, item in s.execute(
            select(FileInstance.locator, EvidenceItem)
            .join(EvidenceItem, EvidenceItem.id == FileInstance.evidence_id)
            .where(EvidenceItem.case_id == case_id, FileInstance.sha256 == sha256, FileInstance.error_code.is_(None))
            .order_by(FileInstance.depth, FileInstance.id).limit(5)
        ).all()]


def _each_instance(ctx: ServiceContext, refs: RefCache, case_id: int, sha256: str, limit: int,
                   use: Callable[[Callable[[], BinaryIO], Path | None], _T]) -> _T | None:
    """``use``'s answer for the first instance of the content that yields one (at most five tried)."""
    ctx.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    for key, item in _instances(ctx, case_id, sha256):
        scratch = Path(tempfile.mkdtemp(dir=ctx.settings.tmp_dir, prefix="reopen-"))
        try:
            out = _open_chain(ctx, refs, item, Locator.from_key(key), limit, scratch, use)
        except (ItemProblem, OSError, ValueError, RuntimeError):
            out = None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if out is not None:
            return out
    return None


def read_content(ctx: ServiceContext, refs: RefCache, case_id: int, sha256: str, limit: int) -> bytes | None:
    """The bytes of ``sha256`` from one of its instances in the case, verified; None if none can be
    read (evidence moved, damaged, or larger than ``limit``). Callers check access first."""

    def use(opener: Callable[[], BinaryIO], _local: Path | None) -> bytes | None:
        data = _read(opener, limit)
        return data if data is not None and hashlib.sha256(data).hexdigest() == sha256 else None

    return _each_instance(ctx, refs, case_id, sha256, limit, use)


def _copy_hashing(src: BinaryIO, dest: BinaryIO | None) -> str:
    h = hashlib.sha256()
    while chunk := src.read(_CHUNK):
        h.update(chunk)
        if dest is not None:
            dest.write(chunk)
    return h.hexdigest()


def content_file(ctx: ServiceContext, refs: RefCache, case_id: int, sha256: str, spool: Path) -> Path | None:
    """A file holding exactly the bytes of ``sha256``, verified, for ranged streaming: the evidence
    file itself when it is a plain file on disk (opened read-only, never copied), else a copy
    streamed out of its containers into ``spool`` (which the caller owns and deletes). None if no
    instance can be read. Callers check access first."""
    limit = ctx.settings.limits.max_image_bytes  # for containers on the way only; the leaf is streamed

    def use(opener: Callable[[], BinaryIO], local: Path | None) -> Path | None:
        with opener() as src:
            if local is not None:
                return local if _copy_hashing(src, None) == sha256 else None
            spool.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                digest = _copy_hashing(src, out)
        if digest == sha256:
            return spool
        spool.unlink(missing_ok=True)
        return None

    return _each_instance(ctx, refs, case_id, sha256, limit, use)
