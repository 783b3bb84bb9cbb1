"""Redis crashing, restarting empty or flushed under a running service, and several workers and beats at once.

Each test runs its own redis-server on a free port (the shared one on 6379 is never touched). The service must
recover by itself: beat re-takes its lock and re-installs the schedule, workers reconnect, and the outbox relay
hands back the deliveries whose broker messages were lost. Alerts are counted part by part at the receivers
(tests.support.ledger): no kill happens here, so every part must arrive exactly once.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from notifier.app import build_service
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.ledger import Ledger
from tests.support.receivers import SmtpSink, WebhookReceiver
from tests.support.servers import RedisServer
from tests.support.service import ServiceProcess, configure, relay_runs, settings_for, wait_for

pytestmark = pytest.mark.slow
CONS = "ofac/consolidated_xml"
UN = "un"


def accepted(engine, source: str) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(
            text("select count(*) from snapshot where source = :s and status = 'accepted'"), {"s": source}
        ).scalar()


def refused(procs: list[ServiceProcess]) -> int:
    """How often the worker and beat have told so far that Redis refused them (0 until both have)."""
    worker, beat = (p.log() for p in procs[:2])
    told = worker.count("Cannot connect to redis"), beat.count("Redis unreachable")
    return min(told)


def all_sent(ledger: Ledger) -> bool:
    rows = ledger.rows()
    return bool(rows) and all(r.status == "sent" for r in rows) and not ledger.problems()["missing"]


def test_redis_down_at_start_crashing_empty_and_flushed_mid_run_loses_no_alert(tmp_path, pg_url):
    desk, mail = WebhookReceiver(), SmtpSink().start()
    redis = RedisServer(tmp_path / "redis")  # not started yet: the service starts while Redis is down
    procs: list[ServiceProcess] = []
    try:
        with LocalServer() as server:
            server.serve("/cons", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
            server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
            sources = {
                "us_ofac_cons": {"url": server.url("/cons"), "schedule": "5s", "title": "OFAC Consolidated"},
                "un_sc": {"url": server.url("/un"), "schedule": "5s", "title": "UN Security Council"},
            }
            subscribers = [
                {"name": "desk", "channels": [{"url": desk.url("/desk")}]},
                {"name": "mail", "channels": [{"url": mail.url()}]},
            ]
            env = configure(
                tmp_path,
                sources,
                subscribers,
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=pg_url,
                NOTIFIER_DELIVERY_BACKOFF="4",  # the retry waits long enough to be caught in the flush
                NOTIFIER_DELIVERY_BACKOFF_MAX="8",
            )
            svc = build_service(settings_for(env))
            ledger = Ledger(svc, [desk], [mail])
            procs = [
                ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker").start(),
                ServiceProcess(["beat"], env, tmp_path, "beat").start(),
            ]
            wait_for(lambda: refused(procs), 120, what="worker and beat to find Redis down")
            redis.start()
            wait_for(
                lambda: accepted(svc.engine, "us_ofac_cons") and accepted(svc.engine, "un_sc"), 120, what="baselines"
            )

            # 1. Redis dies (no persistence) while the list changes; it comes back empty 3 s later.
            before = refused(procs)
            redis.stop()
            server.serve("/cons", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes())
            wait_for(lambda: refused(procs) > before, 120, what="worker and beat to find Redis gone")
            redis.start()
            wait_for(lambda: accepted(svc.engine, "us_ofac_cons") == 2, 120, what="the change polled after the crash")
            wait_for(lambda: all_sent(ledger), 120, what="its alerts")

            # 2. A receiver refuses, the retry waits in Redis (the worker, stopped, handed it back), and Redis is
            #    flushed: the message is gone, only the outbox still knows.
            desk.responses = [500]
            server.serve("/un", real(f"{UN}/2025-12-10_consolidated.xml").read_bytes())
            wait_for(lambda: desk.hits >= 2, 120, what="the refused first attempt")  # 1 for cons + 1 refused
            procs[0].stop()
            with redis.client() as client:
                assert client.llen("deliver") >= 1, "the retry is queued in Redis"
            redis.flush()
            procs[0] = ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker2").start()
            wait_for(lambda: all_sent(ledger), 120, what="the relay to hand the lost retry back")
            relay_runs(env)  # a few relay runs later: nothing is sent twice
            problems = ledger.problems()
            assert [p.proc.poll() for p in procs] == [None, None], "worker and beat recovered by themselves"
            logs = procs[1].log()
    finally:
        for p in procs:
            p.stop(10)
        desk.close()
        mail.stop()
        redis.stop()
    assert problems == {"missing": {}, "unexpected": {}, "duplicated": {}, "not once by id": {}}, problems
    assert "re-installing the schedule" in logs, "beat noticed the empty Redis"
    assert accepted(svc.engine, "un_sc") == 2 and accepted(svc.engine, "us_ofac_cons") == 2
    with svc.engine.connect() as conn:
        assert conn.execute(text("select count(*) from change")).scalar() == 2, "one delisting on each list, once"


def test_two_workers_and_two_beats_poll_once_per_interval_and_send_each_alert_once(tmp_path, pg_url):
    desk = WebhookReceiver()
    desk.hang = 1.0  # each send takes a second: duplicate messages for a row overlap with its first send
    redis = RedisServer(tmp_path / "redis").start()
    procs: list[ServiceProcess] = []
    try:
        with LocalServer() as server:
            server.serve("/cons", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes(), delay=0.5)
            server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes(), delay=0.5)
            sources = {
                "us_ofac_cons": {"url": server.url("/cons"), "schedule": "5s"},
                "un_sc": {"url": server.url("/un"), "schedule": "5s"},
            }
            env = configure(
                tmp_path,
                sources,
                [{"name": "desk", "channels": [{"url": desk.url("/desk")}]}],
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=pg_url,
            )
            svc = build_service(settings_for(env))
            ledger = Ledger(svc, [desk], [])
            procs = [
                ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker-a").start(),
                ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker-b").start(),
                ServiceProcess(["beat"], env, tmp_path, "beat-a").start(),
                ServiceProcess(["beat"], env, tmp_path, "beat-b").start(),
            ]
            wait_for(
                lambda: accepted(svc.engine, "us_ofac_cons") and accepted(svc.engine, "un_sc"), 60, what="baselines"
            )
            time.sleep(1)
            counts = {p: sum(1 for r, _ in server.requests if r == p) for p in ("/cons", "/un")}
            window = 30.0
            server.serve("/cons", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes(), delay=0.5)
            # A scheduler misbehaving for a moment: every poll message sent three more times, to both workers.
            from tasks.app import make_app

            producer = make_app(settings_for(env))
            for _ in range(3):
                producer.send_task("tasks.poll.poll_source", ("us_ofac_cons",), queue="poll")
            # And the broker handing each delivery out four times at once (at-least-once delivery): four worker
            # processes hold the same outbox row while its first send is still on the wire.
            wait_for(lambda: ledger.rows(), 90, what="the alert's outbox row")
            for row in ledger.rows():
                for _ in range(3):
                    producer.send_task("tasks.deliver.deliver", (row.id,), queue="deliver")
            producer.close()
            time.sleep(window)
            polls = {p: sum(1 for r, _ in server.requests if r == p) - counts[p] for p in counts}
            wait_for(lambda: all_sent(ledger), 90, what="the alert")
            problems = ledger.problems()
            took_part = [p.name for p in procs[:2] if "tasks.poll.poll_source" in p.log()]
            leaders = [p.name for p in procs[2:] if "took the scheduler lock" in p.log()]
    finally:
        for p in procs:
            p.stop(10)
        desk.close()
        redis.stop()
    print(f"polls in {window:.0f}s at a 5s schedule: {polls}; beats that scheduled: {leaders}")
    # 6 intervals: 6 polls (+1 for a tick at an edge, +1 for the burst of duplicates that found the lock free).
    assert 5 <= polls["/un"] <= 7, polls
    assert 5 <= polls["/cons"] <= 8, polls
    assert len(leaders) == 1, "redbeat: one beat schedules, the other stands by"
    assert sorted(took_part) == ["worker-a", "worker-b"], "both workers took polls"
    assert accepted(svc.engine, "us_ofac_cons") == 2, "the change made one snapshot, however many polls raced"
    assert problems == {"missing": {}, "unexpected": {}, "duplicated": {}, "not once by id": {}}, problems
