"""The outbox's own housekeeping: find rows whose message was lost and hand them back to the workers.

Broker messages can vanish (a flushed Redis, a killed worker with the embedded broker); the outbox rows
cannot. The relay releases stale claims and returns the ids of rows that are due but untouched.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from notifier.store.models import Delivery
from notifier.timeutil import utcnow


def relay(engine: Engine, *, grace: float, claim_timeout: float, limit: int = 5000) -> list[int]:
    """Ids of deliveries to enqueue again; each is pushed back by `grace` so it is not re-sent every run."""
    now = utcnow()
    with Session(engine) as session, session.begin():
        session.execute(
            update(Delivery)
            .where(Delivery.status == "sending", Delivery.claimed_at < now - timedelta(seconds=claim_timeout))
            .values(status="pending", next_attempt_at=now - timedelta(seconds=grace), claimed_at=None)
        )
        ids = list(
            session.execute(
                select(Delivery.id)
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= now - timedelta(seconds=grace))
                .order_by(Delivery.id)
                .limit(limit)
            ).scalars()
        )
        if ids:
            session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(next_attempt_at=now))
    return ids


def due(engine: Engine, limit: int = 5000) -> list[int]:
    """Ids of pending deliveries whose time has come (for a synchronous send)."""
    with Session(engine) as session:
        return list(
            session.execute(
                select(Delivery.id)
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= utcnow())
                .order_by(Delivery.id)
                .limit(limit)
            ).scalars()
        )


def pending_for_snapshot(engine: Engine, snapshot_id: int) -> list[int]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(Delivery.id).where(Delivery.snapshot_id == snapshot_id, Delivery.status == "pending")
            ).scalars()
        )
