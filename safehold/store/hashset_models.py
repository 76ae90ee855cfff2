"""Imported hash lists and what they matched.

A set keeps its provenance; each import is a ``HashSetImport`` (the set's version history with
the diff against the previous version). Entries belong to one import, so a replacement is
staged beside the old version and swapped in only when it has fully loaded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safehold.core.clock import utcnow
from safehold.store.models import Base

__all__ = ["HashEntry", "HashSet", "HashSetImport", "Match", "StoreState"]

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


class HashEntry(Base):
    __tablename__ = "hash_entries"
    __table_args__ = (
        Index("ix_hash_entries_md5", "md5"),
        Index("ix_hash_entries_sha1", "sha1"),
        Index("ix_hash_entries_sha256", "sha256"),
        Index("ix_hash_entries_import", "import_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    set_id: Mapped[int] = mapped_column(Integer)  # denormalised for matching; no FK: bulk loads stay fast
    import_id: Mapped[int] = mapped_column(Integer)
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    photodna: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    category_scheme: Mapped[str | None] = mapped_column(String(40))
    category_code: Mapped[str | None] = mapped_column(String(40))
    series: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[bool | None] = mapped_column(Boolean)
    offender_identified: Mapped[bool | None] = mapped_column(Boolean)
    distributed: Mapped[bool | None] = mapped_column(Boolean)
    file_name: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any] | None] = mapped_column()


class Match(Base):
    """Content ↔ hash entry. ``method`` is md5/sha1/sha256 (exact) or pdq (with distance)."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("sha256", "entry_id", "method"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("contents.sha256", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, index=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    distance: Mapped[int] = mapped_column(Integer, default=0)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoreState(Base):
    """Small counters shared by every process using this store (e.g. the hash-set generation
    that tells a cached PDQ index it is stale)."""

    __tablename__ = "store_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
