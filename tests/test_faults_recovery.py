"""Recovery in seconds, not minutes, with real processes on Redis and PostgreSQL.

A beat killed with SIGKILL is replaced by a standby beat or by a new one, and polls resume at once (the old
redbeat start-up waited 300 s for the dead beat's lock), also when the dead beat's host cannot be asked and only
its short lock timeout tells. A worker killed in the middle of a send, or a pool process killed in the middle of
a poll, has its delivery re-sent and its source re-polled as soon as its death is known, long before the claim
timeout and the lock lease (both set to two minutes here) would free them. Two workers on one host are two.

The bounds are generous condition waits (the machine is shared); the figures come from bench/recovery.py.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from notifier.alerts import outbox
from notifier.app import build_service
from notifier.ops.heartbeat import heartbeat_store
from notifier.ops.liveness import parse
from notifier.ops.status import collect
from notifier.timeutil import utcnow
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.receivers import WebhookReceiver
from tests.support.servers import RedisServer
from tests.support.service import ServiceProcess, configure, settings_for, wait_for
from tests.test_faults_workers import pool_children

pytestmark = pytest.mark.slow
UN = "un"
BOUND = 45.0  # seconds: far below the 300 s the old beat start-up and claim timeout took, far above the figure
SLOW = {  # the timeouts and the relay's grace as long as by default: recovery, not they, must bring work back
    "NOTIFIER_CLAIM_TIMEOUT": "120",
    "NOTIFIER_RELAY_GRACE": "120",
    "NOTIFIER_POLL_LOCK_LEASE": "120",
    "NOTIFIER_DELIVERY_TIMEOUT": "60",
}


@dataclass
class Cluster:
    """A private Redis, a webhook receiver and the service processes a test starts, stopped once at its end."""

    hook: WebhookReceiver
    redis: RedisServer
    procs: list[ServiceProcess] = field(default_factory=list)
    stopped: bool = False

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for p in self.procs:
            p.stop(10)
        self.hook.close()
        self.redis.stop()


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:  # noqa: ANN001
    running = Cluster(WebhookReceiver(), RedisServer(tmp_path / "redis").start())
    try:
        yield running
    finally:
        running.stop()


def service_env(tmp_path, redis: RedisServer, pg_url: str, url: str, hook_url: str, **extra: str) -> dict[str, str]:
    return configure(
        tmp_path,
        {"un_sc": {"url": url, "schedule": "5m", "title": "UN Security Council"}},
        [{"name": "desk", "channels": [{"url": hook_url}]}],
        NOTIFIER_BROKER_URL=redis.url(),
        NOTIFIER_DATABASE_URL=pg_url,
        NOTIFIER_HEARTBEAT_INTERVAL="1",
        NOTIFIER_FIRST_POLL_JITTER="1",
        **extra,
    )


def requests_to(server: LocalServer, path: str) -> int:
    return sum(1 for p, _ in server.requests if p == path)


def leader(env: dict[str, str], *killed: int):  # noqa: ANN201 - the leading beat's heartbeat, if one leads
    beats = heartbeat_store(settings_for(env)).read("beat")
    return next((b for b in beats if b.info.get("role") == "leader" and b.pid not in killed), None)


def process_of(pid: int, procs: list[ServiceProcess]) -> ServiceProcess:
    return next(p for p in procs if p.proc.pid == pid or pid in pool_children(p.proc.pid))


def test_a_killed_beat_is_replaced_by_a_standby_or_a_new_beat_and_polls_resume_within_seconds(
    tmp_path, pg_url, cluster
):
    hook, redis, procs = cluster.hook, cluster.redis, cluster.procs
    with LocalServer() as server:
        url = server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
        env = service_env(tmp_path, redis, pg_url, url, hook.url())
        beats = [ServiceProcess(["beat"], env, tmp_path, f"beat{i}").start() for i in (1, 2)]
        procs += [ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, "worker").start(), *beats]
        wait_for(lambda: requests_to(server, "/un"), 90, what="the first poll at start")
        first = wait_for(lambda: leader(env), 30, what="a leading beat")

        # 1. The leader dies; the standby beat (same host: it sees the pid is gone) takes over at once.
        polls = requests_to(server, "/un")
        process_of(first.pid, procs).kill()
        wait_for(lambda: requests_to(server, "/un") > polls, BOUND, what="a poll after the standby took over")
        second = wait_for(lambda: leader(env, first.pid), 30, what="the standby to report leading")
        svc = build_service(settings_for(env))

        def handed_over() -> bool:
            states = {b.beat.pid: b.state for b in collect(svc).beats}
            return states == {first.pid: "replaced", second.pid: "scheduling"}

        wait_for(handed_over, 30, what="status to show the hand-over")

        # 2. A new beat starts while the dead leader's lock still looks held by a beat on another host: the
        # lock's short timeout (6 s), not redbeat's 300 s, decides when the new beat takes over.
        third = ServiceProcess(["beat"], env, tmp_path, "beat3").start()
        procs.append(third)

        def standing_by() -> bool:
            beats = heartbeat_store(settings_for(env)).read("beat")
            return any(b.pid == third.proc.pid and b.info.get("role") == "standby" for b in beats)

        wait_for(standing_by, 60, what="the new beat to stand by")
        polls = requests_to(server, "/un")
        os.kill(third.proc.pid, signal.SIGSTOP)  # it must not see the leader die before the lock is replaced
        try:
            process_of(second.pid, procs).kill()
            with redis.client() as client:
                [lock_key] = client.keys("notifier:redbeat*lock*")
                client.set(lock_key, f"-|another-host|1|{time.time():.3f}|x", px=6000)
        finally:
            os.kill(third.proc.pid, signal.SIGCONT)
        wait_for(lambda: requests_to(server, "/un") > polls, BOUND, what="a poll after the new beat took over")
        wait_for(lambda: leader(env, first.pid, second.pid), 30, what="the new beat to report leading")
        assert leader(env, first.pid, second.pid).pid == third.proc.pid
    cluster.stop()  # before the counts: nothing may arrive after them


def sending(engine) -> tuple[int, str] | None:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("select id, claimed_by from delivery where status = 'sending'")).first()


def delivery_status(engine, delivery_id: int) -> str:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("select status from delivery where id = :i"), {"i": delivery_id}).scalar()


def polls_done(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from snapshot where source = 'un_sc'")).scalar()


def test_a_worker_killed_mid_send_or_mid_poll_has_its_row_resent_and_its_source_repolled(tmp_path, pg_url, cluster):
    hook, redis, procs = cluster.hook, cluster.redis, cluster.procs
    with LocalServer() as server:
        url = server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
        env = service_env(tmp_path, redis, pg_url, url, hook.url(), **SLOW)
        svc = build_service(settings_for(env))
        workers = [
            ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, f"worker{i}").start() for i in (1, 2)
        ]
        procs += [*workers, ServiceProcess(["beat"], env, tmp_path, "beat").start()]

        # Two workers on one host: two heartbeats, two live workers in status.
        def two_alive() -> bool:
            return sum(w.state == "alive" for w in collect(svc).workers) == 2

        wait_for(two_alive, 60, what="both workers' heartbeats")
        assert len({w.beat.name for w in collect(svc).workers}) == 2
        wait_for(lambda: polls_done(svc.engine), 90, what="the baseline")

        # Mid-send: the receiver holds the request; the worker sending it is killed (whole, with its pool).
        hook.hang = 600
        server.serve("/un", real(f"{UN}/2025-12-10_consolidated.xml").read_bytes())
        from tasks.app import make_app

        producer = make_app(settings_for(env))
        producer.send_task("tasks.poll.poll_source", ("un_sc",), queue="poll")
        delivery_id, claimed_by = wait_for(lambda: sending(svc.engine), 90, what="a delivery being sent")
        victim = process_of(parse(claimed_by).pid, workers)
        victim.kill()
        hook.hang = 0
        wait_for(lambda: delivery_status(svc.engine, delivery_id) == "sent", BOUND, what="the row re-sent")
        victim.start()  # as the orchestrator would

        # Mid-poll: the publisher answers slowly; the pool process polling is killed (as the OOM killer would).
        server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes(), delay=600)
        before = polls_done(svc.engine)
        producer.send_task("tasks.poll.poll_source", ("un_sc",), queue="poll")
        with redis.client() as client:
            token = wait_for(lambda: client.get("notifier:lock:poll:un_sc"), 60, what="a poll holding its lock")
        os.kill(parse(token).pid, signal.SIGKILL)
        server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
        wait_for(lambda: polls_done(svc.engine) > before, BOUND, what="the source re-polled")
        producer.close()
        logs = "\n".join(p.log() for p in procs)
    cluster.stop()  # before the counts: nothing may arrive after them
    assert "delivery claim of a dead worker released" in logs
    assert "poll lock of a dead worker released" in logs


def retry_waiting(engine) -> tuple[int, object] | None:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(
            text("select id, next_attempt_at from delivery where status = 'pending' and attempts = 1")
        ).first()


def test_a_whole_worker_killed_holding_an_unstarted_message_has_the_row_sent_within_seconds_once(
    tmp_path, pg_url, cluster
):
    # The worker holds a retry's message until its countdown: no claim names it, and Redis would hand the
    # message out again only after its visibility timeout (70 min), the relay after its grace (120 s).
    hook, redis, procs = cluster.hook, cluster.redis, cluster.procs
    with LocalServer() as server:
        url = server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
        env = service_env(
            tmp_path,
            redis,
            pg_url,
            url,
            hook.url(),
            NOTIFIER_DELIVERY_BACKOFF="10",
            NOTIFIER_DELIVERY_BACKOFF_MAX="60",
            **SLOW,
        )
        svc = build_service(settings_for(env))
        victim = ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, "worker1").start()
        procs += [victim, ServiceProcess(["beat"], env, tmp_path, "beat").start()]
        wait_for(lambda: polls_done(svc.engine), 90, what="the baseline")

        hook.responses = [500]  # the first attempt fails: the worker keeps the retry's message for 10 s
        server.serve("/un", real(f"{UN}/2025-12-10_consolidated.xml").read_bytes())
        from tasks.app import make_app

        producer = make_app(settings_for(env))
        producer.send_task("tasks.poll.poll_source", ("un_sc",), queue="poll")
        delivery_id, due = wait_for(lambda: retry_waiting(svc.engine), 90, what="a delivery waiting to retry")
        victim.kill()
        procs.append(ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, "worker2").start())
        wait = max(0.0, (due - datetime.now(UTC)).total_seconds()) + 15
        wait_for(lambda: delivery_status(svc.engine, delivery_id) == "sent", wait, what="the row sent")
        producer.close()
        logs = "\n".join(p.log() for p in procs)
    cluster.stop()  # before the counts: nothing may arrive after them
    assert "unstarted messages handed over" in logs
    parts = [r["notifier_id"] for r in hook.received if str(r["notifier_id"]).startswith(f"{delivery_id}-")]
    assert parts and len(parts) == len(set(parts)), f"each part once: {parts}"


def test_a_whole_worker_killed_with_a_reserved_unstarted_message_has_the_row_sent_within_15_s_once(
    tmp_path, pg_url, cluster
):
    # Its one pool process is stopped, so the worker reserves the message and never starts it (no claim).
    hook, redis, procs = cluster.hook, cluster.redis, cluster.procs
    env = service_env(tmp_path, redis, pg_url, "http://127.0.0.1:9/none", hook.url(), **SLOW)
    svc = build_service(settings_for(env))
    victim = ServiceProcess(["worker", "--queues", "deliver", "--concurrency", "1"], env, tmp_path, "w1").start()
    procs.append(victim)
    children = wait_for(lambda: pool_children(victim.proc.pid), 60, what="the pool process")
    wait_for(lambda: any(w.state == "alive" for w in collect(svc).workers), 60, what="its heartbeat")
    for pid in children:
        os.kill(pid, signal.SIGSTOP)
    [sub] = svc.subscribers
    with Session(svc.engine) as s, s.begin():
        [delivery_id] = outbox.add(s, [outbox.row(purpose="ops", key="k", sub=sub, channel=sub.channels[0],
                                                  now=utcnow(), title="Test", body="reserved")])  # fmt: skip
    from tasks.app import make_app

    producer = make_app(settings_for(env))
    producer.send_task("tasks.deliver.deliver", (delivery_id,), queue="deliver")
    with redis.client() as client:
        wait_for(lambda: client.llen("deliver") == 0 and client.hlen("unacked"), 60, what="the message reserved")
    procs += [ServiceProcess(["worker"], env, tmp_path, "w2").start(), ServiceProcess(["beat"], env, tmp_path, "b")]
    procs[-1].start()
    wait_for(lambda: sum(w.state == "alive" for w in collect(svc).workers) == 2, 60, what="the second worker")
    assert delivery_status(svc.engine, delivery_id) == "pending"
    victim.kill()
    wait_for(lambda: delivery_status(svc.engine, delivery_id) == "sent", 15, what="the row sent")
    producer.close()
    logs = "\n".join(p.log() for p in procs)
    cluster.stop()  # before the counts: nothing may arrive after them
    assert "unstarted messages handed over" in logs
    assert [r["notifier_id"] for r in hook.received] == [f"{delivery_id}-1"], "sent once"
