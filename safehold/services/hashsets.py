"""Hash-set use cases: import (or replace) a list with provenance, list, show, remove.

Lists are not case material, but they decide what every case flags: investigators and admins (and
the local operator) manage them, every case role may read them (``Authz.can_manage_hashsets``,
``can_read_hashsets``); auditors need neither.
An import, a replacement, an import that failed and a removal are audited, each in the
transaction that makes the change.

Imports stream the list into ``hash_entries`` in short transactions; the new version becomes
current only once it has fully loaded, so an interrupted import leaves the previous one in
place (its partial rows are purged, then or at the next import of that set).

Sized for NSRL (~100M+ rows):

* Readers with a bulk path (``ColumnReader``: the NSRL readers) hand over checked columns, turned
  into rows without per-row Python. Those lists repeat a file's hashes once per product that
  ships it (RDS v3 minimal: ~441M FILE rows, ~74M distinct SHA-256s); the import keeps the first
  row of each (md5, sha1, sha256) and counts the rest as ``duplicates`` (rows are told apart by
  a 64-bit key of their hashes: two distinct NSRL files merge with probability ~1 in 7,000 over
  74M of them, which costs one known-good file its label). Otherwise every
  matching content would get one match row per product, and the table would be 6 times larger.
  Other lists keep every row (two rows of one hash may carry different categories).
* A load that is big next to the table (``BULK_MIN_ROWS``, ``BULK_TABLE_SHARE``: the new rows plus
  the replaced version's) drops the MD5/SHA-1/SHA-256 indexes, appends, purges the old version and
  builds the indexes again in one sort each; the indexes exist again before the import returns,
  and matching re-creates any that an interrupted import left missing.
* The version diff compares 64-bit entry keys in memory (``hashset_repo.entry_keys``); the old
  version's rows are purged by id ranges in short transactions.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from safehold.core.clock import utcnow
from safehold.core.errors import NotFoundError, SafeholdError
from safehold.formats.hashsets.base import BadRow, HashListReader, HashRecord
from safehold.formats.hashsets.nsrl import ColumnReader, HashColumns
from safehold.formats.hashsets.registry import detect_format, reader_by_name
from safehold.services.audit import audited
from safehold.services.authz import Authz, require
from safehold.services.context import ServiceContext
from safehold.store.hashset_models import SET_KINDS, HashSet, HashSetImport, Match
from safehold.store.hashset_repo import (
    EntryWriter,
    KeySet,
    analyze,
    build_hash_indexes,
    bulk_loading,
    bump_generation,
    count_diff,
    drop_hash_indexes,
    purge_entries,
    stored_keys,
    table_rows,
)

__all__ = ["ImportReport", "SetPublic", "get_set", "import_hashset", "list_sets", "remove_set"]

LOAD_BATCH = 20_000  # rows per COPY / executemany
COMMIT_ROWS = 200_000  # rows per transaction
BAD_SAMPLES = 100
BULK_MIN_ROWS = 1_000_000
BULK_TABLE_SHARE = 0.25
_BYTES_PER_ROW = 64  # size hint for readers without one (a VICS record is far bigger: an overestimate)


@dataclass(slots=True)
class ImportReport:
    set_id: int
    name: str
    format: str
    entries: int
    bad_rows: int
    bad_samples: list[dict[str, str]]
    replaced: bool
    added: int | None
    removed: int | None
    file_sha256: str
    duplicates: int = 0  # rows of a ColumnReader list left out as repeats of an earlier row


@dataclass(slots=True)
class SetPublic:
    id: int
    name: str
    kind: str
    format: str
    source: str | None
    version: str | None
    set_date: str | None
    licence: str | None
    category_scheme: str | None
    pdq_threshold: int
    entries: int
    created_at: str
    history: list[dict[str, Any]] = field(default_factory=list)


def _sha256(path: Path, stop: threading.Event | None = None) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with path.open("rb") as f:
        while (chunk := f.read(1 << 20)) and not (stop and stop.is_set()):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _public(hs: HashSet, history: list[HashSetImport] | None = None) -> SetPublic:
    return SetPublic(
        hs.id, hs.name, hs.kind, hs.format, hs.source, hs.version, hs.set_date, hs.licence,
        hs.category_scheme, hs.pdq_threshold, hs.entry_count, hs.created_at.isoformat(),
        [{"import_id": i.id, "status": i.status, "started_at": i.started_at.isoformat(),
          "finished_at": i.finished_at.isoformat() if i.finished_at else None, "actor": i.actor,
          "file_name": i.file_name, "file_sha256": i.file_sha256, "format": i.format,
          "version": i.version, "entries": i.entries, "added": i.added, "removed": i.removed,
          "bad_rows": i.bad_rows, "bad_samples": i.bad_samples[:20]}
         for i in history or []],
    )


@dataclass(slots=True)
class _Loaded:
    entries: int = 0
    bad: int = 0
    duplicates: int = 0
    samples: list[dict[str, str]] = field(default_factory=list)
    keys: KeySet = field(default_factory=KeySet)


def _record_batches(reader: HashListReader, path: Path) -> Iterator[list[HashRecord] | BadRow]:
    batch: list[HashRecord] = []
    for item in reader.read(path):
        if isinstance(item, BadRow):
            yield item
            continue
        batch.append(item)
        if len(batch) >= LOAD_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _load(ctx: ServiceContext, reader: HashListReader, path: Path, set_id: int, import_id: int,
          scheme: str | None, expected: int, on_progress: Callable[[int, int], None] | None) -> _Loaded:
    """Stream the list into ``hash_entries`` under ``import_id``; keys of what was stored kept for the diff."""
    # Sized for the hint but at most 16M keys (128 MiB) up front: NSRL's 441M rows hold ~74M
    # distinct files, and the set grows by doubling if a list needs more.
    out = _Loaded(keys=KeySet(min(expected, 16_000_000)))
    items: Iterator[Any] = (reader.read_columns(path) if isinstance(reader, ColumnReader)
                            else _record_batches(reader, path))
    writer = EntryWriter(set_id, import_id, scheme, out.keys)
    with ctx.db.engine.connect() as conn, bulk_loading(conn):
        tx = conn.begin()
        in_tx = 0
        for item in items:
            if isinstance(item, BadRow):
                out.bad += 1
                if len(out.samples) < BAD_SAMPLES:
                    out.samples.append({"position": item.position, "reason": item.reason})
                continue
            if not len(item):
                continue
            if isinstance(item, HashColumns):
                stored = writer.columns(conn, item)
                out.duplicates += len(item) - stored
            else:
                stored = writer.records(conn, item)
            out.entries += stored
            in_tx += stored
            if in_tx >= COMMIT_ROWS:  # short transactions: a 100M-row list never sits in one
                tx.commit()
                tx = conn.begin()
                in_tx = 0
            if on_progress:
                on_progress(out.entries, out.bad)
        tx.commit()
    if on_progress:
        on_progress(out.entries, out.bad)
    return out


def _abandon(ctx: ServiceContext, actor: str, name: str, import_id: int) -> None:
    """After a failed or interrupted load: mark it, drop its rows, put any dropped index back."""
    with audited(ctx) as log:
        imp = log.session.get(HashSetImport, import_id)
        if imp is not None and imp.status == "loading":
            imp.status, imp.finished_at = "failed", utcnow()
            log(actor, "hashset-import-failed", None, f"hashset:{name}", import_id=import_id, file=imp.file_name)
    purge_entries(ctx.db.engine, import_id)
    build_hash_indexes(ctx.db.engine)


def import_hashset(
    ctx: ServiceContext,
    authz: Authz,
    path: Path,
    name: str,
    kind: str,
    fmt: str = "auto",
    source: str | None = None,
    version: str | None = None,
    set_date: str | None = None,
    licence: str | None = None,
    pdq_threshold: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Stream a list into the store. A set that exists is replaced by the new version once it has
    fully loaded, and the import records the diff; bad rows are skipped and reported."""
    require(authz.can_manage_hashsets(), "import hash sets")
    if kind not in SET_KINDS:
        raise SafeholdError(f"kind must be one of {', '.join(SET_KINDS)}")
    if pdq_threshold is not None and not 0 <= pdq_threshold <= 128:
        raise SafeholdError("PDQ threshold must be between 0 and 128")
    if not path.is_file():
        raise SafeholdError(f"{path} is not a file")
    reader: HashListReader = detect_format(path) if fmt == "auto" else reader_by_name(fmt)
    meta = reader.metadata(path)
    size = path.stat().st_size
    expected = reader.size_hint(path) if isinstance(reader, ColumnReader) else size // _BYTES_PER_ROW
    engine = ctx.db.engine

    build_hash_indexes(engine)  # an earlier import killed mid-way may have left them dropped
    with ctx.db.session() as s:
        hs = s.scalar(select(HashSet).where(HashSet.name == name))
        if hs is None:
            hs = HashSet(name=name, kind=kind, format=reader.name, pdq_threshold=pdq_threshold or 31)
            s.add(hs)
            s.flush()
        elif hs.kind != kind:
            raise SafeholdError(f"set {name!r} is {hs.kind}; a list cannot change kind (use another name)")
        stale = list(s.scalars(select(HashSetImport).where(HashSetImport.set_id == hs.id,
                                                           HashSetImport.id != hs.current_import_id)
                               if hs.current_import_id is not None else
                               select(HashSetImport).where(HashSetImport.set_id == hs.id)))
        for imp in stale:
            if imp.status == "loading":  # interrupted: its rows never became current
                imp.status = "failed"
        imp = HashSetImport(set_id=hs.id, actor=authz.actor, file_name=path.name, file_sha256="",
                            file_size=size, format=reader.name, version=version or meta.version)
        s.add(imp)
        s.flush()
        set_id, import_id, old_import, old_entries = hs.id, imp.id, hs.current_import_id, hs.entry_count
        stale_ids = [i.id for i in stale]
    # The file's SHA-256 (provenance) is a full read of a file of up to ~100 GB: computed on a
    # thread while the load runs (hashlib releases the GIL), stored when the version is swapped in.
    stop = threading.Event()
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashset-sha256")
    digest_job = hashing.submit(_sha256, path, stop)
    hashing.shutdown(wait=False)
    scheme = meta.category_scheme
    try:
        for stale_id in stale_ids:  # rows an interrupted import or removal left behind
            purge_entries(engine, stale_id)
        with engine.connect() as conn:
            churn = expected + (old_entries or 0)
            bulk = churn >= BULK_MIN_ROWS and churn >= BULK_TABLE_SHARE * table_rows(conn)
        if bulk:
            with engine.begin() as conn:
                drop_hash_indexes(conn)
        loaded = _load(ctx, reader, path, set_id, import_id, scheme, expected, on_progress)
        digest, size = digest_job.result()
        added = removed = None
        if old_import is not None:
            with engine.connect() as conn:
                old_keys = stored_keys(conn, old_import)
            added, removed = count_diff(loaded.keys.sorted(), old_keys)
            del old_keys
        with audited(ctx) as log:
            s = log.session
            hs = s.get(HashSet, set_id)
            new = s.get(HashSetImport, import_id)
            assert hs is not None and new is not None
            if old_import is not None:
                old = s.get(HashSetImport, old_import)
                if old is not None:
                    old.status = "replaced"
                s.execute(delete(Match).where(Match.set_id == set_id))  # re-matched against the new version
            new.status, new.finished_at = "current", utcnow()
            new.entries, new.bad_rows, new.bad_samples = loaded.entries, loaded.bad, loaded.samples
            new.added, new.removed = added, removed
            new.file_sha256, new.file_size = digest, size
            hs.current_import_id, hs.entry_count, hs.format = import_id, loaded.entries, reader.name
            hs.version = version or meta.version or hs.version
            hs.source = source or hs.source
            hs.set_date = set_date or hs.set_date
            hs.licence = licence or hs.licence
            hs.category_scheme = scheme or hs.category_scheme
            if pdq_threshold is not None:
                hs.pdq_threshold = pdq_threshold
            bump_generation(s)
            log(authz.actor, "hashset-replace" if old_import is not None else "hashset-import", None,
                f"hashset:{name}", set_id=set_id, import_id=import_id, kind=kind, format=reader.name,
                file=path.name, file_sha256=digest, entries=loaded.entries, bad_rows=loaded.bad,
                added=added, removed=removed, version=hs.version, source=hs.source)
    except BaseException:
        stop.set()
        _abandon(ctx, authz.actor, name, import_id)
        raise
    loaded.keys = KeySet()  # free the key table before the index builds
    if old_import is not None:
        purge_entries(engine, old_import)  # no longer current: nothing reads it, stopping half-way is harmless
    build_hash_indexes(engine)
    with ctx.db.session() as s:
        analyze(s)
    return ImportReport(set_id, name, reader.name, loaded.entries, loaded.bad, loaded.samples,
                        old_import is not None, added, removed, digest, loaded.duplicates)


