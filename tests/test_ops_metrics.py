"""The Prometheus exporter: read from the database at scrape time, so it tells the same truth as
`notifier status`; the ready-made alert rules use only metrics it exposes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.ingest.pipeline import poll
from notifier.ops.metrics import registry_for
from notifier.store.models import Delivery
from tests.conftest import REPO
from tests.support.receivers import WebhookReceiver, free_port
from tests.test_ops_status import OFAC, baseline, cli_env, live

NOTIFIER = Path(sys.executable).parent / "notifier"


def scrape(svc, context=None) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, as Prometheus would read them."""
    text = generate_latest(registry_for(context or (lambda: svc))).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_a_healthy_service_reads_healthy_with_every_figure(make_ctx):
    svc = make_ctx(OFAC)
    baseline(svc)
    baseline(svc, "2025-12-18_CONSOLIDATED.XML")
    live(svc.settings)
    m = scrape(svc)
    assert value(m, "notifier_up") == 1 and value(m, "notifier_healthy") == 1
    src = {"source": "us_ofac_cons"}
    assert value(m, "notifier_source_healthy", **src) == 1
    assert 0 <= value(m, "notifier_source_last_success_age_seconds", **src) < 60
    assert value(m, "notifier_source_schedule_seconds", **src) == 300
    assert value(m, "notifier_source_records", **src) == 442
    assert value(m, "notifier_source_changes_total", change="removed", **src) == 1
    assert value(m, "notifier_source_changes_total", change="added", **src) == 0
    assert value(m, "notifier_source_quarantines_total", **src) == 0
    assert value(m, "notifier_source_poll_duration_seconds", **src) > 0
    assert value(m, "notifier_queue_length", queue="poll") == 0 and value(m, "notifier_broker_up") == 1
    assert value(m, "notifier_workers_alive", queue="deliver") == 1 and value(m, "notifier_beat_scheduling") == 1
    assert value(m, "notifier_relay_last_run_age_seconds") < 60


def test_a_source_never_polled_reads_starting_not_healthy(make_ctx):
    svc = make_ctx(OFAC)
    live(svc.settings)
    m = scrape(svc)
    src = {"source": "us_ofac_cons"}
    assert value(m, "notifier_source_healthy", **src) == 0 and value(m, "notifier_source_polled", **src) == 0
    assert value(m, "notifier_healthy") == 0 and value(m, "notifier_starting") == 1
    baseline(svc)
    m = scrape(svc)
    assert value(m, "notifier_source_healthy", **src) == 1 and value(m, "notifier_source_polled", **src) == 1
    assert value(m, "notifier_healthy") == 1 and value(m, "notifier_starting") == 0


def test_a_failing_source_and_a_dead_delivery_read_unhealthy(make_ctx, tmp_path):
    hook = WebhookReceiver()
    try:
        subs = {"subscribers": [{"name": "analysts", "channels": [{"url": hook.url()}]}]}
        svc = make_ctx(OFAC, subs, delivery_max_attempts=2, ops_failure_threshold=2)
        baseline(svc)
        baseline(svc, "2025-12-18_CONSOLIDATED.XML")
        live(svc.settings)
        hook.responses = [500, 500]
        [delivery_id] = due(svc.engine)
        assert deliver_one(svc, delivery_id).status == "retry"
        m = scrape(svc)
        assert (
            value(m, "notifier_outbox_pending") == 1 and value(m, "notifier_delivery_retries", channel_type="json") == 0
        )
        with Session(svc.engine) as s, s.begin():  # the retry is due now rather than in 30 s
            s.execute(update(Delivery).values(next_attempt_at=Delivery.created_at))
        assert deliver_one(svc, delivery_id).status == "dead"
        for _ in range(2):
            poll(svc, "us_ofac_cons", {"main": str(tmp_path / "missing.xml")})
        m = scrape(svc)
        assert value(m, "notifier_healthy") == 0
        assert value(m, "notifier_source_healthy", source="us_ofac_cons") == 0
        assert value(m, "notifier_source_consecutive_failures", source="us_ofac_cons") == 2
        assert value(m, "notifier_outbox_dead") == 1
        assert value(m, "notifier_deliveries", channel_type="json", status="dead") == 1
        assert value(m, "notifier_delivery_retries", channel_type="json") == 1
    finally:
        hook.close()


def test_a_database_that_does_not_answer_reads_as_down_not_as_an_error():
    def broken():
        raise ConnectionError("database is down")

    m = scrape(None, broken)
    assert value(m, "notifier_up") == 0 and ("notifier_healthy", ()) not in m


def test_alert_rules_parse_and_use_only_exposed_metrics(make_ctx):
    svc = make_ctx(OFAC)
    baseline(svc)
    live(svc.settings)
    exposed = {name for name, _ in scrape(svc)}
    rules = yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text())
    alerts = [r for group in rules["groups"] for r in group["rules"]]
    assert {"NotifierSourceStale", "NotifierOutboxBacklogGrowing", "NotifierDeadDeliveries"} <= {
        r["alert"] for r in alerts
    }
    for rule in alerts:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        used = set(re.findall(r"\bnotifier_[a-z0-9_]+", rule["expr"]))
        assert used and used <= exposed, f"{rule['alert']}: {used - exposed} not exposed"
        assert rule["expr"].count("(") == rule["expr"].count(")")


def test_notifier_metrics_serves_the_endpoint(make_ctx, tmp_path):
    svc = make_ctx(OFAC)
    baseline(svc)
    port = free_port()
    env = cli_env(svc.settings)
    proc = subprocess.Popen(
        [str(NOTIFIER), "metrics", "--port", str(port), "--addr", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert body is not None, "the endpoint never answered"
        assert 'notifier_source_records{source="us_ofac_cons"} 443.0' in body
        assert "notifier_up 1.0" in body
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_bad_metrics_port_setting_names_the_variable(tmp_path, port):
    result = subprocess.run(
        [str(NOTIFIER), "health", "worker"],
        env={**os.environ, "NOTIFIER_METRICS_PORT": port, "NOTIFIER_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "NOTIFIER_METRICS_PORT" in result.stderr
