"""Dead deliveries, for ops: see them, send them again, or acknowledge them so the service reads healthy.

A dead row stays dead (and `notifier status` unhealthy) until someone decides: `retry` gives it a fresh set
of attempts and the relay sends it at its next run; `ack` marks it acknowledged (status "acked"), kept for audit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from notifier.errors import NotifierError
from notifier.store.models import Delivery
from notifier.timeutil import utcnow

ACKED = "acked"


def list_deliveries(engine: Engine, statuses: tuple[str, ...] = ("dead",), limit: int = 200) -> list[Delivery]:
    with Session(engine) as session:
        query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
        if statuses:
            query = query.where(Delivery.status.in_(statuses))
        return list(session.execute(query).scalars())


def _get(session: Session, delivery_id: int) -> Delivery:
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotifierError(f"no delivery {delivery_id} in the outbox (see `notifier outbox list --status all`)")
    return row


def retry(engine: Engine, delivery_id: int, relay_grace: float) -> Delivery:
    """Make a dead (or acknowledged) row due again with a fresh set of attempts; the relay enqueues it.
    (Dying again alerts ops again: each death's ops alert has its own key.)"""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = _get(session, delivery_id)
        if row.status not in ("dead", ACKED):
            raise NotifierError(f"delivery {delivery_id} is {row.status}, not dead: nothing to retry")
        row.status, row.attempts, row.claimed_at = "pending", 0, None
        # Past the relay's grace already, so its next run (every NOTIFIER_RELAY_INTERVAL) enqueues it.
        row.next_attempt_at = now - timedelta(seconds=relay_grace + 1)
    return row


def acknowledge(engine: Engine, delivery_ids: list[int] | None) -> list[int]:
    """Acknowledge the given dead rows (None: every dead row); the ids acknowledged."""
    with Session(engine) as session, session.begin():
        if delivery_ids is not None:
            for delivery_id in delivery_ids:
                row = _get(session, delivery_id)
                if row.status not in ("dead", ACKED):
                    raise NotifierError(f"delivery {delivery_id} is {row.status}, not dead: nothing to acknowledge")
            query = select(Delivery.id).where(Delivery.id.in_(delivery_ids), Delivery.status == "dead")
        else:
            query = select(Delivery.id).where(Delivery.status == "dead")
        ids = list(session.execute(query).scalars())
        if ids:
            session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(status=ACKED))
    return ids
