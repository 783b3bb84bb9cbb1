"""Work held by a dead worker, released as soon as its death is known (not after a fixed timeout).

Beat runs this every NOTIFIER_RELAY_INTERVAL: delivery claims (`sending` rows) and poll locks whose holder is
dead (notifier.ops.liveness) are freed, and the caller sends their work again: the delivery ids and the sources
whose poll was cut short. A whole worker that died also took the deliver messages it had reserved but not
started (no claim names it); Redis would hand them out only after its visibility timeout, so the rows still
pending from before its death go back to the queue once per dead worker (`hand_over_dead_workers`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from notifier.alerts.outbox import pending_rows, release_dead_claims
from notifier.context import Context
from notifier.ingest.locks import release_dead
from notifier.ops.heartbeat import Unreachable, heartbeat_store
from notifier.ops.liveness import HANDED_OVER, Liveness

log = logging.getLogger("notifier.ops.recovery")
POLL_LOCK = "poll:"  # tasks/poll.py names each source's lock poll:<source>


@dataclass
class Recovered:
    deliveries: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    later: list[tuple[int, float]] = field(default_factory=list)  # (delivery id, seconds until due): retries


def recover(ctx: Context) -> Recovered:
    """Release what dead holders hold; with the heartbeats unreadable nothing is released (the timeouts remain)."""
    settings = ctx.settings
    try:
        alive = Liveness(settings)
    except Unreachable as exc:
        log.warning("recovery skipped: heartbeats unreadable", extra={"error": str(exc)})
        return Recovered()
    found = Recovered(deliveries=release_dead_claims(ctx.engine, alive.dead))
    names = release_dead(
        POLL_LOCK, redis_url=settings.broker_url, lock_dir=settings.data_dir / "locks", is_dead=alive.dead
    )
    found.sources = [n[len(POLL_LOCK) :] for n in names if n[len(POLL_LOCK) :] in ctx.sources]
    due, found.later = hand_over_dead_workers(ctx, alive)
    found.deliveries += [i for i in due if i not in found.deliveries]
    for delivery_id in found.deliveries:
        log.warning("delivery claim of a dead worker released; sending again", extra={"delivery": delivery_id})
    for source in found.sources:
        log.warning("poll lock of a dead worker released; polling again", extra={"source": source})
    return found


def hand_over_dead_workers(ctx: Context, alive: Liveness) -> tuple[list[int], list[tuple[int, float]]]:
    """Pending rows a dead worker may have held unstarted, once per dead worker (its heartbeat is marked): the
    ids due now, and the retries due later with their countdown (a worker holds a retry's message until then).

    A worker last seen at T would have beaten again by T + interval, so it died before then; it is handed over
    once the recovery runs an interval after that. Rows that fell due within the last interval are left to the
    live workers taking them this very second. A row whose message still exists is claimed once.
    """
    interval = ctx.settings.heartbeat_interval
    dead = [b for b in alive.dead_workers() if b.age(alive.now) >= 2 * interval]
    if not dead:
        return [], []
    cutoff = alive.now - timedelta(seconds=interval)
    rows = pending_rows(ctx.engine)
    due = [i for i, at in rows if at <= cutoff]
    later = [(i, (at - alive.now).total_seconds()) for i, at in rows if at > alive.now]
    store = heartbeat_store(ctx.settings)
    for beat in dead:
        beat.info[HANDED_OVER] = alive.now.isoformat()
        try:
            store.write(beat)  # seen_at kept: status still shows it lost, and it is forgotten on time
        except (Unreachable, OSError) as exc:
            log.warning("dead worker not marked; it may be handed over again", extra={"error": str(exc)})
        log.warning(
            "worker dead; its unstarted messages handed over",
            extra={"worker": beat.name, "due": len(due), "later": len(later)},
        )
    return due, later
