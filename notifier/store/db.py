"""Engine and schema: one engine per URL and process, migrations applied by alembic at start."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from notifier.errors import ConfigError
from notifier.store.dbapi import MIGRATIONS, head_revision

if TYPE_CHECKING:
    from alembic.config import Config


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy event signature
    # WAL lets the worker, beat and the CLI read while one of them writes; busy_timeout waits instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = _create(url)
    return _ENGINES[url]


def _create(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"NOTIFIER_DATABASE_URL: {url!r} is not a database URL (e.g. sqlite:///data/notifier.db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic only when migrating: `notifier --help` and status start faster

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _current(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no table yet, or any doubt: let Alembic decide
        return None


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent, safe to call at every start).

    Workers and beat start together: the upgrade is serialized by a PostgreSQL advisory lock, or a file lock
    beside the SQLite database, so two processes never create the same table at once. A schema already at the
    newest revision costs one query, not an Alembic start (bench/bench_cli.py).
    """
    engine = get_engine(url)
    head = head_revision()
    if head is not None and _current(engine) == head:
        return
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(7405541)"))
                _upgrade(url, conn)
            return
        database = make_url(url).database
        lock_path = Path(f"{database}.migrate-lock") if database and database != ":memory:" else None
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644) if lock_path else None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            with engine.begin() as conn:
                _upgrade(url, conn)
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
    except OperationalError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig).split())
        raise ConfigError(
            f"NOTIFIER_DATABASE_URL: cannot open {shown}; check the URL and that the server is up ({reason})"
        ) from None


def _upgrade(url: str, conn: Connection) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn
    from alembic import command

    command.upgrade(cfg, "head")


def dispose_engines() -> None:
    """Close pooled connections (tests, and after fork in workers)."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()
