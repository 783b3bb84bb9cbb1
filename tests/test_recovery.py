"""Work held by a dead process is released as soon as its death is known: delivery claims and poll locks name
their holder, and a holder whose pid is gone (same host), whose worker's heartbeat stopped, or whose pool
process is no longer listed by a live heartbeat is dead. Also: first polls spread over the start window, the
beat hand-over as `notifier status` shows it, and the claim timeout checked against the delivery timeout."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.outbox import release_dead_claims
from notifier.errors import ConfigError
from notifier.ingest.locks import release_dead, source_lock
from notifier.ingest.pipeline import poll
from notifier.ops.heartbeat import Heartbeat, heartbeat_store
from notifier.ops.liveness import Liveness, holder, parse
from notifier.ops.status import collect
from notifier.settings import Settings, get_settings, reset_settings
from notifier.store.models import Delivery
from notifier.timeutil import utcnow
from tasks.beat import first_poll_delays, first_poll_stamps
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.receivers import WebhookReceiver

OFAC = {"us_ofac_cons": {"url": "x", "title": "OFAC Consolidated", "schedule": "5m"}}
HOST = socket.gethostname()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def claim_of(node: str, pid: int, host: str = HOST, since: float | None = None) -> str:
    return f"{node}|{host}|{pid}|{since if since is not None else time.time():.3f}|abcd1234"


def worker_beat(settings: Settings, node: str, *, age: float = 0, pids: list[int] | None = None) -> None:
    info = {"queues": ["deliver", "poll"], "pids": pids or []}
    seen = utcnow() - timedelta(seconds=age)
    heartbeat_store(settings).write(
        Heartbeat("worker", f"{node}[deliver,poll]", host="elsewhere", pid=1, seen_at=seen, info=info)
    )


def test_a_holder_names_its_node_host_and_pid():
    h = parse(holder("notifier-7@box"))
    assert (h.node, h.host, h.pid) == ("notifier-7@box", HOST, os.getpid()) and abs(h.since - time.time()) < 5
    assert parse("an old uuid token") is None


def test_dead_when_the_pid_is_gone_on_this_host_or_the_worker_heartbeat_stopped(tmp_path):
    settings = Settings(data_dir=tmp_path, heartbeat_interval=1)
    worker_beat(settings, "live@other", pids=[4242])
    worker_beat(settings, "gone@other", age=10, pids=[4343])
    alive = Liveness(settings)
    assert not alive.dead(holder()), "this very process"
    assert alive.dead(claim_of("-", dead_pid())), "same host, pid gone"
    assert not alive.dead(claim_of("-", 4242, host="other")), "another host and no worker: only the timeout applies"
    assert not alive.dead(claim_of("live@other", 4242, host="other", since=time.time() - 5))
    assert alive.dead(claim_of("live@other", 4999, host="other", since=time.time() - 5)), "pool process gone"
    assert not alive.dead(claim_of("live@other", 4999, host="other", since=time.time() + 5)), "newer than the beat"
    assert alive.dead(claim_of("gone@other", 4343, host="other", since=time.time() - 20)), "heartbeat stopped"
    assert alive.dead(claim_of("gone@other", 4343, host="other", since=time.time() - 5)), "taken, then it died"
    assert not alive.dead(claim_of("gone@other", 5151, host="other")), "restarted under its name, not reported yet"
    assert alive.dead(claim_of("never@other", 1, host="other", since=time.time() - 10)), "no heartbeat at all"
    assert not alive.dead("not a holder")


def test_a_sending_claim_of_a_dead_process_is_released_and_a_live_one_kept(make_ctx):
    svc = make_ctx(OFAC)
    now = utcnow()
    rows = {
        "dead": claim_of("-", dead_pid()),
        "live": holder(),
        "old-format": None,
    }
    with Session(svc.engine) as s, s.begin():
        for key, by in rows.items():
            s.add(
                Delivery(
                    dedupe_key=key, purpose="test", subscriber="a", channel="c", status="sending",
                    claimed_at=now, claimed_by=by, next_attempt_at=now, created_at=now, attempts=1,
                )
            )  # fmt: skip
    alive = Liveness(svc.settings, workers=[])
    released = release_dead_claims(svc.engine, alive.dead)
    with Session(svc.engine) as s:
        status = {d.dedupe_key: (d.id, d.status) for d in s.execute(select(Delivery)).scalars()}
    assert released == [status["dead"][0]]
    assert {k: v[1] for k, v in status.items()} == {"dead": "pending", "live": "sending", "old-format": "sending"}


def test_a_dead_workers_unstarted_messages_go_back_once_for_the_rows_pending_from_before_its_death(make_ctx):
    from notifier.ops.recovery import recover

    svc = make_ctx(OFAC)
    now = utcnow()
    rows = {  # key: (status, due seconds ago)
        "pending-old": ("pending", 30),
        "pending-just-now": ("pending", 0),
        "retry-later": ("pending", -60),
        "sending": ("sending", 30),
        "sent": ("sent", 30),
    }
    with Session(svc.engine) as s, s.begin():
        for key, (status, ago) in rows.items():
            at = now - timedelta(seconds=ago)
            s.add(Delivery(dedupe_key=key, purpose="test", subscriber="a", channel="c", status=status,
                           claimed_by=holder() if status == "sending" else None,
                           next_attempt_at=at, created_at=at, attempts=0))  # fmt: skip
    with Session(svc.engine) as s:
        ids = {d.dedupe_key: d.id for d in s.execute(select(Delivery)).scalars()}
    worker_beat(svc.settings, "live@other")
    assert recover(svc).deliveries == [], "every worker alive: nothing handed over"
    worker_beat(svc.settings, "gone@other", age=10)  # its heartbeat stopped
    found = recover(svc)
    assert found.deliveries == [ids["pending-old"]], "not a row a live worker is taking this second"
    assert [i for i, _ in found.later] == [ids["retry-later"]] and 55 < found.later[0][1] <= 60, "its countdown"
    assert recover(svc).deliveries == [] and recover(svc).later == [], "once per dead worker"
    assert {w.beat.name: w.state for w in collect(svc).workers}["gone@other[deliver,poll]"] == "lost"
    gone = Heartbeat("worker", "killed@here[deliver]", pid=dead_pid(), seen_at=utcnow() - timedelta(seconds=7))
    heartbeat_store(svc.settings).write(gone)  # same host, pid gone: dead before its heartbeat is stale
    assert recover(svc).deliveries == [ids["pending-old"]]


HOLD = """
import sys, time
from pathlib import Path
from notifier.ingest.locks import source_lock
from notifier.ops.liveness import holder
with source_lock("poll:src", redis_url=sys.argv[1] or None, lock_dir=Path(sys.argv[2]), ttl=30, owner=holder()) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(60)
"""


def hold_lock(redis_url: str, lock_dir) -> subprocess.Popen:  # noqa: ANN001
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, redis_url, str(lock_dir)], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_the_poll_lock_of_a_killed_worker_is_released_at_once_and_a_live_one_kept(tmp_path, kind):
    redis_url = ""
    if kind == "redis":
        from tests.support.servers import RedisServer

        server = RedisServer(tmp_path / "redis").start()
        redis_url = server.url()
    try:
        settings = Settings(data_dir=tmp_path, broker_url=redis_url or None)
        lock_dir = tmp_path / "locks"
        proc = hold_lock(redis_url, lock_dir)
        release = dict(prefix="poll:", redis_url=redis_url or None, lock_dir=lock_dir)
        assert release_dead(**release, is_dead=Liveness(settings, workers=[]).dead) == [], "its holder lives"
        with source_lock("poll:src", redis_url=redis_url or None, lock_dir=lock_dir, ttl=30) as held:
            assert not held
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        exact = dict(redis_url=redis_url or None, lock_dir=lock_dir, exact=True)
        assert release_dead("poll:sr", **exact, is_dead=Liveness(settings, workers=[]).dead) == [], "another name"
        assert release_dead(**release, is_dead=Liveness(settings, workers=[]).dead) == ["poll:src"]
        assert release_dead(**release, is_dead=Liveness(settings, workers=[]).dead) == [], "released once"
        with source_lock("poll:src", redis_url=redis_url or None, lock_dir=lock_dir, ttl=30, owner=holder()) as held:
            assert held
        assert release_dead(**release, is_dead=lambda _: True) == [], "a clean release leaves no holder behind"
    finally:
        if kind == "redis":
            server.stop()


def test_a_repoll_after_a_dead_workers_poll_hands_over_the_rows_it_committed_but_never_sent(make_ctx, monkeypatch):
    import tasks.poll as task

    cons = "ofac/consolidated_xml"
    hook = WebhookReceiver()
    try:
        with LocalServer() as server:
            url = server.serve("/cons", real(f"{cons}/2025-10-22_CONSOLIDATED.XML").read_bytes())
            subs = {"subscribers": [{"name": "desk", "channels": [{"url": hook.url()}]}]}
            svc = make_ctx({"us_ofac_cons": {"url": url, "title": "OFAC Consolidated"}}, subs)
            handed: list[int] = []
            monkeypatch.setattr(task, "service", lambda: svc)
            monkeypatch.setattr(task, "enqueue", lambda ids, **_kw: handed.extend(ids))
            task.poll_and_enqueue("us_ofac_cons")
            server.serve("/cons", real(f"{cons}/2025-12-18_CONSOLIDATED.XML").read_bytes())
            poll(svc, "us_ofac_cons")  # the dead worker's poll: committed, killed before handing its rows over
            with Session(svc.engine) as s:
                left = list(s.execute(select(Delivery.id).where(Delivery.status == "pending")).scalars())
            assert left and handed == []
            task.poll_and_enqueue("us_ofac_cons")
            assert handed == [], "an ordinary poll of an unchanged source hands nothing over"
            task.poll_and_enqueue("us_ofac_cons", recovered=True)
            assert handed == left, "the recovery's re-poll hands them over at once, not after the relay's grace"
    finally:
        hook.close()


def test_first_polls_of_twenty_sources_spread_one_per_slot_over_the_window():
    names = [f"poll:s{i}" for i in range(20)]
    delays = first_poll_delays(names, 10.0, random.Random(7))
    assert set(delays) == set(names)
    ordered = sorted(delays.values())
    assert all(0 <= d < 10 for d in ordered)
    assert [int(d // 0.5) for d in ordered] == list(range(20)), "each source in its own half second"


def test_a_beat_taking_over_a_live_schedule_polls_no_later_than_that_schedule_and_at_once_when_overdue():
    now = utcnow()
    five_s, five_m = timedelta(seconds=5), timedelta(minutes=5)
    entries = {
        "poll:live": (five_s, now - timedelta(seconds=3)),  # due in 2 s on the dead leader's schedule
        "poll:overdue": (five_s, now - timedelta(seconds=6)),  # the leader died before sending it
        "poll:slow": (five_m, now - timedelta(minutes=1)),  # due in 4 min: taking the lead polls it soon
        "poll:stood-still": (five_s, now - timedelta(hours=1)),  # a start after an outage: spread
        "poll:new": (five_s, None),
    }
    for seed in range(20):
        stamps = first_poll_stamps(entries, now, 10.0, live_within=12.0, rng=random.Random(seed))
        due = {name: (stamps[name] + entries[name][0] - now).total_seconds() for name in entries}
        assert due["poll:live"] <= 2.0 + 1e-6, "never later than the running schedule"
        assert due["poll:overdue"] < 0, "sent at the new leader's first tick"
        assert 0 <= due["poll:slow"] < 10, "within the first-poll window"
        assert 0 <= due["poll:stood-still"] < 10 and 0 <= due["poll:new"] < 10


def test_a_lost_beat_replaced_by_a_scheduling_one_is_the_hand_over_not_a_problem(make_ctx):
    svc = make_ctx(OFAC)
    store = heartbeat_store(svc.settings)
    now = utcnow()
    old = now - timedelta(seconds=60)
    store.write(Heartbeat("beat", "beat-1@a", seen_at=old, info={"ticked_at": old.isoformat(), "role": "leader"}))
    report = collect(svc)
    assert [b.state for b in report.beats] == ["lost"]
    took_over = (now - timedelta(seconds=5)).isoformat()
    leading = {"ticked_at": now.isoformat(), "role": "leader", "leading_since": took_over}
    store.write(Heartbeat("beat", "beat-2@b", info=leading))
    standby = {"ticked_at": now.isoformat(), "role": "standby"}
    store.write(Heartbeat("beat", "beat-3@b", info=standby))
    report = collect(svc)
    assert {b.beat.name: b.state for b in report.beats} == {
        "beat-1@a": "replaced",
        "beat-2@b": "scheduling",
        "beat-3@b": "standby",
    }
    assert not [p for p in report.all_problems if p.startswith("beat")]
    assert report.as_dict()["beat"]["processes"][1]["leading_since"] == leading["leading_since"]


def test_a_claim_timeout_not_longer_than_the_delivery_timeout_is_a_clear_config_error(monkeypatch):
    monkeypatch.setenv("NOTIFIER_CLAIM_TIMEOUT", "20")
    monkeypatch.setenv("NOTIFIER_DELIVERY_TIMEOUT", "30")
    reset_settings()
    try:
        with pytest.raises(ConfigError, match="NOTIFIER_CLAIM_TIMEOUT \\(20\\) must be longer than NOTIFIER_DELIVERY"):
            get_settings()
    finally:
        reset_settings()
