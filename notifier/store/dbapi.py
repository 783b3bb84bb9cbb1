"""Plain DB-API reads, for what must start fast (`notifier status`): no SQLAlchemy import, which alone cost a
status more than its whole goal. Writers and everything else use the engine (`store/db.py`).

`open_reader` opens the database of a URL with sqlite3 or psycopg directly, or reads through an engine that is
already there; values come back as the ORM returns them (datetimes timezone-aware UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_RE = re.compile(r'^(revision|down_revision) = "([^"]+)"$', re.M)
_SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DateTime stores a value (UTC, no offset)


def head_revision() -> str | None:
    """The newest migration, read from the version files (the one no other names as its down_revision)."""
    found = [(VERSION_RE.findall(p.read_text()), p) for p in (MIGRATIONS / "versions").glob("*.py")]
    revisions = {dict(pairs).get("revision") for pairs, _ in found} - {None}
    downs = {dict(pairs).get("down_revision") for pairs, _ in found}
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


class Reader:
    """One DB-API connection and how its dialect wants parameters and datetimes."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query written with `?` placeholders."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql if self.dialect == "sqlite" else sql.replace("?", "%s"), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def marks(self, n: int) -> str:
        return ", ".join(["?"] * n)

    def stamp(self, value: datetime) -> Any:
        """A datetime parameter, compared as the ORM stores it."""
        value = value.astimezone(UTC)
        return value.strftime(_SQLITE_STAMP) if self.dialect == "sqlite" else value


def utc(value: Any) -> datetime | None:
    """A stored datetime as the ORM returns it: aware, in UTC (SQLite holds UTC text without an offset)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


def _connect(url: str) -> tuple[Any, str] | None:
    """A DB-API connection for the URLs read here without SQLAlchemy; None for any other (use the engine)."""
    scheme, sep, rest = url.partition("://")
    if not sep or ("?" in rest and scheme.startswith("sqlite")):
        return None
    if scheme in ("sqlite", "sqlite+pysqlite"):
        path = rest[1:] if rest.startswith("/") else None
        if not path or path == ":memory:" or "%" in path:
            return None
        import sqlite3

        return sqlite3.connect(path, timeout=30), "sqlite"
    if scheme in ("postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgres"):
        import psycopg

        return psycopg.connect(f"postgresql://{rest}"), "postgresql"
    return None


@contextmanager
def open_reader(url: str, engine: Engine | None = None) -> Iterator[Reader]:
    """A Reader on `engine` when given, else on the URL's database opened directly (through a new engine when
    the URL is not one sqlite3 or psycopg is given here)."""
    opened = None if engine is not None else _connect(url)
    if opened is None:
        if engine is None:
            from notifier.store.db import get_engine

            engine = get_engine(url)
        opened = (engine.raw_connection(), engine.dialect.name)
    connection, dialect = opened
    try:
        yield Reader(connection, dialect)
    finally:
        connection.close()


def schema_is_current(url: str) -> bool:
    """The database is at the newest migration (read without Alembic or SQLAlchemy); False when in doubt."""
    head = head_revision()
    try:
        opened = _connect(url)
        if head is None or opened is None:
            return False
        connection, dialect = opened
        try:
            return Reader(connection, dialect).rows("SELECT version_num FROM alembic_version") == [(head,)]
        finally:
            connection.close()
    except Exception:  # no database, no table yet, server down: let migrate decide and explain
        return False
