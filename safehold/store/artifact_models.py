"""Tables of the extractor model: the ledger of what ran on which content, and the artifacts found.

``extractor_runs`` is the ledger ``analyse`` reads to decide what is new: one row per (content,
extractor), holding the version that last ran and its error if it failed. ``artifacts`` holds typed
facts with their provenance (content SHA-256, extractor name and version, offset or position).
Each artifact has a ``key``, the SHA-256 of everything that identifies it, so re-running a batch
after a kill inserts nothing twice (the same ON CONFLICT DO NOTHING as files and contents).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safehold.core.clock import utcnow
from safehold.store.models import Base

__all__ = ["Artifact", "ExtractorLedger"]


class ExtractorLedger(Base):
    """``extractor`` at ``version`` ran over content ``sha256`` (an ``error`` says it failed there)."""

    __tablename__ = "extractor_runs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    extractor: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Artifact(Base):
    """A typed fact found inside a content, with where it was found and who found it."""

    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_artifacts_sha256_extractor", "sha256", "extractor"),
        Index("ix_artifacts_extractor_kind", "extractor", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    extractor: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    place: Mapped[str | None] = mapped_column(String(200))  # "page 3", "frame 120", "row 17": shown as ``where``
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
