"""Bulk INSERT ... ON CONFLICT DO NOTHING: what makes every write of a re-done batch idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["insert_ignore"]


def insert_ignore(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: list[str]) -> None:
    """Bulk INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    else:  # pragma: no cover - other databases are not supported yet
        raise NotImplementedError(f"database {dialect} is not supported")
    session.execute(stmt, list(rows))
