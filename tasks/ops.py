"""Housekeeping that beat schedules (stale-source alerts, retention) and the heartbeats that let
`notifier status` and the health checks see every worker and beat: thin wrappers around plain functions.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from celery import bootsteps, shared_task, signals

from notifier.alerts.outbox import enqueue
from notifier.ops.heartbeat import Heartbeat, Unreachable, heartbeat_store
from notifier.ops.status import RELAY_TASK
from notifier.settings import get_settings
from notifier.timeutil import utcnow
from tasks.service import service

log = logging.getLogger("notifier.ops")


def check_stale() -> int:
    """The plain function behind the task: alert ops once per stale episode of each source."""
    from notifier.alerts.ops_alerts import alert_stale_sources

    ids = alert_stale_sources(service())
    enqueue(ids)
    return len(ids)


def prune_now() -> str:
    from notifier.ops.prune import prune

    summary = prune(service()).summary(dry_run=False)
    log.debug("retention applied", extra={"result": summary})
    return summary


def recover_now() -> int:
    """The plain function behind the task: free the work of dead workers and send it again."""
    from notifier.ops.recovery import recover
    from tasks.poll import poll_source

    found = recover(service())
    enqueue(found.deliveries)
    for delivery_id, delay in found.later:
        enqueue([delivery_id], countdown=delay)
    for source in found.sources:
        poll_source.apply_async((source,), kwargs={"recovered": True})
    return len(found.deliveries) + len(found.later) + len(found.sources)


@shared_task(name="tasks.ops.check_stale", ignore_result=True, time_limit=120, soft_time_limit=100)
def stale_check() -> int:
    return check_stale()


@shared_task(name="tasks.ops.prune", ignore_result=True, time_limit=1800, soft_time_limit=1700)
def prune_task() -> str:
    return prune_now()


@shared_task(name="tasks.ops.recover", ignore_result=True, time_limit=120, soft_time_limit=100)
def recover_task() -> int:
    return recover_now()


def _write(beat: Heartbeat) -> None:
    beat.seen_at = utcnow()
    try:
        heartbeat_store(get_settings()).write(beat)
    except (Unreachable, OSError) as exc:
        log.warning("heartbeat not written", extra={"heartbeat": beat.name, "error": str(exc)})


@signals.task_postrun.connect
def _after_relay(sender: Any = None, retval: Any = None, state: str | None = None, **_kw: Any) -> None:
    """The relay's run proves beat schedules and a deliver worker works; a big re-enqueue is a backlog."""
    if getattr(sender, "name", None) != "tasks.deliver.relay" or state != "SUCCESS":
        return
    relayed = int(retval or 0)
    _write(Heartbeat(kind="task", name=RELAY_TASK, info={"relayed": relayed}))
    from notifier.alerts.ops_alerts import alert_relay_backlog

    enqueue(alert_relay_backlog(service(), relayed))


def pool_pids(c: Any) -> list[int]:
    """Pids of a prefork pool's processes (none for the solo or thread pools: the worker's own pid holds)."""
    procs = getattr(getattr(getattr(c, "pool", None), "_pool", None), "_pool", None) or []
    return sorted(p.pid for p in procs if getattr(p, "pid", None))


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes this worker's heartbeat from the consumer's own timer while it is connected to the broker;
    a clean shutdown removes it (scaled down is not dead)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.tref: Any = None
        self.beat: Heartbeat | None = None

    def start(self, c: Any) -> None:
        queues = sorted(c.app.amqp.queues.consume_from or c.app.amqp.queues)
        name = f"{c.hostname}[{','.join(queues)}]"
        if self.beat is None or self.beat.name != name:
            self.beat = Heartbeat(kind="worker", name=name, info={"queues": queues})
        self._beat(c)
        self.tref = c.timer.call_repeatedly(get_settings().heartbeat_interval, self._beat, (c,), priority=10)

    def _beat(self, c: Any) -> None:
        # The pool's pids: a claim held by a pool process that is no longer listed is known dead (ops/liveness).
        assert self.beat is not None
        self.beat.info["pids"] = pool_pids(c)
        _write(self.beat)

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, c: Any) -> None:
        self.stop(c)
        if self.beat is not None:
            try:
                heartbeat_store(get_settings()).remove("worker", self.beat.name)
            except (Unreachable, OSError) as exc:
                log.warning("heartbeat not removed", extra={"heartbeat": self.beat.name, "error": str(exc)})


@signals.beat_init.connect
def _beat_heartbeat(sender: Any = None, **_kw: Any) -> None:
    """Beat has no timer of its own to hook: a thread reports when the scheduler last ticked and whether this
    beat leads (schedules) or stands by, and since when it leads (the hand-over `notifier status` shows)."""
    service_ = sender
    settings = get_settings()
    scheduler = getattr(service_, "scheduler", None)  # built here, in beat's own thread, not in the heartbeat's
    beat = Heartbeat(kind="beat", name=f"beat-{os.getpid()}@{socket.gethostname()}")
    stopping = getattr(service_, "_is_shutdown", None) or threading.Event()

    def tick_info() -> dict[str, Any]:
        role = {"role": "leader" if getattr(scheduler, "leading", True) else "standby"}
        since = getattr(scheduler, "leading_since", None)
        if since is not None:
            role["leading_since"] = since.isoformat()
        last_tick = getattr(service_, "_last_tick", False)
        if last_tick is False:  # a Celery without the tick stamp: the thread's life is all we can tell
            return {"ticked_at": utcnow().isoformat(), **role}
        interval = getattr(service_, "effective_max_interval", None) or getattr(service_, "max_interval", 0) or 0
        ticked = None if last_tick is None else utcnow() - timedelta(seconds=time.monotonic() - last_tick)
        return {"ticked_at": ticked.isoformat() if ticked else None, "tick_limit": 2 * float(interval), **role}

    def remove() -> None:
        try:
            heartbeat_store(settings).remove("beat", beat.name)
        except (Unreachable, OSError):
            pass

    def loop() -> None:
        while not stopping.is_set():
            beat.info = tick_info()
            _write(beat)
            stopping.wait(settings.heartbeat_interval)
        remove()

    atexit.register(remove)
    threading.Thread(target=loop, name="notifier-beat-heartbeat", daemon=True).start()


@signals.worker_ready.connect
def _metrics_endpoint(**_kw: Any) -> None:
    """NOTIFIER_METRICS_PORT: this worker also serves the Prometheus metrics (read from the database)."""
    settings = get_settings()
    if settings.metrics_port:
        from notifier.ops.metrics import serve

        try:
            serve(settings.metrics_addr, settings.metrics_port)
        except OSError as exc:
            log.error("metrics endpoint not started", extra={"port": settings.metrics_port, "error": str(exc)})
