"""One clock for the whole service: timezone-aware UTC (sqlmodel stores and returns UTC on both databases)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