def _resolve(s: Any, ref: str | int) -> HashSet:
    hs = s.get(HashSet, int(ref)) if str(ref).isdigit() else None
    hs = hs or s.scalar(select(HashSet).where(HashSet.name == str(ref)))
    if hs is None:
        raise NotFoundError(f"no hash set {ref!r}")
    return hs  # type: ignore[no-any-return]


def list_sets(ctx: ServiceContext, authz: Authz) -> list[SetPublic]:
    require(authz.can_read_hashsets(), "see hash sets")
    with ctx.db.session() as s:
        return [_public(h) for h in s.scalars(select(HashSet).order_by(HashSet.id))]


def get_set(ctx: ServiceContext, authz: Authz, ref: str | int) -> SetPublic:
    require(authz.can_read_hashsets(), "see hash sets")
    with ctx.db.session() as s:
        hs = _resolve(s, ref)
        history = list(s.scalars(select(HashSetImport).where(HashSetImport.set_id == hs.id)
                                 .order_by(HashSetImport.id)))
        return _public(hs, history)


def remove_set(ctx: ServiceContext, authz: Authz, ref: str | int) -> SetPublic:
    """Delete a set, its entries and its matches (the import history goes with it).

    The set is first emptied (no current version, its matches gone) in one transaction, then
    its rows are purged in short ones, then the set and its history go; a removal stopped
    half-way leaves an empty set that removing again finishes; the audit record goes with the first step."""
    require(authz.can_manage_hashsets(), "remove hash sets")
    with audited(ctx) as log:
        s = log.session
        hs = _resolve(s, ref)
        pub = _public(hs)
        set_id = hs.id
        hs.current_import_id, hs.entry_count = None, 0
        s.execute(delete(Match).where(Match.set_id == set_id))
        import_ids = list(s.scalars(select(HashSetImport.id).where(HashSetImport.set_id == set_id)))
        bump_generation(s)
        log(authz.actor, "hashset-remove", None, f"hashset:{pub.name}", set_id=set_id, kind=pub.kind,
            entries=pub.entries, version=pub.version)
    for import_id in import_ids:
        purge_entries(ctx.db.engine, import_id)
    with ctx.db.session() as s:
        s.execute(delete(HashSetImport).where(HashSetImport.set_id == set_id))
        s.execute(delete(HashSet).where(HashSet.id == set_id))
    return pub
