"""The outbox's own housekeeping: find rows whose message was lost and hand them back to the workers.

Broker messages can vanish (a flushed Redis, a killed worker with the embedded broker); the outbox rows
cannot. The relay releases stale claims and returns the ids of rows that are due but untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, func, select, update
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


def release_dead_claims(engine: Engine, is_dead: Callable[[str], bool]) -> list[int]:
    """Ids of rows being sent by a process now known dead, made pending again at once (the caller enqueues them).

    The claim_timeout of `relay` stays the last resort, for holders whose death cannot be told.
    """
    now = utcnow()
    released = []
    with Session(engine) as session, session.begin():
        claims = session.execute(
            select(Delivery.id, Delivery.claimed_by).where(
                Delivery.status == "sending", Delivery.claimed_by.is_not(None)
            )
        ).all()
        for delivery_id, claimed_by in claims:
            if not is_dead(claimed_by):
                continue
            done = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status == "sending", Delivery.claimed_by == claimed_by)
                .values(status="pending", next_attempt_at=now, claimed_at=None, claimed_by=None)
            ).rowcount
            if done:
                released.append(delivery_id)
    return released


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


def last_id(engine: Engine) -> int:
    """The newest outbox row's id (0 for none): rows written after it are what a command just caused."""
    with Session(engine) as session:
        return session.execute(select(func.max(Delivery.id))).scalar() or 0


def pending_since(engine: Engine, after_id: int, snapshot_id: int | None = None) -> list[int]:
    """Pending rows written after `after_id`: those of the snapshot (if given) and ops alerts."""
    with Session(engine) as session:
        query = select(Delivery.id).where(Delivery.id > after_id, Delivery.status == "pending")
        if snapshot_id is not None:
            query = query.where((Delivery.snapshot_id == snapshot_id) | (Delivery.purpose == "ops"))
        return list(session.execute(query.order_by(Delivery.id)).scalars())
