"""Alembic environment: runs on the connection handed in by notifier.store.db.migrate, or on the URL."""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import notifier.store.models  # noqa: F401 - registers the tables

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
