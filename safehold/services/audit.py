"""The append-only, hash-chained audit log: who logged in, viewed, revealed, decided, exported.

Each record stores the previous record's hash and its own SHA-256 over a canonical JSON of all
its fields (sorted keys, no whitespace), so editing any field, inserting or deleting a record
breaks the chain at that point; sequence numbers are contiguous from 1 and the head row names
the last record, so removing records from the end is detected too. ``verify_audit`` recomputes
everything and reports each break.

A chain alone cannot catch someone who rewrites a record *and* recomputes every hash after it.
Anchors can: an anchor is a (sequence number, hash) pair taken when the log was intact. Every
intact verification appends the head to ``<data dir>/audit-anchors.jsonl`` and prints it, for the
auditor to keep outside Safehold as well (in the case file); a later verification checks the
chain still passes through every anchor it is given, from that file and from the command line.

Appending is serialised through the head row: ``audited`` updates it as the first statement of
its transaction, which takes the write lock on SQLite and a row lock on PostgreSQL, so two
processes (the web app and the CLI) never fork the chain. A use case that changes data records
its event in the same transaction, so a decision and its audit record commit together or not at
all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from safehold.core.clock import utcnow
from safehold.services.authz import Authz, require
from safehold.services.context import ServiceContext
from safehold.store.review_models import AuditEvent, AuditHead

__all__ = [
    "GENESIS",
    "Anchor",
    "AuditLog",
    "AuditPage",
    "AuditVerification",
    "anchors_path",
    "audited",
    "export_audit",
    "list_audit",
    "record_event",
    "verify_audit",
]

GENESIS = "0" * 64


def canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fields(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "case_id": e.case_id,
            "target": e.target, "details": e.details, "prev_hash": e.prev_hash}


def event_hash(e: AuditEvent) -> str:
    return hashlib.sha256(canonical(_fields(e)).encode()).hexdigest()


class AuditLog:
    """Appends to the chain inside one transaction that already holds the head row. Every record's
    details name the operating-system user (``os_user``) next to the actor, so call sites need not."""

    def __init__(self, session: Session, seq: int, last_hash: str, os_user: str | None = None) -> None:
        self.session = session
        self._seq = seq
        self._hash = last_hash
        self._os_user = os_user

    def __call__(self, actor: str, action: str, case_id: int | None = None, target: str | None = None,
                 **details: Any) -> int:
        self._seq += 1
        if self._os_user is not None:
            details.setdefault("os_user", self._os_user)
        e = AuditEvent(seq=self._seq, at=utcnow().isoformat(timespec="microseconds"), actor=actor,
                       action=action, case_id=case_id, target=target, details=canonical(details),
                       prev_hash=self._hash)
        e.hash = event_hash(e)
        self.session.add(e)
        self._hash = e.hash
        self.session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=self._seq, hash=self._hash))
        return self._seq


@contextmanager
def audited(ctx: ServiceContext) -> Iterator[AuditLog]:
    """A transaction that may append audit records; ``log.session`` is its session."""
    with ctx.db.session() as s:
        # Take the lock before reading the head (see the module doc).
        locked = s.execute(update(AuditHead).where(AuditHead.id == 1)
                           .values(seq=AuditHead.seq)).rowcount  # type: ignore[attr-defined]
        head = s.get(AuditHead, 1)
        if not locked or head is None:
            raise RuntimeError("the audit log's head record is missing: the log has been tampered with")
        yield AuditLog(s, head.seq, head.hash, ctx.os_user)


def record_event(ctx: ServiceContext, actor: str, action: str, case_id: int | None = None,
                 target: str | None = None, **details: Any) -> int:
    """One event in its own transaction (logins, views, exports)."""
    with audited(ctx) as log:
        return log(actor, action, case_id, target, **details)


@dataclass(frozen=True, slots=True)
class Anchor:
    """The log's head at one moment: record ``seq`` had hash ``hash``."""

    seq: int
    hash: str
    source: str = "given"

    @classmethod
    def parse(cls, text: str, source: str = "given") -> Anchor:
        """``SEQ:HASH``, as ``safehold audit verify`` prints it."""
        seq, sep, h = text.strip().partition(":")
        if not sep or not seq.isdigit() or int(seq) < 1 or len(h) != 64 \
                or any(c not in "0123456789abcdef" for c in h):
            raise ValueError(f"an anchor is SEQ:HASH (a record number and its 64 hex digits), not {text!r}")
        return cls(int(seq), h, source)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def anchors_path(ctx: ServiceContext) -> Path:
    return ctx.settings.data_dir / "audit-anchors.jsonl"


def _stored_anchors(path: Path, problems: list[str]) -> list[Anchor]:
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rec = json.loads(line)
            out.append(Anchor.parse(f"{rec['seq']}:{rec['hash']}", f"{path.name} line {n}"))
        except (ValueError, KeyError, TypeError):
            problems.append(f"{path.name} line {n} is not an anchor (the anchor file was edited)")
    return out


