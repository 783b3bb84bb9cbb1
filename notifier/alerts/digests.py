"""Digests: changes for hourly or daily subscribers wait in the outbox ("held") and leave together.

Routing writes a digest subscriber's rows as held, due at the next digest time in the subscriber's time zone.
Each minute `release_due` folds the due held rows of one subscriber and channel into ONE digest delivery, in
one transaction that also marks them folded into it; the digest's key names subscriber, channel, period and
its first row, so a second release (another beat, a restart mid-way) can neither repeat nor lose a digest.
Watchlist hits and ops alerts are never held.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifier.alerts import outbox
from notifier.alerts.subscriptions import Subscriber
from notifier.store.models import Delivery
from notifier.timeutil import utcnow


class AlreadyReleased(Exception):
    """Another release wrote this digest first: the held rows are left to it (the transaction rolls back)."""


def next_digest_at(sub: Subscriber, now: datetime) -> datetime:
    """The first digest time strictly after `now` (UTC), at the subscriber's `digest_at` in its time zone.

    Hourly digests go out at minute MM of every hour; daily ones at HH:MM local time, DST included."""
    tz = ZoneInfo(sub.timezone)
    hour, minute = (int(x) for x in sub.digest_at.split(":"))
    now = now.astimezone(UTC)
    local = now.astimezone(tz)
    if sub.digest == "hourly":
        at = local.replace(minute=minute, second=0, microsecond=0).astimezone(UTC)
        return at if at > now else at + timedelta(hours=1)
    day = local.date()
    for _ in range(3):
        at = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
        if at > now:
            return at
        day += timedelta(days=1)
    raise AssertionError("unreachable: a day later is always later")


def hold(row: dict, sub: Subscriber, now: datetime) -> dict:
    """An outbox row for a digest subscriber, kept back until its digest (immediate rows pass unchanged)."""
    if sub.digest == "immediate":
        return row
    return {**row, "status": "held", "due_at": next_digest_at(sub, now)}


def release_due(engine: Engine, now: datetime | None = None) -> list[int]:
    """Fold every due held row into one digest delivery per (subscriber, channel); the new digests' ids.

    Rows that are not due yet stay held; a digest that another process released first is left to it."""
    now = now or utcnow()
    created: list[int] = []
    with Session(engine) as session:
        groups = session.execute(
            select(Delivery.subscriber, Delivery.channel)
            .where(Delivery.status == "held", Delivery.due_at <= now)
            .group_by(Delivery.subscriber, Delivery.channel)
        ).all()
    for subscriber, channel in groups:
        try:
            digest_id = _release_one(engine, subscriber, channel, now)
        except (IntegrityError, AlreadyReleased):
            continue  # the same period's digest was written by another release
        if digest_id is not None:
            created.append(digest_id)
    return created


def _release_one(engine: Engine, subscriber: str, channel: str, now: datetime) -> int | None:
    with Session(engine) as session, session.begin():
        query = (
            select(Delivery)
            .where(
                Delivery.status == "held",
                Delivery.due_at <= now,
                Delivery.subscriber == subscriber,
                Delivery.channel == channel,
            )
            .order_by(Delivery.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        held = list(session.execute(query).scalars())
        if not held:
            return None
        period = max(r.due_at for r in held)
        change_ids = sorted({i for r in held for i in json.loads(r.change_ids)})
        written = outbox.add(
            session,
            [
                outbox.entry(
                    purpose="digest",
                    # The first held row's id: a row held late for a period already released gets its own digest.
                    dedupe_key=f"digest:{period.astimezone(UTC):%Y-%m-%dT%H:%M}:{subscriber}:{channel}:{held[0].id}",
                    subscriber=subscriber,
                    channel=channel,
                    channel_type=held[0].channel_type,
                    now=now,
                    change_ids=json.dumps(change_ids),
                    body=json.dumps({"since": min(r.created_at for r in held).isoformat(), "held": len(held)}),
                    due_at=period,
                )
            ],
        )
        if not written:
            raise AlreadyReleased  # the same period's digest was written by another release
        [digest_id] = written
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([r.id for r in held]))
            .values(status="folded", folded_into=digest_id, sent_at=None)
        )
    return digest_id
