"""Tables. Evidence rows are facts as acquired and are never edited by analysis.

A ``Content`` is unique bytes (keyed by SHA-256); a ``FileInstance`` is one place those bytes
were found (keyed by its locator). One content at many locators, across evidence items and
cases, is how links between devices appear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from safehold.core.clock import utcnow

__all__ = [
    "Base",
    "Case",
    "Content",
    "CustodyEvent",
    "EvidenceItem",
    "FileInstance",
    "IngestBatch",
    "VideoFrame",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True),
    }


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    evidence: Mapped[list[EvidenceItem]] = relationship(back_populates="case", order_by="EvidenceItem.id")


class EvidenceItem(Base):
    """One seized thing as acquired: a folder, an archive, later a disk image or a phone dump."""

    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    source_kind: Mapped[str] = mapped_column(String(20))  # folder | file
    source_path: Mapped[str] = mapped_column(Text)
    acquisition_hash: Mapped[str] = mapped_column(String(64))
    acquisition_method: Mapped[str] = mapped_column(String(40))  # sha256 | manifest-sha256
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    top_file_count: Mapped[int] = mapped_column(BigInteger)
    seized_by: Mapped[str | None] = mapped_column(String(200))
    seized_at: Mapped[datetime | None] = mapped_column()
    seized_location: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    ingest_state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|running|done|interrupted
    # Batch sizes fixed at the first ingest, so a resume re-forms exactly the same batches.
    batch_files: Mapped[int | None] = mapped_column(Integer)
    batch_bytes: Mapped[int | None] = mapped_column(BigInteger)
    ingest_finished_at: Mapped[datetime | None] = mapped_column()

    case: Mapped[Case] = relationship(back_populates="evidence")
    custody: Mapped[list[CustodyEvent]] = relationship(order_by="CustodyEvent.id")


class CustodyEvent(Base):
    __tablename__ = "custody_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))  # seized | registered | ingest-started | ingested
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Content(Base):
    """Unique bytes. Facts here depend on the bytes alone, so they are computed once."""

    __tablename__ = "contents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(100))
    media_kind: Mapped[str | None] = mapped_column(String(20))  # image | video | archive | other
    image_format: Mapped[str | None] = mapped_column(String(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    pdq_dihedral: Mapped[str | None] = mapped_column(Text)  # the 8 rotation/flip hashes, 8×64 hex
    exif: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    camera_make: Mapped[str | None] = mapped_column(String(100))
    camera_model: Mapped[str | None] = mapped_column(String(100))
    camera_serial: Mapped[str | None] = mapped_column(String(100), index=True)
    # Videos: the frames' PDQs are in ``video_frames``; the contact sheet is a derived file.
    container: Mapped[str | None] = mapped_column(String(60))
    duration: Mapped[float | None] = mapped_column(Float)
    frame_rate: Mapped[float | None] = mapped_column(Float)
    video_codec: Mapped[str | None] = mapped_column(String(40))
    audio_codec: Mapped[str | None] = mapped_column(String(40))
    video_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    vpdq_frames: Mapped[int | None] = mapped_column(Integer)
    contact_sheet: Mapped[str | None] = mapped_column(String(200))


class VideoFrame(Base):
    """One sampled frame of a video's vPDQ fingerprint: display index, time, PDQ quality and bits."""

    __tablename__ = "video_frames"

    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256", ondelete="CASCADE"), primary_key=True)
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger)
    pdq: Mapped[bytes] = mapped_column(LargeBinary(32))


class FileInstance(Base):
    """One file at one locator. ``locator_hash`` (SHA-256 of the exact locator key) is unique,
    which is what makes re-running an interrupted batch idempotent."""

    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("locator_hash"),
        Index("ix_files_evidence_error", "evidence_id", "error_code"),
        Index("ix_files_evidence_id_id", "evidence_id", "id"),  # newest file per item: services.gallery
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    locator_hash: Mapped[str] = mapped_column(String(64))
    locator: Mapped[str] = mapped_column(Text)  # exact JSON key (core.locator.Locator.key)
    display: Mapped[str] = mapped_column(Text)  # readable chain
    parent_sha256: Mapped[str | None] = mapped_column(String(64))  # the container's content
    depth: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)  # path within its immediate container
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(ForeignKey("contents.sha256"), index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    inode: Mapped[str | None] = mapped_column(String(40))
    mtime: Mapped[datetime | None] = mapped_column()
    atime: Mapped[datetime | None] = mapped_column()
    ctime: Mapped[datetime | None] = mapped_column()
    crtime: Mapped[datetime | None] = mapped_column()
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    batch_seq: Mapped[int] = mapped_column(Integer)

    content: Mapped[Content | None] = relationship()


class IngestBatch(Base):
    """A finished unit of ingest work. Present means every file of the batch is stored."""

    __tablename__ = "ingest_batches"

    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_ref: Mapped[str] = mapped_column(Text)
    top_count: Mapped[int] = mapped_column(Integer)
    top_bytes: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