def _store_anchor(path: Path, seq: int, h: str) -> None:
    last = _stored_anchors(path, [])
    if last and last[-1].seq == seq and last[-1].hash == h:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"seq": seq, "hash": h, "at": utcnow().isoformat(timespec="seconds")}) + "\n")


@dataclass(slots=True)
class AuditVerification:
    records: int
    head_seq: int | None
    head_hash: str | None
    problems: list[str] = field(default_factory=list)
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head(self) -> str | None:
        """The head as an anchor to write down (``SEQ:HASH``); None for an empty log."""
        return f"{self.head_seq}:{self.head_hash}" if self.head_seq else None


def _check_anchors(anchors: list[Anchor], seen: dict[int, str], last_seq: int, problems: list[str]) -> None:
    for a in anchors:
        h = seen.get(a.seq)
        if h == a.hash:
            continue
        if h is not None:
            problems.append(f"record {a.seq} no longer has the hash anchored in {a.source} (the log up to it "
                            "was rewritten)")
        elif a.seq > last_seq:
            problems.append(f"{a.source} anchors record {a.seq} but the log ends at {last_seq} (records removed)")
        else:
            problems.append(f"record {a.seq}, anchored in {a.source}, is missing (deleted)")


def verify_audit(ctx: ServiceContext, authz: Authz, anchors: tuple[Anchor, ...] = (),
                 max_problems: int = 100) -> AuditVerification:
    """Recompute the whole chain and check it against the stored anchors and ``anchors``; every
    edited, inserted or deleted record is reported. An intact log's head becomes a new anchor."""
    require(authz.can_read_audit(), "verify the audit log")
    problems: list[str] = []
    path = anchors_path(ctx)
    wanted = [*_stored_anchors(path, problems), *anchors]
    at_seq = {a.seq for a in wanted}
    seen: dict[int, str] = {}
    prev_hash, expected_seq, count = GENESIS, 1, 0
    with ctx.db.session() as s:
        head = s.get(AuditHead, 1)
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=5000))
        for e in rows:
            count += 1
            if e.seq != expected_seq:
                problems.append(f"record {e.seq}: expected sequence number {expected_seq} "
                                f"(records {expected_seq}–{e.seq - 1} deleted, or numbers changed)")
            if e.prev_hash != prev_hash:
                problems.append(f"record {e.seq}: previous-hash link broken (a record before it was "
                                "edited, inserted or deleted)")
            if event_hash(e) != e.hash:
                problems.append(f"record {e.seq}: contents do not match its hash (edited)")
            if e.seq in at_seq:
                seen[e.seq] = e.hash
            prev_hash, expected_seq = e.hash, e.seq + 1
            if len(problems) >= max_problems:
                problems.append("… stopped after too many problems")
                break
        if len(problems) < max_problems:
            _check_anchors(wanted, seen, expected_seq - 1, problems)
        if head is None:
            problems.append("the head record is missing (deleted)")
            return AuditVerification(count, None, None, problems, len(wanted))
        if len(problems) < max_problems:
            if head.seq != expected_seq - 1:
                problems.append(f"the head names record {head.seq} but the log ends at {expected_seq - 1} "
                                "(records removed from the end, or the head edited)")
            elif head.hash != prev_hash:
                problems.append("the head's hash does not match the last record (the end was rewritten)")
        result = AuditVerification(count, head.seq, head.hash, problems, len(wanted))
    if result.ok and result.head_seq:
        _store_anchor(path, result.head_seq, prev_hash)
    return result


@dataclass(slots=True)
class AuditPage:
    events: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def _event_dict(e: AuditEvent) -> dict[str, Any]:
    return {**_fields(e), "details": json.loads(e.details), "hash": e.hash}


def _filtered(actor: str | None, action: str | None, case_id: int | None) -> Any:
    q = select(AuditEvent)
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if action:
        q = q.where(AuditEvent.action == action)
    if case_id is not None:
        q = q.where(AuditEvent.case_id == case_id)
    return q


def list_audit(ctx: ServiceContext, authz: Authz, actor: str | None = None, action: str | None = None,
               case_id: int | None = None, offset: int = 0, limit: int = 100) -> AuditPage:
    """Newest first. Reading the log is not itself logged; exporting it is."""
    require(authz.can_read_audit(), "read the audit log")
    limit = max(1, min(limit, 1000))
    q = _filtered(actor, action, case_id)
    with ctx.db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(AuditEvent.seq.desc()).offset(max(0, offset)).limit(limit))
        return AuditPage([_event_dict(e) for e in rows], total, offset, limit)


def export_audit(ctx: ServiceContext, authz: Authz, out: TextIO) -> int:
    """Every record as JSON lines, oldest first, with hashes (verifiable elsewhere); logged first,
    so the export contains its own record."""
    require(authz.can_read_audit(), "export the audit log")
    record_event(ctx, authz.actor, "export-audit")
    n = 0
    with ctx.db.session() as s:
        for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=5000)):
            out.write(json.dumps(_event_dict(e), ensure_ascii=False) + "\n")
            n += 1
    return n
