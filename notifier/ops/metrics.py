"""Prometheus metrics, computed at scrape time from the same report as `notifier status`.

A custom collector rather than in-process counters: every scrape reads the database, the broker and the
heartbeats, so any process (`notifier metrics`, or a worker with NOTIFIER_METRICS_PORT) reports the whole
service truthfully, across processes and restarts. Counts of outbox rows are gauges: pruning removes rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from notifier.context import Context
from notifier.ops.queues import QUEUES
from notifier.ops.status import UNSENT, Report, collect

log = logging.getLogger("notifier.ops.metrics")


def _gauge(name: str, doc: str, value: float | None = None, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value, labels=labels)


def source_metrics(report: Report) -> Iterator[Metric]:
    labels = ["source"]
    healthy = _gauge(
        "notifier_source_healthy", "1 when the source has been polled and passes every health rule", labels=labels
    )
    polled = _gauge("notifier_source_polled", "1 once the source has been polled since it was added", labels=labels)
    age = _gauge("notifier_source_last_success_age_seconds", "Seconds since the last successful poll", labels=labels)
    stamp = _gauge("notifier_source_last_success_timestamp_seconds", "Time of the last successful poll", labels=labels)
    schedule = _gauge("notifier_source_schedule_seconds", "How often the source is polled", labels=labels)
    duration = _gauge("notifier_source_poll_duration_seconds", "Seconds the last poll took", labels=labels)
    records = _gauge("notifier_source_records", "Records in the source's current state", labels=labels)
    failures = _gauge("notifier_source_consecutive_failures", "Failed or quarantined polls in a row", labels=labels)
    quarantined = _gauge("notifier_source_quarantined", "1 when the last snapshot was quarantined", labels=labels)
    changes = CounterMetricFamily(
        "notifier_source_changes", "Change events recorded, by type", labels=["source", "change"]
    )
    quarantines = CounterMetricFamily("notifier_source_quarantines", "Snapshots quarantined", labels=labels)
    for s in report.sources:
        if not s.enabled:
            continue
        sid, st = [s.source], s.state
        healthy.add_metric(sid, 0 if s.problems or s.never_polled else 1)
        polled.add_metric(sid, 0 if s.never_polled else 1)
        schedule.add_metric(sid, s.schedule)
        if st is not None and st.last_success_at is not None:
            age.add_metric(sid, (report.at - st.last_success_at).total_seconds())
            stamp.add_metric(sid, st.last_success_at.timestamp())
        if s.last_duration is not None:
            duration.add_metric(sid, s.last_duration)
        if st is not None and st.record_count is not None:
            records.add_metric(sid, st.record_count)
        failures.add_metric(sid, st.consecutive_failures if st else 0)
        quarantined.add_metric(sid, 1 if st and st.last_status == "quarantined" else 0)
        for kind, n in s.changes.items():
            changes.add_metric([s.source, kind], n)
        quarantines.add_metric(sid, s.quarantines)
    yield from (healthy, polled, age, stamp, schedule, duration, records, failures, quarantined, changes, quarantines)


def outbox_metrics(report: Report) -> Iterator[Metric]:
    box = report.outbox
    yield _gauge("notifier_outbox_pending", "Deliveries waiting to be sent (pending or being sent)", box.count(*UNSENT))
    oldest = (report.at - box.oldest_due).total_seconds() if box.oldest_due else 0.0
    yield _gauge("notifier_outbox_oldest_due_age_seconds", "Seconds the longest-waiting unsent delivery is due", oldest)
    yield _gauge("notifier_outbox_dead", "Dead deliveries not acknowledged (notifier outbox list)", box.count("dead"))
    rows = _gauge(
        "notifier_deliveries",
        "Outbox rows by channel type and status (sent rows leave after the retention period)",
        labels=["channel_type", "status"],
    )
    for (ctype, status), n in sorted(box.rows.items()):
        rows.add_metric([ctype or "-", status], n)
    yield rows
    retries = _gauge(
        "notifier_delivery_retries", "Send attempts beyond the first, by channel type", labels=["channel_type"]
    )
    for ctype, n in sorted(box.retries.items()):
        retries.add_metric([ctype or "-"], n)
    yield retries


def process_metrics(report: Report) -> Iterator[Metric]:
    yield _gauge("notifier_broker_up", "1 when the queue lengths could be read", 1 if report.queues is not None else 0)
    lengths = _gauge("notifier_queue_length", "Messages waiting in a Celery queue", labels=["queue"])
    alive = _gauge("notifier_workers_alive", "Live workers consuming a queue", labels=["queue"])
    for q in QUEUES:
        if report.queues is not None:
            lengths.add_metric([q], report.queues.get(q, 0))
        alive.add_metric([q], report.live_workers(q))
    yield from (lengths, alive)
    yield _gauge("notifier_workers_lost", "Workers whose heartbeat stopped", sum(not w.healthy for w in report.workers))
    scheduling = sum(b.state == "scheduling" for b in report.beats)
    yield _gauge("notifier_beat_scheduling", "Beat processes that are scheduling", scheduling)
    relay = _gauge("notifier_relay_last_run_age_seconds", "Seconds since the outbox relay last ran")
    if report.relay is not None:
        relay.add_metric([], report.relay.age(report.at))
    yield relay


class ServiceCollector(Collector):
    """Builds the status report on every scrape; a database that does not answer reads as notifier_up 0."""

    def __init__(self, context: Callable[[], Context]) -> None:
        self.context = context
        self.lock = threading.Lock()  # one report at a time: parallel scrapes must not pile up queries

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        with self.lock:
            try:
                report = collect(self.context())
            except Exception as exc:  # a scrape reports failure, it never raises
                log.error("metrics: status could not be read", extra={"error": str(exc)})
                report = None
        yield _gauge("notifier_up", "1 when the database answered this scrape", 0 if report is None else 1)
        if report is not None:
            yield _gauge("notifier_healthy", "1 when `notifier status` says healthy", int(report.healthy))
            yield _gauge(
                "notifier_starting", "1 while an enabled source waits for its first poll", int(bool(report.waiting_for))
            )
            yield from source_metrics(report)
            yield from outbox_metrics(report)
            yield from process_metrics(report)
        yield _gauge("notifier_scrape_duration_seconds", "Seconds this scrape took", time.monotonic() - started)


def registry_for(context: Callable[[], Context]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(context))
    return registry


def serve(addr: str, port: int, context: Callable[[], Context] | None = None) -> threading.Thread:
    """Serve /metrics on a daemon thread; the context is built on the first scrape unless given."""
    if context is None:
        context = _worker_context
    _server, thread = start_http_server(port, addr=addr, registry=registry_for(context))
    log.info("metrics endpoint listening", extra={"addr": addr, "port": port})
    return thread


@cache
def _worker_context() -> Context:
    from notifier.app import build_service

    return build_service(with_subscribers=False)
