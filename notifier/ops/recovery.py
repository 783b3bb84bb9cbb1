"""Work held by a dead worker, released as soon as its death is known (not after a fixed timeout).

Beat runs this every NOTIFIER_RELAY_INTERVAL: delivery claims (`sending` rows) and poll locks whose holder is
dead (notifier.ops.liveness) are freed, and the caller sends their work again: the delivery ids and the sources
whose poll was cut short.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from notifier.alerts.outbox import release_dead_claims
from notifier.context import Context
from notifier.ingest.locks import release_dead
from notifier.ops.heartbeat import Unreachable
from notifier.ops.liveness import Liveness

log = logging.getLogger("notifier.ops.recovery")
POLL_LOCK = "poll:"  # tasks/poll.py names each source's lock poll:<source>


@dataclass
class Recovered:
    deliveries: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


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
    for delivery_id in found.deliveries:
        log.warning("delivery claim of a dead worker released; sending again", extra={"delivery": delivery_id})
    for source in found.sources:
        log.warning("poll lock of a dead worker released; polling again", extra={"source": source})
    return found
