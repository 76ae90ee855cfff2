"""Imported hash lists and what they matched.

A set keeps its provenance; each import is a ``HashSetImport`` (the set's version history with
the diff against the previous version). Entries belong to one import, so a replacement is
staged beside the old version and swapped in only when it has fully loaded. What entries share
(an NSRL product's description) is kept once per import in ``HashExtra``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safehold.core.clock import utcnow
from safehold.store.digests import HexDigest
from safehold.store.models import Base

__all__ = ["HashEntry", "HashExtra", "HashSet", "HashSetImport", "Match", "StoreState", "VideoLink"]

SET_KINDS = ("known-abuse", "known-good", "watch")


class HashSet(Base):
    __tablename__ = "hash_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # known-abuse | known-good | watch
    format: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(100))
    set_date: Mapped[str | None] = mapped_column(String(40))
    licence: Mapped[str | None] = mapped_column(String(200))
    category_scheme: Mapped[str | None] = mapped_column(String(40))
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    current_import_id: Mapped[int | None] = mapped_column(Integer)
    entry_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HashSetImport(Base):
    __tablename__ = "hash_set_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="loading")  # loading | current | replaced | failed
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(20))
    version: Mapped[str | None] = mapped_column(String(100))
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    added: Mapped[int | None] = mapped_column(BigInteger)
    removed: Mapped[int | None] = mapped_column(BigInteger)
    bad_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bad_samples: Mapped[list[Any]] = mapped_column(default=list)  # first bad rows, position + reason


class HashExtra(Base):
    """What a list says about entries beyond their hashes and category (NSRL: product, version
    and OS), stored once per distinct value per import instead of once per entry: an NSRL
    product's description repeated on each of its files was a third of the store."""

    __tablename__ = "hash_extras"
    __table_args__ = (Index("ix_hash_extras_import", "import_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(Integer)  # purged with the import's entries
    data: Mapped[dict[str, Any]] = mapped_column()


class HashEntry(Base):
    """One entry of an imported list. Digests are bytes in the database (``HexDigest``) and
    lower-case hex ``str`` here; columns are ordered fixed-width first, so PostgreSQL pads less."""

    __tablename__ = "hash_entries"
    __table_args__ = (
        Index("ix_hash_entries_md5", "md5"),
        Index("ix_hash_entries_sha1", "sha1"),
        Index("ix_hash_entries_sha256", "sha256"),
        Index("ix_hash_entries_import", "import_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    set_id: Mapped[int] = mapped_column(Integer)  # denormalised for matching; no FK: bulk loads stay fast
    import_id: Mapped[int] = mapped_column(Integer)
    extra_id: Mapped[int | None] = mapped_column(Integer)  # hash_extras.id; no FK, as above
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    md5: Mapped[str | None] = mapped_column(HexDigest(16))
    sha1: Mapped[str | None] = mapped_column(HexDigest(20))
    sha256: Mapped[str | None] = mapped_column(HexDigest(32))
    pdq: Mapped[str | None] = mapped_column(HexDigest(32))
    category_scheme: Mapped[str | None] = mapped_column(String(40))
    category_code: Mapped[str | None] = mapped_column(String(40))
    series: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    photodna: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[bool | None] = mapped_column(Boolean)
    offender_identified: Mapped[bool | None] = mapped_column(Boolean)
    distributed: Mapped[bool | None] = mapped_column(Boolean)
    vpdq: Mapped[bytes | None] = mapped_column(LargeBinary)  # a listed video's frames (hashing.vpdq.pack_frames)

    extra_row: Mapped[HashExtra | None] = relationship(
        primaryjoin="foreign(HashEntry.extra_id) == HashExtra.id", viewonly=True, lazy="select")

    @property
    def extra(self) -> dict[str, Any] | None:
        """The entry's extra facts as the list gave them (read-only; shared between entries)."""
        return self.extra_row.data if self.extra_row is not None else None


class Match(Base):
    """Content ↔ hash entry. ``method`` is md5/sha1/sha256 (exact), pdq (with distance), vpdq (a video
    matching a listed video: ``detail`` holds the shares of frames matched and the time ranges) or
    vpdq-frame (a video frame matching a listed image: ``detail`` holds the frame times)."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("sha256", "entry_id", "method"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, index=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    distance: Mapped[int] = mapped_column(Integer, default=0)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class VideoLink(Base):
    """Two videos in the store that share footage (vPDQ), whichever cases they are in.

    Stored once per pair with ``sha256_a < sha256_b``; shares are of each side's frames that
    match the other, ``segments`` the matching time ranges on both sides."""

    __tablename__ = "video_links"

    sha256_a: Mapped[str] = mapped_column(ForeignKey("contents.sha256", ondelete="CASCADE"), primary_key=True)
    sha256_b: Mapped[str] = mapped_column(ForeignKey("contents.sha256", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    share_a: Mapped[float] = mapped_column(Float)
    share_b: Mapped[float] = mapped_column(Float)
    segments: Mapped[list[Any]] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoreState(Base):
    """Small counters shared by every process using this store (e.g. the hash-set generation
    that tells a cached PDQ index it is stale)."""

    __tablename__ = "store_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
