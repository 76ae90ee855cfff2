"""Writes and reads the extractor ledger and artifacts.

Idempotent like the file writes: ledger lines are keyed by (content, extractor), artifacts by a
SHA-256 over everything that identifies them, so a batch re-done after a kill stores exactly what
an uninterrupted run would. ``analyse`` passes ``replace=True``: a newer version of an extractor
supersedes the older one's ledger line and artifacts for that content in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select, tuple_
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.core.records import ArtifactRecord, ExtractorRun
from safehold.store.artifact_models import Artifact, ExtractorLedger
from safehold.store.upsert import insert_ignore

__all__ = ["artifact_key", "ledger_versions", "write_findings"]

Findings = tuple[str, Sequence[ExtractorRun], Sequence[ArtifactRecord]]


def artifact_key(sha256: str, a: ArtifactRecord) -> str:
    ident = [sha256, a.extractor, a.version, a.kind, a.value, a.offset, a.where]
    return hashlib.sha256(json.dumps(ident, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def _artifact_row(sha256: str, a: ArtifactRecord) -> dict[str, Any]:
    return {"key": artifact_key(sha256, a), "sha256": sha256, "extractor": a.extractor, "version": a.version,
            "kind": a.kind, "value": a.value, "offset": a.offset, "place": a.where, "data": a.data}


def write_findings(session: Session, findings: Iterable[Findings], replace: bool) -> None:
    """Ledger lines and artifacts of many contents, in the caller's transaction."""
    ledger: dict[tuple[str, str], tuple[int, str | None]] = {}
    artifacts: dict[str, dict[str, Any]] = {}
    for sha256, runs, found in findings:
        for run in runs:
            ledger[(sha256, run.extractor)] = (run.version, run.error)
        for a in found:
            row = _artifact_row(sha256, a)
            artifacts[row["key"]] = row
    if replace and ledger:
        keys = list(ledger)
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            session.execute(delete(ExtractorLedger).where(
                tuple_(ExtractorLedger.sha256, ExtractorLedger.extractor).in_(part)))
            session.execute(delete(Artifact).where(or_(*(
                and_(Artifact.sha256 == sha, Artifact.extractor == name) for sha, name in part))))
    _insert_ledger(session, ledger)
    insert_ignore(session, Artifact.__table__, list(artifacts.values()), ["key"])  # type: ignore[arg-type]


def _insert_ledger(session: Session, ledger: dict[tuple[str, str], tuple[int, str | None]]) -> None:
    """Straight to the driver: two or three lines per file at ingest, where building a statement's
    parameters row by row cost as much as the database's own work."""
    if not ledger:
        return
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        now_value: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DateTime text in SQLite (UTC)
    else:
        now_value = now
    rows = [(sha, name, version, error, now_value) for (sha, name), (version, error) in ledger.items()]
    session.connection().exec_driver_sql(
        "INSERT INTO extractor_runs (sha256, extractor, version, error, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (sha256, extractor) DO NOTHING" if session.get_bind().dialect.name == "sqlite" else
        "INSERT INTO extractor_runs (sha256, extractor, version, error, at) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (sha256, extractor) DO NOTHING", rows)


def ledger_versions(session: Session, sha256s: Sequence[str]) -> dict[tuple[str, str], int]:
    """(content, extractor) -> the version that last ran, for these contents."""
    out: dict[tuple[str, str], int] = {}
    for i in range(0, len(sha256s), 500):
        rows = session.execute(select(ExtractorLedger.sha256, ExtractorLedger.extractor, ExtractorLedger.version)
                               .where(ExtractorLedger.sha256.in_(sha256s[i:i + 500])))
        out.update({(sha, name): version for sha, name, version in rows})
    return out
