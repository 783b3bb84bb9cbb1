"""Send one outbox row through Apprise, exactly once where the channel allows it.

A row is claimed (pending -> sending) by one conditional UPDATE, so two workers holding the same row never
both send it; each part of a split message is recorded as sent as soon as Apprise confirms it, so a retry
resumes where the last attempt stopped. Apprise's result object decides success, never its log.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import apprise
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifier.redact import scrub
from notifier.render import ChangeView, Message, render_changes, render_text
from notifier.routing import ops_rows
from notifier.store.models import Change, Delivery, Snapshot
from notifier.subscriptions import Channel, Subscriber
from notifier.timeutil import utcnow

if TYPE_CHECKING:
    from notifier.app import Service

log = logging.getLogger("notifier.deliver")
MAX_EMAIL_BODY = 100_000


@dataclass
class Outcome:
    delivery_id: int
    status: str  # sent | retry | dead | skipped
    retry_in: float | None = None
    error: str | None = None
    ops_ids: tuple[int, ...] = ()


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with +-20% jitter: base, 2*base, 4*base... capped."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay * (rng or random).uniform(0.8, 1.2)


def _find_channel(svc: Service, row: Delivery) -> tuple[Subscriber, Channel] | None:
    for sub in svc.subscribers:
        if sub.name == row.subscriber:
            for ch in sub.channels:
                if ch.id == row.channel:
                    return sub, ch
    return None


def _max_body(channel: Channel, fmt: str) -> int:
    plugin = apprise.Apprise.instantiate(channel.resolved, suppress_exceptions=True)
    limit = getattr(plugin, "body_maxlen", 0) or 32768
    return min(limit, MAX_EMAIL_BODY) if fmt == "email" else int(limit * 0.9)


def build_messages(svc: Service, session: Session, row: Delivery, sub: Subscriber, channel: Channel) -> list[Message]:
    fmt = sub.channel_format(channel)
    if row.purpose != "changes":
        return [render_text(row.title or "sanctions-notifier", row.body or "", fmt)]
    ids = json.loads(row.change_ids)
    changes = session.execute(select(Change).where(Change.id.in_(ids)).order_by(Change.id)).scalars().all()
    snapshot = session.get(Snapshot, row.snapshot_id)
    views = [
        ChangeView(
            id=c.id,
            key=c.key,
            change=c.change,
            kind=c.kind,
            name=c.name,
            before=json.loads(c.before) if c.before else None,
            after=json.loads(c.after) if c.after else None,
            fields=json.loads(c.fields) if c.fields else None,
        )
        for c in changes
    ]
    meta = svc.meta(row.source or snapshot.source)
    return render_changes(meta, snapshot.fetched_at, views, fmt, _max_body(channel, fmt))


def send(channel: Channel, message: Message, timeout: float) -> str | None:
    """None when Apprise reports success; otherwise the reason it gives (secrets scrubbed)."""
    ap = apprise.Apprise()
    if not ap.add(channel.resolved):
        return "Apprise cannot use this channel URL"
    result = ap.notify(body=message.body, title=message.title, body_format=message.body_format, timeout=timeout)
    if result:
        return None
    reasons = []
    for entry in result.logs():
        level = getattr(entry, "level", "")
        if level in ("WARNING", "ERROR", "CRITICAL") or (isinstance(level, int) and level >= logging.WARNING):
            reasons.append(str(getattr(entry, "message", entry)))
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    return scrub(f"{status}: {'; '.join(reasons[-3:]) or 'no detail from Apprise'}")[:1000]


def _claim(svc: Service, delivery_id: int) -> bool:
    now = utcnow()
    with Session(svc.engine) as session, session.begin():
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now + timedelta(seconds=1),
            )
            .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        ).rowcount
    return bool(claimed)


def deliver_one(svc: Service, delivery_id: int) -> Outcome:
    """Try to send one outbox row now; the row records what happened, the outcome tells the caller."""
    if not _claim(svc, delivery_id):
        return Outcome(delivery_id, "skipped")
    settings = svc.settings
    with Session(svc.engine, expire_on_commit=False) as session:
        row = session.get(Delivery, delivery_id)
        found = _find_channel(svc, row)
        error = None
        if found is None:
            error = f"subscriber {row.subscriber!r} or its channel is no longer configured"
            messages: list[Message] = []
        else:
            sub, channel = found
            messages = build_messages(svc, session, row, sub, channel)
    sent = row.parts_sent
    if found is not None:
        for message in messages[row.parts_sent :]:
            error = send(channel, message, settings.delivery_timeout)
            if error:
                break
            sent += 1
            with Session(svc.engine) as session, session.begin():
                session.execute(update(Delivery).where(Delivery.id == delivery_id).values(parts_sent=sent))
    return _finish(svc, row, sent, len(messages), error, permanent=found is None)


def _finish(svc: Service, row: Delivery, sent: int, total: int, error: str | None, permanent: bool) -> Outcome:
    settings = svc.settings
    now = utcnow()
    ops_ids: tuple[int, ...] = ()
    fields = {"subscriber": row.subscriber, "delivery": row.id, "channel_type": row.channel_type}
    with Session(svc.engine) as session, session.begin():
        if error is None:
            session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(status="sent", sent_at=now, parts_sent=sent, last_error=None, claimed_at=None)
            )
            log.info("delivery sent", extra={**fields, "parts": total, "attempt": row.attempts})
            return Outcome(row.id, "sent")
        attempts = row.attempts
        if permanent or attempts >= settings.delivery_max_attempts:
            session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(status="dead", last_error=error, parts_sent=sent, claimed_at=None)
            )
            log.error("delivery dead", extra={**fields, "attempts": attempts, "error": error})
            if row.purpose != "ops":
                ops = ops_rows(
                    svc.subscribers,
                    key=f"dead:{row.id}",
                    now=now,
                    title=f"Delivery dead: {row.purpose} alert to {row.subscriber}",
                    body=(
                        f"Delivery {row.id} ({row.purpose}, source {row.source or '-'}) to subscriber "
                        f"{row.subscriber} via {row.channel_type} failed {attempts} times and was given up.\n"
                        f"Last error: {error}\nResend it with: notifier outbox retry {row.id}"
                    ),
                )
                if ops:
                    result = session.execute(Delivery.__table__.insert().returning(Delivery.id), ops)
                    ops_ids = tuple(r[0] for r in result)
            return Outcome(row.id, "dead", error=error, ops_ids=ops_ids)
        delay = backoff(attempts, settings.delivery_backoff, settings.delivery_backoff_max)
        session.execute(
            update(Delivery)
            .where(Delivery.id == row.id)
            .values(
                status="pending",
                last_error=error,
                parts_sent=sent,
                claimed_at=None,
                next_attempt_at=now + timedelta(seconds=delay),
            )
        )
        log.warning(
            "delivery failed, will retry",
            extra={**fields, "attempt": attempts, "retry_in_s": round(delay, 1), "error": error},
        )
        return Outcome(row.id, "retry", retry_in=delay, error=error)
