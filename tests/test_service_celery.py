"""The running service: real Celery workers and beat, on real Redis and on the embedded broker.

A list changes on a local HTTP server; beat triggers the poll; the alert reaches a real SMTP server and a
webhook, exactly once, across worker restarts and a flushed broker.
"""

from __future__ import annotations

import os
from email.header import decode_header, make_header

import pytest
import redis
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from notifier.store.models import Delivery, SourceState
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.receivers import SmtpSink, WebhookReceiver, parts
from tests.support.service import ServiceProcess, relay_runs, wait_for

CONS = "ofac/consolidated_xml"
REDIS_DB = 11
pytestmark = pytest.mark.slow


def _redis_url() -> str:
    return f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture
def broker():
    client = redis.Redis.from_url(_redis_url())
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 (CI must start it: see .ci/run)")
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def write_config(folder, source_url: str, subscribers: list[dict], schedule: str = "5s") -> dict[str, str]:
    (folder / "config").mkdir(exist_ok=True)
    (folder / "config" / "sources.yaml").write_text(
        yaml.safe_dump(
            {"sources": {"us_ofac_cons": {"url": source_url, "schedule": schedule, "title": "OFAC Consolidated"}}}
        )
    )
    (folder / "config" / "subscriptions.yaml").write_text(yaml.safe_dump({"subscribers": subscribers}))
    return {
        "NOTIFIER_DATA_DIR": str(folder / "data"),
        "NOTIFIER_LOG_LEVEL": "INFO",
        "NOTIFIER_DELIVERY_BACKOFF": "0.5",
        "NOTIFIER_RELAY_INTERVAL": "1",
        "NOTIFIER_RELAY_GRACE": "2",
        "NOTIFIER_CLAIM_TIMEOUT": "5",
        "NOTIFIER_DELIVERY_TIMEOUT": "3",
    }


def state(db_url: str) -> SourceState | None:
    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            return s.get(SourceState, "us_ofac_cons")
    except Exception:
        return None
    finally:
        engine.dispose()


def accepted_snapshots(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from snapshot where status='accepted'")).scalar()
    except Exception:
        return 0
    finally:
        engine.dispose()


def run_change_cycle(tmp_path, env_extra: dict[str, str], commands: list[list[str]], db_url: str):
    """Serve the 10-22 list, let the service take its baseline, publish 12-18, collect the alerts."""
    hook = WebhookReceiver()
    smtp = SmtpSink().start()
    with LocalServer() as server:
        url = server.serve("/CONSOLIDATED.XML", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
        env = write_config(
            tmp_path, url, [{"name": "analysts", "channels": [{"url": smtp.url()}, {"url": hook.url()}]}]
        )
        env.update(env_extra)
        procs = [ServiceProcess(cmd, env, tmp_path, f"svc{i}").start() for i, cmd in enumerate(commands)]
        try:
            wait_for(lambda: accepted_snapshots(db_url) >= 1, 60, what="the baseline poll")
            server.serve("/CONSOLIDATED.XML", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes())
            mails = smtp.wait(1, timeout=60)
            posts = hook.wait(1, timeout=60)
            # Let beat run a few more polls: the unchanged list must not alert again.
            wait_for(lambda: state(db_url) and state(db_url).last_status == "unchanged", 90, what="an unchanged poll")
            return list(mails), list(posts), procs
        finally:
            for p in procs:
                p.stop()
            smtp.stop()
            hook.close()
            logs = "\n".join(p.log() for p in procs)
            if "Traceback" in logs:
                print(logs[-5000:])


def test_worker_and_beat_on_redis_alert_email_and_webhook_when_a_served_list_changes(tmp_path, broker, pg_url):
    env = {"NOTIFIER_BROKER_URL": _redis_url(), "NOTIFIER_DATABASE_URL": pg_url}
    mails, posts, procs = run_change_cycle(tmp_path, env, [["worker", "--concurrency", "2"], ["beat"]], pg_url)
    assert len(mails) == 1 and len(posts) == 1
    body = parts(mails[0])
    assert "KAYAKIRAN, Evren" in body["text/html"] and "KAYAKIRAN, Evren" in body["text/plain"]
    assert str(make_header(decode_header(mails[0]["Subject"]))).endswith(" — 1 delisting")
    assert "Delisted: KAYAKIRAN, Evren (person, 26182)" in posts[0]["message"]
    assert any(k.startswith(b"notifier:redbeat") for k in broker.keys()), "beat schedules through celery-redbeat"


def test_notifier_run_with_the_embedded_broker_and_sqlite_polls_and_alerts(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'data' / 'notifier.db'}"
    mails, posts, procs = run_change_cycle(tmp_path, {"NOTIFIER_BROKER_URL": ""}, [["run"]], db_url)
    assert len(mails) == 1 and len(posts) == 1
    assert "KAYAKIRAN, Evren" in parts(mails[0])["text/plain"]
    assert (tmp_path / "data" / "broker" / "queue").is_dir(), "the embedded broker keeps its queue in the data folder"
    assert procs[0].proc.returncode == 0, "SIGTERM stops `notifier run` cleanly"


def _pending_delivery(tmp_path, env: dict[str, str], hook_url: str) -> int:
    """Poll twice in this process (no worker): the change is committed with its outbox row, not yet sent."""
    from notifier.app import build_service
    from notifier.ingest.pipeline import poll
    from notifier.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=env["NOTIFIER_DATABASE_URL"],
        sources_file=tmp_path / "config" / "sources.yaml",
        subscriptions_file=tmp_path / "config" / "subscriptions.yaml",
    )
    svc = build_service(settings)
    poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
    result = poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML"))})
    with Session(svc.engine) as s:
        [row] = s.execute(select(Delivery).where(Delivery.snapshot_id == result.snapshot_id)).scalars()
    return row.id


@pytest.mark.parametrize("flush", [False, True], ids=["restarted", "restarted-after-redis-flush"])
def test_worker_restarted_between_enqueue_and_send_delivers_exactly_once(tmp_path, broker, pg_url, flush):
    hook = WebhookReceiver()
    try:
        env = write_config(tmp_path, "unused", [{"name": "analysts", "channels": [{"url": hook.url()}]}], schedule="1h")
        env.update({"NOTIFIER_BROKER_URL": _redis_url(), "NOTIFIER_DATABASE_URL": pg_url})
        worker = ServiceProcess(["worker", "--queues", "deliver"], env, tmp_path, "worker").start()
        wait_for(lambda: "ready" in worker.log(), 120, what="the worker to start")
        worker.kill()
        delivery_id = _pending_delivery(tmp_path, env, hook.url())
        from notifier.settings import Settings
        from tasks.app import make_app

        producer = make_app(
            Settings(
                broker_url=_redis_url(), data_dir=tmp_path / "data", sources_file=tmp_path / "config" / "sources.yaml"
            )
        )
        producer.send_task("tasks.deliver.deliver", (delivery_id,), queue="deliver")
        if flush:
            broker.flushdb()  # the queued message is gone: only the outbox still knows
        again = ServiceProcess(["worker", "--queues", "deliver"], env, tmp_path, "worker2").start()
        beat = ServiceProcess(["beat"], env, tmp_path, "beat").start()
        try:
            wait_for(lambda: len(hook.received) >= 1, 60, what="the alert")
            relay_runs(env)  # several relay runs later: still exactly one
            assert len(hook.received) == 1
            assert "KAYAKIRAN, Evren" in hook.received[0]["message"]
        finally:
            again.stop()
            beat.stop()
    finally:
        hook.close()
