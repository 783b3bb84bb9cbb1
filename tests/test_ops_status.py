"""`notifier status`'s judgement, on SQLite and PostgreSQL: what a running service looks like when it is healthy,
and each way it is not (a failing, stale or quarantined source, a dead or stuck delivery, a lost worker or beat)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.ingest.pipeline import poll
from notifier.ops.heartbeat import Heartbeat, heartbeat_store
from notifier.ops.status import collect
from notifier.store.models import SourceState
from notifier.timeutil import utcnow
from tests.conftest import real
from tests.support.receivers import WebhookReceiver

CONS = "ofac/consolidated_xml"
NOTIFIER = Path(sys.executable).parent / "notifier"
OFAC = {"us_ofac_cons": {"url": "x", "title": "OFAC Consolidated", "schedule": "5m"}}


def live(settings, *, worker_age: float = 0, queues=("poll", "deliver"), ticked: bool = True, host: str = "test"):
    """Heartbeats as a running worker, beat and relay leave them, `worker_age` seconds ago."""
    store = heartbeat_store(settings)
    now = utcnow()
    since = now - timedelta(minutes=10)
    store.write(
        Heartbeat(
            "worker",
            f"celery@{host}[{','.join(queues)}]",
            host=host,
            started_at=since,
            seen_at=now - timedelta(seconds=worker_age),
            info={"queues": list(queues)},
        )
    )
    info = {"ticked_at": now.isoformat(), "tick_limit": 10.0} if ticked else {"ticked_at": None}
    store.write(Heartbeat("beat", f"beat@{host}", host=host, started_at=since, info=info))
    store.write(Heartbeat("task", "relay", started_at=since, info={"relayed": 0}))


def cli_env(settings, **extra: str) -> dict[str, str]:
    """The environment that points a `notifier` subprocess at a test's service."""
    return {
        **os.environ,
        "NOTIFIER_DATA_DIR": str(settings.data_dir),
        "NOTIFIER_DATABASE_URL": settings.db_url,
        "NOTIFIER_SOURCES_FILE": str(settings.sources_file),
        "NOTIFIER_SUBSCRIPTIONS_FILE": str(settings.subscriptions_file),
        "NOTIFIER_HEARTBEAT_INTERVAL": str(settings.heartbeat_interval),
        "NOTIFIER_LOG_LEVEL": "WARNING",
        **extra,
    }


def baseline(svc, name: str = "2025-10-22_CONSOLIDATED.XML"):
    return poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/{name}"))})


def test_fresh_polls_live_workers_and_a_scheduling_beat_read_healthy(make_ctx):
    svc = make_ctx(OFAC)
    baseline(svc)
    live(svc.settings)
    report = collect(svc)
    assert report.healthy, report.all_problems
    data = report.as_dict()
    [src] = data["sources"]
    assert src["condition"] == "ok" and src["records"] == 443 and src["last_poll_duration_s"] is not None
    assert data["queues"] == {"poll": 0, "deliver": 0}
    assert [w["state"] for w in data["workers"]] == ["alive"]
    assert [b["state"] for b in data["beat"]["processes"]] == ["scheduling"]
    assert data["beat"]["relay_last_relayed"] == 0


def test_a_source_never_polled_is_starting_not_healthy_until_its_first_poll(make_ctx):
    svc = make_ctx({**OFAC, "un_sc": {"url": "x", "enabled": False}})
    live(svc.settings)
    report = collect(svc)
    assert [s.condition for s in report.sources] == ["disabled", "starting"]
    assert not report.all_problems and not report.healthy
    assert report.as_dict()["condition"] == "starting"
    assert report.as_dict()["waiting_for_first_poll"] == ["us_ofac_cons"]
    baseline(svc)
    report = collect(svc)
    assert report.healthy and report.condition == "healthy", report.all_problems


def test_failed_polls_turn_a_source_unhealthy_at_the_threshold(make_ctx, tmp_path):
    svc = make_ctx(OFAC, ops_failure_threshold=3)
    baseline(svc)
    live(svc.settings)
    missing = str(tmp_path / "gone.xml")
    for expected_healthy in (True, True, False):
        poll(svc, "us_ofac_cons", {"main": missing})
        assert collect(svc).healthy is expected_healthy
    [problem] = collect(svc).all_problems
    assert problem.startswith("source us_ofac_cons: 3 failed polls in a row:") and "gone.xml" in problem


