from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL = SHARED_DATA / "real"
FIXTURES = Path(__file__).parent / "fixtures"


# Tests deliver to local receivers on 127.0.0.1 (HTTP hooks, aiosmtpd): they opt in to private channel hosts,
# which a deployment refuses by default (notifier.alerts.subscriptions.ChannelPolicy). Services the tests start
# in subprocesses inherit it.
os.environ.setdefault("NOTIFIER_CHANNEL_ALLOW_PRIVATE", "true")


def real(relative: str) -> Path:
    """A file from ../shared/data/real; the test is skipped, saying why, when it is not there."""
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"real sample {relative} not found: ../shared/data/real is absent beside this clone")
    return path


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{relative} not found: ../shared/data is absent beside this clone")
    return path


# --- databases -------------------------------------------------------------------------------------------------
import uuid  # noqa: E402

import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

PG_ADMIN_URL = os.environ.get("NOTIFIER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with create_engine(PG_ADMIN_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_admin():
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (CI must start it: see .ci/run)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin):
    """A fresh schema on the real PostgreSQL server, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    from notifier.store.db import dispose_engines

    dispose_engines()
    with pg_admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """Run the test on the embedded default (SQLite) and on the production database (PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'notifier.db'}"
        from notifier.store.db import dispose_engines

        dispose_engines()
    else:
        yield request.getfixturevalue("pg_url")


# --- a local webhook receiver -----------------------------------------------------------------------------------
@pytest.fixture
def hook():
    """A webhook receiver on 127.0.0.1 (tests.support.receivers), closed after the test."""
    from tests.support.receivers import WebhookReceiver

    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


# --- a configured service in a temp folder ---------------------------------------------------------------------
@pytest.fixture
def make_ctx(tmp_path, db_url):
    """Build a pipeline context for the given sources (dict of source id -> settings as in sources.yaml)."""
    from notifier.app import build_service
    from notifier.settings import Settings

    def make(sources: dict, subscriptions: dict | None = None, **settings_kw):
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(yaml.safe_dump({"sources": sources}))
        subs_file = tmp_path / "subscriptions.yaml"
        subs_file.write_text(yaml.safe_dump(subscriptions or {"subscribers": []}))
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=db_url,
            sources_file=sources_file,
            subscriptions_file=subs_file,
            **settings_kw,
        )
        return build_service(settings)

    return make
