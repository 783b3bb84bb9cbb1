"""The outbox: the one place that writes delivery rows, the one place that hands them to the workers, and
its housekeeping (rows whose broker message was lost go back to the workers).

Every producer (routing, watchlist reports, digests, ops alerts, dead deliveries) builds rows with `row` and
writes them with `add`, inside its own transaction, so an alert is committed with whatever caused it. A row's
`dedupe_key` is unique: writing the same delivery twice writes it once. Broker messages can vanish (a flushed
Redis, a killed worker with the embedded broker); the outbox rows cannot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifier.alerts.subscriptions import Channel, Subscriber
from notifier.store.models import Delivery
from notifier.timeutil import utcnow

log = logging.getLogger("notifier.alerts.outbox")


def is_ops_channel(sub: Subscriber, channel: Channel) -> bool:
    """Ops channels get ops alerts (quarantines, dead deliveries...) and no change alerts."""
    return "ops" in channel.tags or "ops" in sub.tags


def ops_rows(subscribers: Iterable[Subscriber], key: str, title: str, body: str, now: datetime) -> list[dict[str, Any]]:
    """One outbox row per ops channel for an ops alert (deduplicated by `key`)."""
    return [
        row(purpose="ops", key=key, sub=sub, channel=ch, now=now, title=title, body=body)
        for sub in subscribers
        for ch in sub.channels
        if is_ops_channel(sub, ch)
    ]


def row(*, purpose: str, key: str, sub: Subscriber, channel: Channel, now: datetime, **fields: Any) -> dict[str, Any]:
    """An outbox row for one subscriber's channel; `key` makes it unique, so writing it twice is impossible."""
    return entry(
        purpose=purpose,
        dedupe_key=f"{purpose}:{key}:{sub.name}:{channel.id}",
        subscriber=sub.name,
        channel=channel.id,
        channel_type=channel.scheme,
        now=now,
        **fields,
    )


def entry(
    *, purpose: str, dedupe_key: str, subscriber: str, channel: str, channel_type: str, now: datetime, **fields: Any
) -> dict[str, Any]:
    """An outbox row by names (a digest folds rows whose subscriber may no longer be configured)."""
    out = dict(
        dedupe_key=dedupe_key,
        purpose=purpose,
        subscriber=subscriber,
        channel=channel,
        channel_type=channel_type,
        status="pending",
        attempts=0,
        parts_sent=0,
        next_attempt_at=now,
        created_at=now,
        change_ids="[]",
    )
    out.update(fields)
    return out


def add(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Write outbox rows in the caller's transaction; the ids of the rows written (a key already there is skipped)."""
    if not rows:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Delivery).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Delivery.id)
    return [r[0] for r in session.execute(stmt, rows)]


def enqueue(ids: Iterable[int], *, countdown: float | None = None, retry: bool = True) -> int:
    """Hand committed outbox rows to the deliver workers; how many messages were sent.

    The row is the truth: a message lost here (no broker, a flush) costs a relay interval, never the alert.
    `retry=False` gives up at once without a broker (the CLI must not hang); the relay sends the row later.
    The Celery task is imported here, at call time, so that nothing in `notifier` imports Celery.
    """
    ids = list(ids)
    if not ids:
        return 0
    from tasks.deliver import deliver  # the deliver task; tasks/ is the only package that knows Celery

    for delivery_id in ids:
        deliver.apply_async((delivery_id,), countdown=countdown, retry=retry)
    return len(ids)


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


def pending_for_source(engine: Engine, source: str) -> list[int]:
    """A source's rows due now and still pending: a poll killed between its commit and `enqueue` left them
    without a message (a row whose message is queued is claimed once, so handing it over twice is harmless)."""
    now = utcnow()
    return sorted(i for i, due in pending_rows(engine, source=source, limit=None) if due <= now)


def pending_rows(engine: Engine, limit: int | None = 5000, source: str | None = None) -> list[tuple[int, datetime]]:
    """Rows still pending (unclaimed, unsent) with their due time, oldest first: what a worker that died may
    have held as messages it never started. Handing one over twice is harmless: one message claims it."""
    query = select(Delivery.id, Delivery.next_attempt_at).where(Delivery.status == "pending")
    if source is not None:
        query = query.where(Delivery.source == source)
    query = query.order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
    with Session(engine) as session:
        return [(r[0], r[1]) for r in session.execute(query)]


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
