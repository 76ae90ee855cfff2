"""Tables for reviewing in the browser: accounts, sessions, decisions, reveals and the audit log.

Decisions are per content per case (the same bytes can be decided differently in two
investigations). The audit log is append-only and hash-chained: each row stores the previous
row's hash and its own hash over a canonical JSON of its fields; ``AuditHead`` holds the last
sequence number and hash, so cutting records off the end is detected too. ``at`` and
``details`` are kept as the exact text that was hashed, so no driver's round trip of dates or
JSON can change what verification recomputes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safehold.core.clock import utcnow
from safehold.store.models import Base

__all__ = [
    "AuditEvent",
    "AuditHead",
    "CaseMember",
    "CaseReviewSettings",
    "ClusterState",
    "ContentCluster",
    "GalleryRow",
    "GalleryState",
    "Note",
    "Reveal",
    "Review",
    "Tag",
    "User",
    "WebSession",
]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(20))  # admin | investigator | reviewer | auditor
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    grayscale: Mapped[bool] = mapped_column(Boolean, default=False)  # previews in grey as well as blurred
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseMember(Base):
    __tablename__ = "case_members"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a copy of the
    database cannot be replayed as a cookie; ``revoked_at`` ends it server-side (logout)."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    client: Mapped[str | None] = mapped_column(String(100))


class CaseReviewSettings(Base):
    __tablename__ = "case_review_settings"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    category_scheme: Mapped[str] = mapped_column(String(40), default="vics-2.0-us")
    two_person: Mapped[bool] = mapped_column(Boolean, default=False)


class Review(Base):
    """The case's current decision on one content. With two-person confirmation a decision is
    ``pending`` until a second user confirms it; the history of decisions is in the audit log."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("case_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256"), index=True)
    category_scheme: Mapped[str] = mapped_column(String(40))
    category_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))  # pending | confirmed
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    via_cluster: Mapped[bool] = mapped_column(Boolean, default=False)


class Note(Base):
    __tablename__ = "review_notes"
    __table_args__ = (Index("ix_review_notes_case_sha", "case_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tag(Base):
    __tablename__ = "review_tags"
    __table_args__ = (UniqueConstraint("case_id", "sha256", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256"))
    tag: Mapped[str] = mapped_column(String(60))
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reveal(Base):
    """One deliberate, time-limited look at an item unblurred; also the exposure record."""

    __tablename__ = "reveals"
    __table_args__ = (Index("ix_reveals_user_case_sha", "user_id", "case_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class ClusterState(Base):
    """Which snapshot of a case's contents the stored clusters were computed from."""

    __tablename__ = "cluster_state"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(100))
    radius: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class GalleryRow(Base):
    """One content of a case with what the gallery sorts by, folded from its file instances.

    Derived data (see ``services.gallery``): rebuilt when the case's files change, which after
    ingest they never do. It lets a queue page walk an index in sort order and stop after one
    page, instead of grouping every file of the case on every page."""

    __tablename__ = "case_gallery"
    __table_args__ = (
        Index("ix_case_gallery_locator", "case_id", "locator", "sha256"),
        Index("ix_case_gallery_size", "case_id", "size", "sha256"),
        Index("ix_case_gallery_mtime", "case_id", "mtime", "sha256"),
        Index("ix_case_gallery_kind", "case_id", "media_kind"),  # counts the media without reading rows
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    locator: Mapped[str] = mapped_column(Text)  # the first readable locator, for sorting by path
    deleted: Mapped[bool] = mapped_column(Boolean)  # any instance deleted
    mtime: Mapped[datetime | None] = mapped_column()  # earliest modified time
    size: Mapped[int | None] = mapped_column(BigInteger)
    media_kind: Mapped[str | None] = mapped_column(String(20))  # copied from the content, for counting


class GalleryState(Base):
    """The listing's build: the files it was built from (``stamp``), its media total, and the
    queue counts with the state of the matches they were counted from (``counts_stamp``)."""

    __tablename__ = "case_gallery_state"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(100))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    media: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[str | None] = mapped_column(Text)  # JSON: [[class, is_media, n], ...]
    counts_stamp: Mapped[str | None] = mapped_column(String(200))


class ContentCluster(Base):
    """Near-duplicate cluster of a content within a case; ``cluster`` is the smallest member's
    SHA-256, so the label is stable across recomputations of the same contents."""

    __tablename__ = "content_clusters"
    __table_args__ = (Index("ix_content_clusters_case_cluster", "case_id", "cluster"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    cluster: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the log outlives what it names
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Single row (id 1) naming the last record. Created by the migration, so its absence is
    itself a sign of tampering; updated first in every audited transaction, which also
    serialises appenders across processes (a row lock on PostgreSQL, the write lock on SQLite)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
