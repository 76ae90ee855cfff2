"""One place for 'now', so records share a time base (UTC, timezone-aware)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["aware", "from_timestamp", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_timestamp(ts: float | None) -> datetime | None:
    """POSIX seconds to aware UTC; None and out-of-range values (corrupt metadata) give None."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def aware(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