def test_a_source_that_never_succeeded_is_unhealthy_at_once(make_ctx, tmp_path):
    svc = make_ctx(OFAC)
    live(svc.settings)
    poll(svc, "us_ofac_cons", {"main": str(tmp_path / "gone.xml")})
    assert [p.split(":")[1].strip() for p in collect(svc).all_problems] == ["polled but never succeeded"]


def test_a_source_is_stale_when_its_last_success_is_older_than_twice_its_schedule(make_ctx):
    svc = make_ctx(OFAC)  # polled every 5 minutes
    baseline(svc)
    last = collect(svc).sources[0].state.last_success_at
    assert collect(svc, now=last + timedelta(minutes=9, seconds=59)).sources[0].problems == []
    [problem] = collect(svc, now=last + timedelta(minutes=10, seconds=1)).sources[0].problems
    assert problem == "stale: last success 10m ago (polled every 5m)"


def test_a_quarantined_last_snapshot_makes_the_source_unhealthy(make_ctx, tmp_path):
    svc = make_ctx(OFAC)
    baseline(svc)
    live(svc.settings)
    page = tmp_path / "error.xml"
    page.write_text("<html><body>Service unavailable</body></html>")
    assert poll(svc, "us_ofac_cons", {"main": str(page)}).status == "quarantined"
    report = collect(svc)
    [problem] = report.all_problems
    assert problem.startswith("source us_ofac_cons: last snapshot quarantined:")
    assert report.as_dict()["sources"][0]["quarantines"] == 1


def test_a_dead_delivery_is_unhealthy_until_acknowledged_and_a_retry_sends_it(make_ctx):
    from notifier.alerts.dead_letters import acknowledge, list_deliveries, retry

    hook = WebhookReceiver()
    try:
        subs = {"subscribers": [{"name": "analysts", "channels": [{"url": hook.url()}]}]}
        svc = make_ctx(OFAC, subs, delivery_max_attempts=1)
        baseline(svc)
        baseline(svc, "2025-12-18_CONSOLIDATED.XML")
        live(svc.settings)
        hook.responses = [500]
        [delivery_id] = due(svc.engine)
        assert deliver_one(svc, delivery_id).status == "dead"
        report = collect(svc)
        assert report.all_problems == [
            "outbox: 1 dead deliveries not acknowledged (see `notifier outbox list`, then retry or ack them)"
        ]
        assert report.as_dict()["outbox"]["by_channel"] == {"json": {"dead": 1}}
        assert [r.id for r in list_deliveries(svc.engine)] == [delivery_id]

        assert acknowledge(svc.engine, [delivery_id]) == [delivery_id]
        assert collect(svc).healthy and list_deliveries(svc.engine) == []

        retry(svc.engine, delivery_id, svc.settings.relay_grace)
        assert deliver_one(svc, delivery_id).status == "sent"
        assert "KAYAKIRAN, Evren" in hook.wait(1)[0]["message"]
        assert collect(svc).healthy
    finally:
        hook.close()


def test_a_delivery_unsent_longer_than_the_limit_is_unhealthy(make_ctx):
    hook = WebhookReceiver()
    try:
        subs = {"subscribers": [{"name": "analysts", "channels": [{"url": hook.url()}]}]}
        svc = make_ctx(OFAC, subs, ops_outbox_max_age=600)
        baseline(svc)
        baseline(svc, "2025-12-18_CONSOLIDATED.XML")  # one delivery, due now, and no worker sends it
        created = collect(svc).outbox.oldest_due
        assert collect(svc, now=created + timedelta(seconds=599)).outbox.problems == []
        [problem] = collect(svc, now=created + timedelta(seconds=700)).outbox.problems
        assert problem.startswith("a delivery due 12m ago is still unsent (limit 10m)")
    finally:
        hook.close()


def test_a_worker_whose_heartbeat_stopped_is_lost_and_its_queues_uncovered(make_ctx):
    svc = make_ctx(OFAC, heartbeat_interval=10)
    baseline(svc)
    live(svc.settings, worker_age=29)
    assert collect(svc).healthy
    live(svc.settings, worker_age=31)
    problems = collect(svc).all_problems
    assert problems[:3] == [
        "worker celery@test[poll,deliver]: lost, last heartbeat 31s ago",
        "queue poll: no live worker consumes it",
        "queue deliver: no live worker consumes it",
    ]


