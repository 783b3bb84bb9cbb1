"""The whole service at a glance: sources, queues, outbox, workers and beat, each judged healthy or not.

One report feeds `notifier status` (table or JSON) and the Prometheus exporter, so the two always agree. It is
read when asked for, from the database, the broker and the heartbeats, never from counters kept in one
process, so it tells the truth across processes, machines and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from notifier.ops.health import ago, beat_state, worker_state
from notifier.ops.heartbeat import Heartbeat, Unreachable, heartbeat_store, stale_after
from notifier.ops.queues import QUEUES, queue_lengths
from notifier.redact import scrub
from notifier.store.dbapi import Reader, open_reader, utc
from notifier.timeutil import utcnow

if TYPE_CHECKING:  # the pipeline is not needed to read a status (`notifier status` starts faster)
    from notifier.context import Context

STALE_FACTOR = 2  # a source is stale when its last success is older than this many schedule intervals
UNSENT = ("pending", "sending")  # rows a worker still owes; "held" rows wait for their digest time
RELAY_TASK = "relay"  # the heartbeat the relay task leaves: proof that beat schedules and a worker runs


def is_stale(schedule: float, last_success: datetime | None, now: datetime) -> bool:
    return last_success is not None and (now - last_success).total_seconds() > STALE_FACTOR * schedule


@dataclass
class SourceState:
    """What a status reads of a source's stored state (store.models.SourceState's columns of the same names),
    read with plain SQL: importing SQLAlchemy and the models cost `notifier status` more than its goal."""

    source: str
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_change_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    record_count: int | None = None


def source_problems(state: SourceState | None, schedule: float, failure_threshold: int, now: datetime) -> list[str]:
    """Why a source is unhealthy (empty when it is fine or has never been polled)."""
    if state is None or state.last_poll_at is None:
        return []
    error = scrub(state.last_error or "")
    problems = []
    if state.last_success_at is None:
        problems.append(f"polled but never succeeded: {error}")
    elif is_stale(schedule, state.last_success_at, now):
        problems.append(
            f"stale: last success {ago((now - state.last_success_at).total_seconds())} ago "
            f"(polled every {ago(schedule)})"
        )
    if state.consecutive_failures >= failure_threshold:
        problems.append(f"{state.consecutive_failures} failed polls in a row: {error}")
    if state.last_status == "quarantined":
        problems.append(f"last snapshot quarantined: {error}")
    return problems


@dataclass
class SourceHealth:
    source: str
    enabled: bool
    schedule: float
    state: SourceState | None
    last_duration: float | None = None  # seconds the last poll took
    changes: dict[str, int] = field(default_factory=lambda: {"added": 0, "removed": 0, "amended": 0})
    quarantines: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def condition(self) -> str:
        if not self.enabled:
            return "disabled"
        if self.problems:
            return "unhealthy"
        return "starting" if self.never_polled else "ok"

    @property
    def never_polled(self) -> bool:
        return self.state is None or self.state.last_poll_at is None


@dataclass
class OutboxHealth:
    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel type, status) -> rows
    retries: dict[str, int] = field(default_factory=dict)  # channel type -> sends beyond the first
    oldest_due: datetime | None = None  # when the longest-waiting unsent row became due
    problems: list[str] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(n for (_, status), n in self.rows.items() if status in statuses)


@dataclass
class ProcessHealth:
    beat: Heartbeat
    state: str  # worker: alive | lost; beat: scheduling | standby | stalled | lost | replaced

    @property
    def healthy(self) -> bool:
        # "replaced": a beat that died after another beat took the lead from it (the hand-over happened)
        return self.state in ("alive", "scheduling", "standby", "replaced")


@dataclass
class Report:
    at: datetime
    sources: list[SourceHealth]
    outbox: OutboxHealth
    queues: dict[str, int] | None = None
    workers: list[ProcessHealth] = field(default_factory=list)
    beats: list[ProcessHealth] = field(default_factory=list)
    relay: Heartbeat | None = None
    problems: list[str] = field(default_factory=list)  # of queues, workers and beat

    @property
    def all_problems(self) -> list[str]:
        found = [f"source {s.source}: {p}" for s in self.sources for p in s.problems]
        return found + [f"outbox: {p}" for p in self.outbox.problems] + self.problems

    @property
    def waiting_for(self) -> list[str]:
        """Enabled sources not polled yet: the service is starting, not healthy, until each has been."""
        return [s.source for s in self.sources if s.enabled and s.never_polled]

    @property
    def healthy(self) -> bool:
        return not self.all_problems and not self.waiting_for

    @property
    def condition(self) -> str:
        if self.all_problems:
            return "unhealthy"
        return "starting" if self.waiting_for else "healthy"

    def live_workers(self, queue: str) -> int:
        return sum(1 for w in self.workers if w.healthy and queue in w.beat.info.get("queues", []))

    def as_dict(self) -> dict[str, Any]:
        """The report for scripts (`notifier status --json`): ages in seconds, times in ISO 8601 UTC."""

        def when(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        def age(t: datetime | None) -> float | None:
            return round((self.at - t).total_seconds(), 1) if t else None

        by_channel: dict[str, dict[str, int]] = {}
        for (ctype, status), n in sorted(self.outbox.rows.items()):
            by_channel.setdefault(ctype or "-", {})[status] = n
        return {
            "healthy": self.healthy,
            "condition": self.condition,
            "waiting_for_first_poll": self.waiting_for,
            "problems": self.all_problems,
            "at": when(self.at),
            "sources": [
                {
                    "source": s.source,
                    "condition": s.condition,
                    "enabled": s.enabled,
                    "schedule_s": s.schedule,
                    "last_poll": when(s.state and s.state.last_poll_at),
                    "last_success": when(s.state and s.state.last_success_at),
                    "last_success_age_s": age(s.state and s.state.last_success_at),
                    "last_change": when(s.state and s.state.last_change_at),
                    "last_status": s.state.last_status if s.state else None,
                    "records": s.state.record_count if s.state else None,
                    "consecutive_failures": s.state.consecutive_failures if s.state else 0,
                    "last_error": scrub(s.state.last_error) if s.state and s.state.last_error else None,
                    "last_poll_duration_s": s.last_duration,
                    "changes": s.changes,
                    "quarantines": s.quarantines,
                    "problems": s.problems,
                }
                for s in self.sources
            ],
            "queues": self.queues,
            "outbox": {
                "pending": self.outbox.count(*UNSENT),
                "oldest_due_age_s": age(self.outbox.oldest_due),
                "dead": self.outbox.count("dead"),
                "acknowledged": self.outbox.count("acked"),
                "by_channel": by_channel,
                "retries": self.outbox.retries,
                "problems": self.outbox.problems,
            },
            "workers": [_process_dict(p, self.at) for p in self.workers],
            "beat": {
                "processes": [_process_dict(p, self.at) for p in self.beats],
                "relay_last_run": when(self.relay and self.relay.seen_at),
                "relay_last_run_age_s": age(self.relay and self.relay.seen_at),
                "relay_last_relayed": self.relay.info.get("relayed") if self.relay else None,
            },
        }


def _process_dict(p: ProcessHealth, now: datetime) -> dict[str, Any]:
    return {
        "name": p.beat.name,
        "host": p.beat.host,
        "pid": p.beat.pid,
        "state": p.state,
        "healthy": p.healthy,
        "started_at": p.beat.started_at.isoformat(),
        "last_seen_age_s": round(p.beat.age(now), 1),
        **p.beat.info,
    }


def _sources(ctx: Context, db: Reader, now: datetime) -> list[SourceHealth]:
    settings = ctx.settings
    states = {
        row[0]: SourceState(row[0], utc(row[1]), utc(row[2]), utc(row[3]), row[4], row[5], row[6] or 0, row[7])
        for row in db.rows(
            "SELECT source, last_poll_at, last_success_at, last_change_at, last_status, last_error, "
            "consecutive_failures, record_count FROM source_state"
        )
    }
    totals = {
        source: (last_id, added, removed, amended, quarantines)
        for source, last_id, added, removed, amended, quarantines in db.rows(
            "SELECT source, max(id), sum(added), sum(removed), sum(amended), "
            "sum(CASE WHEN status = 'quarantined' THEN 1 ELSE 0 END) FROM snapshot GROUP BY source"
        )
    }
    last_ids = [t[0] for t in totals.values()]
    durations = (
        dict(db.rows(f"SELECT source, duration_ms FROM snapshot WHERE id IN ({db.marks(len(last_ids))})", last_ids))
        if last_ids
        else {}
    )
    out = []
    for sid, cfg in sorted(ctx.sources.items()):
        st = states.get(sid)
        health = SourceHealth(sid, cfg.enabled, cfg.schedule, st)
        if sid in totals:
            _last, added, removed, amended, quarantines = totals[sid]
            health.changes = {"added": int(added or 0), "removed": int(removed or 0), "amended": int(amended or 0)}
            health.quarantines = int(quarantines or 0)
        if durations.get(sid) is not None:
            health.last_duration = durations[sid] / 1000
        if cfg.enabled:
            health.problems = source_problems(st, cfg.schedule, settings.ops_failure_threshold, now)
        out.append(health)
    return out


def _outbox(ctx: Context, db: Reader, now: datetime) -> OutboxHealth:
    box = OutboxHealth()
    for ctype, status, rows, retries in db.rows(
        "SELECT channel_type, status, count(*), sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) "
        "FROM delivery GROUP BY channel_type, status"
    ):
        box.rows[(ctype or "", status)] = rows
        box.retries[ctype or ""] = box.retries.get(ctype or "", 0) + int(retries or 0)
    waiting = [*UNSENT, "held"]
    [(oldest,)] = db.rows(
        f"SELECT min(coalesce(due_at, created_at)) FROM delivery WHERE status IN ({db.marks(len(waiting))}) "
        "AND (due_at IS NULL OR due_at <= ?)",
        [*waiting, db.stamp(now)],
    )
    box.oldest_due = utc(oldest)
    dead = box.count("dead")
    if dead:
        box.problems.append(
            f"{dead} dead deliveries not acknowledged (see `notifier outbox list`, then retry or ack them)"
        )
    limit = ctx.settings.ops_outbox_max_age
    if box.oldest_due is not None and (now - box.oldest_due).total_seconds() > limit:
        box.problems.append(
            f"a delivery due {ago((now - box.oldest_due).total_seconds())} ago is still unsent "
            f"(limit {ago(limit)}): are deliver workers running, is a channel failing?"
        )
    return box


def _processes(ctx: Context, report: Report) -> None:
    settings = ctx.settings
    now = report.at
    try:
        store = heartbeat_store(settings)
        workers, beats, tasks = store.read("worker"), store.read("beat"), store.read("task")
    except Unreachable as exc:
        report.problems.append(f"workers and beat: heartbeats unreadable: {exc}")
        return
    report.workers = [ProcessHealth(b, worker_state(b, settings, now)) for b in workers]
    report.beats = [ProcessHealth(b, beat_state(b, settings, now)) for b in beats]
    _hand_over(report.beats)
    report.relay = next((t for t in tasks if t.name == RELAY_TASK), None)
    for w in report.workers:
        if not w.healthy:
            report.problems.append(f"worker {w.beat.name}: lost, last heartbeat {ago(w.beat.age(now))} ago")
    for q in QUEUES:
        if not report.live_workers(q):
            report.problems.append(f"queue {q}: no live worker consumes it")
    for b in report.beats:
        if not b.healthy:
            report.problems.append(f"beat {b.beat.name}: {b.state}, last heartbeat {ago(b.beat.age(now))} ago")
    scheduling = [b for b in report.beats if b.state == "scheduling"]
    if not scheduling:
        report.problems.append("beat: no beat process is scheduling (polls and the outbox relay do not run)")
        return
    # The relay runs every relay_interval once beat and a deliver worker are both up: its heartbeat proves it.
    deliverers = [w for w in report.workers if w.healthy and "deliver" in w.beat.info.get("queues", [])]
    if deliverers:
        ready = max(min(b.beat.started_at for b in scheduling), min(w.beat.started_at for w in deliverers))
        last = max(report.relay.seen_at, ready) if report.relay else ready
        limit = max(3 * settings.relay_interval, 60.0) + stale_after(settings)
        if (now - last).total_seconds() > limit:
            report.problems.append(
                f"beat: the outbox relay has not run for {ago((now - last).total_seconds())} "
                f"(scheduled every {ago(settings.relay_interval)})"
            )


def _hand_over(beats: list[ProcessHealth]) -> None:
    """A lost or stalled beat whose schedule another beat took over since is history, not a problem."""
    since = [
        datetime.fromisoformat(b.beat.info["leading_since"])
        for b in beats
        if b.state == "scheduling" and b.beat.info.get("leading_since")
    ]
    for b in beats:
        if b.state in ("lost", "stalled") and since and max(since) >= b.beat.seen_at - timedelta(minutes=5):
            b.state = "replaced"


def collect(ctx: Context, now: datetime | None = None) -> Report:
    """Read everything once; the database must answer, the broker and heartbeats may fail (and are reported)."""
    now = now or utcnow()
    with open_reader(ctx.settings.db_url, getattr(ctx, "engine", None)) as db:
        report = Report(at=now, sources=_sources(ctx, db, now), outbox=_outbox(ctx, db, now))
    try:
        report.queues = queue_lengths(ctx.settings)
    except Unreachable as exc:
        report.problems.append(f"broker: {exc}")
    _processes(ctx, report)
    return report
