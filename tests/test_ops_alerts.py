"""Ops alerts raised by housekeeping: a stale source (once per episode) and a relay backlog (once an hour),
delivered through the ops channels like every other alert, never to subscribers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.ops_alerts import alert_relay_backlog, alert_stale_sources
from notifier.ingest.pipeline import poll
from notifier.store.models import Delivery, SourceState
from notifier.timeutil import utcnow
from tests.conftest import real
from tests.support.receivers import WebhookReceiver

CONS = "ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"


def subscribers(ops: WebhookReceiver, analysts: WebhookReceiver) -> dict:
    return {
        "subscribers": [
            {"name": "ops", "tags": ["ops"], "channels": [{"url": ops.url()}]},
            {"name": "analysts", "channels": [{"url": analysts.url()}]},
        ]
    }


def set_last_success(svc, ago: timedelta) -> None:
    with Session(svc.engine) as s, s.begin():
        s.execute(update(SourceState).values(last_success_at=utcnow() - ago))


def test_a_stale_source_alerts_ops_once_per_episode(make_ctx):
    ops, analysts = WebhookReceiver(), WebhookReceiver()
    try:
        sources = {"us_ofac_cons": {"url": "x", "title": "OFAC Consolidated", "schedule": "5m"}}
        svc = make_ctx(sources, subscribers(ops, analysts))
        assert alert_stale_sources(svc) == [], "never polled: nothing to say yet"
        poll(svc, "us_ofac_cons", {"main": str(real(CONS))})
        set_last_success(svc, timedelta(minutes=9))
        assert alert_stale_sources(svc) == []
        set_last_success(svc, timedelta(minutes=11))
        [first] = alert_stale_sources(svc)
        assert alert_stale_sources(svc) == [] and alert_stale_sources(svc) == [], "one alert per episode"
        assert deliver_one(svc, first).status == "sent"
        [message] = ops.wait(1)
        assert message["title"] == "OFAC Consolidated: no successful poll for 11m"
        assert "us_ofac_cons has not been polled successfully for 11m" in message["message"]
        assert analysts.received == [], "subscribers never get ops alerts"

        set_last_success(svc, timedelta(minutes=30))  # a new success, then stale again: a new episode
        assert len(alert_stale_sources(svc)) == 1
    finally:
        ops.close()
        analysts.close()


def test_disabled_sources_and_services_without_ops_channels_raise_nothing(make_ctx):
    svc = make_ctx({"us_ofac_cons": {"url": "x", "schedule": "5m"}})
    poll(svc, "us_ofac_cons", {"main": str(real(CONS))})
    set_last_success(svc, timedelta(hours=2))
    assert alert_stale_sources(svc) == [], "no ops channel configured"
    ops, analysts = WebhookReceiver(), WebhookReceiver()
    try:
        svc = make_ctx({"us_ofac_cons": {"url": "x", "enabled": False}}, subscribers(ops, analysts))
        assert alert_stale_sources(svc) == []
    finally:
        ops.close()
        analysts.close()


def test_a_relay_backlog_above_the_limit_alerts_ops_once_an_hour(make_ctx):
    ops, analysts = WebhookReceiver(), WebhookReceiver()
    try:
        svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subscribers(ops, analysts), ops_relay_backlog=100)
        now = utcnow().replace(minute=5)
        assert alert_relay_backlog(svc, 100, now) == []
        [alert] = alert_relay_backlog(svc, 250, now)
        assert alert_relay_backlog(svc, 300, now + timedelta(minutes=30)) == []
        assert len(alert_relay_backlog(svc, 300, now + timedelta(hours=1))) == 1
        with Session(svc.engine) as s:
            row = s.execute(select(Delivery).where(Delivery.id == alert)).scalar_one()
        assert (row.purpose, row.subscriber) == ("ops", "ops")
        assert row.title == "Outbox backlog: the relay re-enqueued 250 deliveries"
    finally:
        ops.close()
        analysts.close()


def test_the_relay_task_records_its_run_and_raises_the_backlog_alert(make_ctx, monkeypatch):
    """The worker-side hook: after each relay run, a heartbeat for status and, past the limit, the alert."""
    import tasks.ops as ops_tasks
    from notifier.ops.heartbeat import heartbeat_store
    from tasks.deliver import relay

    ops, analysts = WebhookReceiver(), WebhookReceiver()
    try:
        svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subscribers(ops, analysts), ops_relay_backlog=2)
        monkeypatch.setattr(ops_tasks, "service", lambda: svc)
        monkeypatch.setattr(ops_tasks, "get_settings", lambda: svc.settings)
        enqueued: list[list[int]] = []
        monkeypatch.setattr(ops_tasks, "enqueue", enqueued.append)
        ops_tasks._after_relay(sender=relay, retval=1, state="SUCCESS")
        [beat] = heartbeat_store(svc.settings).read("task")
        assert beat.name == "relay" and beat.info == {"relayed": 1}
        assert enqueued == [[]]
        ops_tasks._after_relay(sender=relay, retval=5, state="SUCCESS")
        assert len(enqueued[-1]) == 1 and heartbeat_store(svc.settings).read("task")[0].info == {"relayed": 5}
        ops_tasks._after_relay(sender=relay, retval=None, state="FAILURE")
        assert len(enqueued) == 2, "a failed relay run proves nothing"
    finally:
        ops.close()
        analysts.close()