def test_each_queue_needs_a_live_worker_of_its_own(make_ctx):
    svc = make_ctx(OFAC)
    baseline(svc)
    live(svc.settings, queues=("poll",))
    assert collect(svc).all_problems == ["queue deliver: no live worker consumes it"]


def test_beat_waiting_for_the_lock_is_standby_and_one_must_be_scheduling(make_ctx):
    svc = make_ctx(OFAC)
    baseline(svc)
    live(svc.settings, ticked=False)
    report = collect(svc)
    assert [b.state for b in report.beats] == ["standby"]
    assert report.all_problems == ["beat: no beat process is scheduling (polls and the outbox relay do not run)"]


def test_a_relay_that_stopped_running_shows_although_beat_and_workers_live(make_ctx):
    svc = make_ctx(OFAC, relay_interval=5)
    baseline(svc)
    live(svc.settings)
    store = heartbeat_store(svc.settings)
    store.write(Heartbeat("task", "relay", seen_at=utcnow() - timedelta(minutes=5), info={"relayed": 0}))
    [problem] = collect(svc).all_problems
    assert problem == "beat: the outbox relay has not run for 5m (scheduled every 5s)"


def test_status_and_health_commands_exit_non_zero_when_unhealthy(make_ctx, tmp_path):
    svc = make_ctx(OFAC, heartbeat_interval=30)  # alive for 90 s after a heartbeat: a slow CLI start is not a death
    baseline(svc)
    with Session(svc.engine) as s, s.begin():
        s.execute(update(SourceState).values(consecutive_failures=5, last_error="HTTP 503"))
    import socket

    env = cli_env(svc.settings)

    def cli(*args: str, worker_age: float = 0) -> subprocess.CompletedProcess:
        """The command, run just after the worker and beat here left their heartbeats (`worker_age` s ago)."""
        live(svc.settings, host=socket.gethostname(), worker_age=worker_age)
        return subprocess.run(
            [str(NOTIFIER), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )

    table = cli("status")
    assert table.returncode == 1, table.stderr
    assert "UNHEALTHY (1 problems)" in table.stdout and "5 failed polls in a row: HTTP 503" in table.stdout
    as_json = cli("status", "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["problems"] == [
        "source us_ofac_cons: 5 failed polls in a row: HTTP 503"
    ]
    worker = cli("health", "worker")
    assert (worker.returncode, worker.stdout.split(":")[0]) == (0, "ok")
    beat = cli("health", "beat")
    assert beat.returncode == 0 and "scheduling" in beat.stdout
    lost = cli("health", "worker", worker_age=600)
    assert lost.returncode == 1 and len(lost.stdout.strip().splitlines()) == 1 and "lost" in lost.stdout
    assert cli("health", "flower").returncode == 2


def test_a_broker_that_does_not_answer_is_reported_not_raised(make_ctx):
    from tests.support.receivers import free_port

    svc = make_ctx(OFAC)
    svc.settings.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    baseline(svc)
    report = collect(svc)
    assert report.queues is None
    assert [p.split(":")[0] for p in report.problems] == ["broker", "workers and beat"]


@pytest.mark.parametrize("kind", ["worker", "beat"])
def test_a_process_never_seen_on_this_host_is_unhealthy(make_ctx, kind):
    from notifier.ops.health import check_local

    svc = make_ctx(OFAC)
    live(svc.settings, host="elsewhere")
    verdict = check_local(kind, svc.settings, host="here")
    assert (
        not verdict.healthy
        and verdict.why == f"no {kind} has ever reported from here (not started yet, or stopped cleanly)"
    )
    assert check_local(kind, svc.settings, host="elsewhere").healthy


def test_sources_yaml_schedule_feeds_the_stale_rule(make_ctx):
    svc = make_ctx({"us_ofac_cons": {"url": "x", "schedule": "1h"}})
    baseline(svc)
    last = collect(svc).sources[0].state.last_success_at
    assert collect(svc, now=last + timedelta(minutes=119)).sources[0].problems == []
    assert collect(svc, now=last + timedelta(minutes=121)).sources[0].problems
    assert yaml.safe_load(svc.settings.sources_file.read_text())["sources"]["us_ofac_cons"]["schedule"] == "1h"


def test_the_queue_key_layout_copied_from_kombu_still_matches_it():
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    from notifier.ops import queues

    assert tuple(PRIORITY_STEPS) == queues.PRIORITY_STEPS and Channel.sep == queues.SEP
