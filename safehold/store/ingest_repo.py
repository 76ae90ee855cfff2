"""Writes ingest results. Idempotent by construction: contents are keyed by SHA-256 and files
by locator hash, both inserted with ON CONFLICT DO NOTHING, so a batch re-run after a crash
stores exactly what an uninterrupted run would."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from safehold.core.records import BatchTask, ContentFacts, FileRecord
from safehold.hashing.vpdq import FRAME_DTYPE, unpack_frames
from safehold.store.artifact_repo import write_findings
from safehold.store.models import Content, FileInstance, IngestBatch, VideoFrame
from safehold.store.upsert import insert_ignore

__all__ = [
    "content_columns",
    "done_batches",
    "finish_batch",
    "frame_rows",
    "insert_ignore",
    "update_content",
    "write_records",
]

_FACTS = tuple(f.name for f in fields(ContentFacts) if f.name not in ("artifacts", "runs"))
_COLUMNS = frozenset(c.name for c in Content.__table__.columns)


def content_columns(facts: dict[str, Any]) -> dict[str, Any]:
    """Column values of ``contents`` for the facts given (an extractor's share of them, or all).

    Camera make, model and serial are copied out of EXIF or the video's metadata, whichever the
    facts hold, so the gallery can filter on them by index."""
    cols = {k: v for k, v in facts.items() if k in _COLUMNS}
    if "exif" in facts or "video_meta" in facts:
        meta = facts.get("exif") or facts.get("video_meta") or {}
        cols["camera_make"], cols["camera_model"] = _clip(meta.get("make")), _clip(meta.get("model"))
        cols["camera_serial"] = _clip(meta.get("body_serial"))
    if "vpdq" in facts:
        v = facts["vpdq"]
        cols["vpdq_frames"] = len(v) // FRAME_DTYPE.itemsize if v else None
    return cols


def _content_row(r: FileRecord) -> dict[str, Any] | None:
    c = r.content
    if c is None:
        return None
    return content_columns({f: getattr(c, f) for f in _FACTS})


def frame_rows(sha256: str, vpdq: bytes | None) -> list[dict[str, Any]]:
    if not vpdq:
        return []
    return [{"sha256": sha256, "frame": int(f["frame"]), "timestamp": int(f["ms"]) / 1000,
             "quality": int(f["quality"]), "pdq": f["pdq"].tobytes()} for f in unpack_frames(vpdq)]


def _frame_rows(r: FileRecord) -> list[dict[str, Any]]:
    return frame_rows(r.content.sha256, r.content.vpdq) if r.content is not None else []


def _clip(v: object) -> str | None:
    return str(v)[:100] if v not in (None, "") else None


def _text(s: str) -> str:
    """Names from evidence may hold undecodable bytes (surrogate escapes) or NULs, which neither
    SQLite nor PostgreSQL text accepts; store them visibly escaped as ``\\xNN``."""
    if "\x00" not in s:
        try:
            s.encode("utf-8")
            return s
        except UnicodeEncodeError:
            pass
    raw = s.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _file_row(evidence_id: int, seq: int, r: FileRecord) -> dict[str, Any]:
    key = _text(r.locator.key())
    return {
        "evidence_id": evidence_id,
        "locator_hash": hashlib.sha256(key.encode()).hexdigest(),
        "locator": key,
        "display": _text(str(r.locator)),
        "parent_sha256": r.parent_sha256,
        "depth": r.depth,
        "name": _text(r.name),
        "path": _text(r.path),
        "size": r.size,
        "sha256": r.content.sha256 if r.content else None,
        "deleted": r.deleted,
        "inode": r.inode,
        "mtime": r.times.modified, "atime": r.times.accessed,
        "ctime": r.times.changed, "crtime": r.times.created,
        "error_code": r.error.code.value if r.error else None,
        "error_message": _text(r.error.message) if r.error else None,
        "batch_seq": seq,
    }


def write_records(session: Session, evidence_id: int, seq: int, records: Iterable[FileRecord]) -> int:
    contents: dict[str, dict[str, Any]] = {}
    frames: dict[str, list[dict[str, Any]]] = {}
    found: dict[str, ContentFacts] = {}
    files = []
    for r in records:
        row = _content_row(r)
        if row is not None and row["sha256"] not in contents:
            contents[row["sha256"]] = row
            assert r.content is not None
            found[row["sha256"]] = r.content
            if r.content.vpdq:
                frames[row["sha256"]] = _frame_rows(r)
        files.append(_file_row(evidence_id, seq, r))
    insert_ignore(session, Content.__table__, list(contents.values()), ["sha256"])  # type: ignore[arg-type]
    for rows in frames.values():
        insert_ignore(session, VideoFrame.__table__, rows, ["sha256", "frame"])  # type: ignore[arg-type]
    insert_ignore(session, FileInstance.__table__, files, ["locator_hash"])  # type: ignore[arg-type]
    write_findings(session, ((sha, c.runs, c.artifacts) for sha, c in found.items()), replace=False)
    return len(files)


def finish_batch(session: Session, task: BatchTask) -> None:
    first = task.entries[0].ref if task.entries else ""
    insert_ignore(session, IngestBatch.__table__, [{  # type: ignore[arg-type]
        "evidence_id": task.evidence_id, "seq": task.seq, "first_ref": first,
        "top_count": len(task.entries), "top_bytes": task.top_bytes,
    }], ["evidence_id", "seq"])


def done_batches(session: Session, evidence_id: int) -> dict[int, tuple[str, int]]:
    rows = session.execute(
        select(IngestBatch.seq, IngestBatch.first_ref, IngestBatch.top_count)
        .where(IngestBatch.evidence_id == evidence_id)
    )
    return {seq: (first, count) for seq, first, count in rows}


def update_content(session: Session, sha256: str, facts: dict[str, Any]) -> None:
    """Re-analysis: overwrite the columns these facts stand for (a video's frames with its vPDQ)."""
    cols = content_columns(facts)
    if cols:
        session.execute(update(Content).where(Content.sha256 == sha256).values(**cols))
    if "vpdq" in facts:
        session.execute(delete(VideoFrame).where(VideoFrame.sha256 == sha256))
        insert_ignore(session, VideoFrame.__table__, frame_rows(sha256, facts["vpdq"]),  # type: ignore[arg-type]
                      ["sha256", "frame"])
