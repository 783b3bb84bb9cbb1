"""Is a worker or beat alive? Judged from heartbeats alone, so a container health check every 30 s costs one
Redis GET or one file read, never a database query or a broker round trip.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime

from notifier.ops.heartbeat import Heartbeat, Unreachable, heartbeat_store, stale_after
from notifier.settings import Settings
from notifier.timeutil import utcnow

MIN_TICK_LIMIT = 60.0  # beat may sleep up to its max interval between ticks; never judge it on less than this


@dataclass
class Verdict:
    healthy: bool
    why: str


def worker_state(beat: Heartbeat, settings: Settings, now: datetime) -> str:
    """alive, or lost (no heartbeat for several intervals: killed, hung or cut off from the broker)."""
    return "alive" if beat.age(now) <= stale_after(settings) else "lost"


def beat_state(beat: Heartbeat, settings: Settings, now: datetime) -> str:
    """scheduling (ticks on time), standby (waits for the redbeat lock another beat holds), stalled or lost."""
    if beat.age(now) > stale_after(settings):
        return "lost"
    ticked = beat.info.get("ticked_at")
    if ticked is None or beat.info.get("role") == "standby":
        return "standby"
    limit = max(MIN_TICK_LIMIT, float(beat.info.get("tick_limit") or 0)) + stale_after(settings)
    return "scheduling" if (now - datetime.fromisoformat(ticked)).total_seconds() <= limit else "stalled"


def ago(seconds: float) -> str:
    """A duration as people read it: 42s, 5m, 3h, 2d."""
    s = max(0.0, seconds)
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    if s < 172800:
        return f"{s / 3600:.0f}h"
    return f"{s / 86400:.0f}d"


def check_local(kind: str, settings: Settings, host: str | None = None) -> Verdict:
    """Health of the worker or beat running on this host (what a container health check asks)."""
    host = host or socket.gethostname()
    now = utcnow()
    try:
        mine = [b for b in heartbeat_store(settings).read(kind) if b.host == host]
    except Unreachable as exc:
        return Verdict(False, f"{kind} on {host}: heartbeats unreadable: {exc}")
    if not mine:
        return Verdict(False, f"no {kind} has ever reported from {host} (not started yet, or stopped cleanly)")
    judge = worker_state if kind == "worker" else beat_state
    states = {b.name: judge(b, settings, now) for b in mine}
    good = [n for n, s in states.items() if s in ("alive", "scheduling", "standby")]
    newest = max(mine, key=lambda b: b.seen_at)
    if good:
        detail = ", ".join(f"{n} {states[n]}" for n in good)
        return Verdict(True, f"ok: {detail}, last heartbeat {ago(newest.age(now))} ago")
    detail = ", ".join(f"{n} {s}" for n, s in states.items())
    return Verdict(False, f"{kind} on {host} unhealthy: {detail}; last heartbeat {ago(newest.age(now))} ago")
