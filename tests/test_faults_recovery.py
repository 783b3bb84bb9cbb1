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

import pytest
from sqlalchemy import text

from notifier.app import build_service
from notifier.ops.heartbeat import heartbeat_store
from notifier.ops.liveness import parse
from notifier.ops.status import collect
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.receivers import WebhookReceiver
from tests.support.servers import RedisServer
from tests.support.service import ServiceProcess, configure, settings_for, wait_for
from tests.test_faults_workers import pool_children

pytestmark = pytest.mark.slow
UN = "un"
BOUND = 45.0  # seconds: far below the 300 s the old beat start-up and claim timeout took, far above the figure
SLOW = {"NOTIFIER_CLAIM_TIMEOUT": "120", "NOTIFIER_POLL_LOCK_LEASE": "120", "NOTIFIER_DELIVERY_TIMEOUT": "60"}


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


def test_a_killed_beat_is_replaced_by_a_standby_or_a_new_beat_and_polls_resume_within_seconds(tmp_path, pg_url):
    hook = WebhookReceiver()
    redis = RedisServer(tmp_path / "redis").start()
    procs: list[ServiceProcess] = []
    try:
        with LocalServer() as server:
            url = server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
            env = service_env(tmp_path, redis, pg_url, url, hook.url())
            beats = [ServiceProcess(["beat"], env, tmp_path, f"beat{i}").start() for i in (1, 2)]
            procs = [ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, "worker").start(), *beats]
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
    finally:
        for p in procs:
            p.stop(10)
        hook.close()
        redis.stop()


def sending(engine) -> tuple[int, str] | None:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("select id, claimed_by from delivery where status = 'sending'")).first()


def delivery_status(engine, delivery_id: int) -> str:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("select status from delivery where id = :i"), {"i": delivery_id}).scalar()


def polls_done(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from snapshot where source = 'un_sc'")).scalar()


def test_a_worker_killed_mid_send_or_mid_poll_has_its_row_resent_and_its_source_repolled(tmp_path, pg_url):
    hook = WebhookReceiver()
    redis = RedisServer(tmp_path / "redis").start()
    procs: list[ServiceProcess] = []
    try:
        with LocalServer() as server:
            url = server.serve("/un", real(f"{UN}/2025-12-09_consolidated.xml").read_bytes())
            env = service_env(tmp_path, redis, pg_url, url, hook.url(), **SLOW)
            svc = build_service(settings_for(env))
            workers = [
                ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, f"worker{i}").start() for i in (1, 2)
            ]
            procs = [*workers, ServiceProcess(["beat"], env, tmp_path, "beat").start()]

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
    finally:
        for p in procs:
            p.stop(10)
        hook.close()
        redis.stop()
    assert "delivery claim of a dead worker released" in logs
    assert "poll lock of a dead worker released" in logs
