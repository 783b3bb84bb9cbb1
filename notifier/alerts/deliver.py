"""Send one outbox row through Apprise, exactly once where the channel allows it.

A row is claimed (pending -> sending) by one conditional UPDATE, so two workers holding the same row never
both send it; each part of a split message is recorded as sent as soon as Apprise confirms it, so a retry
resumes where the last attempt stopped. Apprise's result object decides success, never its log.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import apprise
from sqlalchemy import update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from notifier.alerts import outbox
from notifier.alerts.outbox import ops_rows
from notifier.alerts.render import Message, render_changes, render_digest, render_text
from notifier.alerts.render_watchlist import render_watchlist
from notifier.alerts.subscriptions import Channel, Subscriber
from notifier.context import Context
from notifier.ops.liveness import holder
from notifier.redact import scrub
from notifier.store import changes
from notifier.store.changes import Change
from notifier.store.models import Delivery, Snapshot
from notifier.timeutil import utcnow

log = logging.getLogger("notifier.alerts.deliver")
MAX_EMAIL_BODY = 100_000
MESSAGE_ID_HEADER = "X-Notifier-Id"  # <delivery id>-<part number>: stable across retries and crashes
RENDER_CACHE_SIZE = 32  # rendered digests kept per worker process (a few formats and sizes per poll)
_RENDERED: OrderedDict[tuple[Any, ...], list[Message]] = OrderedDict()
_RENDERED_LOCK = threading.Lock()


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


def _find_channel(svc: Context, row: Delivery) -> tuple[Subscriber, Channel] | None:
    for sub in svc.router.subscribers:
        if sub.name == row.subscriber:
            for ch in sub.channels:
                if ch.id == row.channel:
                    return sub, ch
    return None


def _max_body(channel: Channel, fmt: str) -> int:
    limit = _traits(channel.resolved)[0] or 32768
    return min(limit, MAX_EMAIL_BODY) if fmt == "email" else int(limit * 0.9)


def can_attach(channel: Channel) -> bool:
    """Whether the channel carries files (email, Slack with a bot token; not Slack webhooks or JSON hooks)."""
    return _traits(channel.resolved)[1]


@lru_cache(maxsize=4096)
def _traits(url: str) -> tuple[int, bool]:
    """(body limit, carries files) of a channel URL: parsing the URL into an Apprise plugin twice per delivery
    was a tenth of a fan-out's time, and what it tells depends on the URL alone."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    limit = getattr(plugin, "body_maxlen", 0) or 0
    if plugin is None or not getattr(plugin, "attachment_support", False):
        return limit, False
    if plugin.service_name.lower() == "slack":  # only the Web API (bot token) uploads files; webhooks drop them
        return limit, str(getattr(plugin, "mode", "")) == "bot"
    return limit, True


def build_messages(svc: Context, session: Session, row: Delivery, sub: Subscriber, channel: Channel) -> list[Message]:
    fmt = sub.channel_format(channel)
    if row.purpose in ("watchlist", "watchlist_report"):
        title = row.title or "Watchlist"
        return render_watchlist(title, row.body, fmt, _max_body(channel, fmt), report=row.purpose != "watchlist")
    if row.purpose == "digest":
        return digest_messages(svc, session, row, sub, fmt, _max_body(channel, fmt))
    if row.purpose != "changes":
        return [render_text(row.title or "sanctions-notifier", row.body or "", fmt)]
    snapshot = session.get(Snapshot, row.snapshot_id)
    meta = svc.meta(row.source or snapshot.source)
    max_body = _max_body(channel, fmt)
    attach_above = sub.attach_above if sub.attach_above is not None and can_attach(channel) else None
    published = snapshot.published_on
    key = (svc.settings.db_url, snapshot.id, snapshot.fetched_at, row.change_ids, meta, fmt, max_body, attach_above)
    return _rendered(
        key,
        lambda: render_changes(
            meta,
            snapshot.fetched_at,
            change_views(svc, session, json.loads(row.change_ids)),
            fmt,
            max_body,
            published=str(published) if published else None,
            attach_above=attach_above,
        ),
    )


def _rendered(key: tuple[Any, ...], render: Callable[[], list[Message]]) -> list[Message]:
    """The messages for `key`, rendered once per process: one poll's subscribers mostly share a digest, and
    loading and rendering its changes again for each of them was most of a delivery's time. Change rows and
    snapshots never change; a news item's notes are those of its first render (parts stay the same on retry)."""
    with _RENDERED_LOCK:
        messages = _RENDERED.get(key)
        if messages is not None:
            _RENDERED.move_to_end(key)
            return list(messages)
    messages = render()
    with _RENDERED_LOCK:
        _RENDERED[key] = messages
        while len(_RENDERED) > RENDER_CACHE_SIZE:
            _RENDERED.popitem(last=False)
    return list(messages)


def digest_messages(
    svc: Context, session: Session, row: Delivery, sub: Subscriber, fmt: str, max_body: int
) -> list[Message]:
    views = change_views(svc, session, json.loads(row.change_ids))
    by_source: dict[str, list[Change]] = {}
    for v in views:
        by_source.setdefault(v.source, []).append(v)
    groups = [(svc.meta(s), by_source[s]) for s in sorted(by_source, key=lambda s: svc.meta(s).title)]
    local = row.due_at.astimezone(ZoneInfo(sub.timezone)) if row.due_at else None
    when = f"{local:%Y-%m-%d %H:%M} {sub.timezone}" if local else ""
    title = f"Sanctions digest {when}: {len(views)} change{'s' if len(views) != 1 else ''} in {len(groups)} list" + (
        "s" if len(groups) != 1 else ""
    )
    return render_digest(groups, title, fmt, max_body)


def change_views(svc: Context, session: Session, ids: list[int]) -> list[Change]:
    """The changes a delivery carries, with what the core knows about them: what a news item names, and the
    other lists that already name a new designation."""
    views = changes.load(session, ids)
    index = None  # looked up once per set: current() asks the database whether the index is stale
    for view in views:
        if view.kind == "news" and view.after:
            view.notes = svc.router.news.notes(view.after)
        elif view.kind == "designation" and view.change == "added" and view.after and svc.parties is not None:
            if index is None:
                index = svc.parties.current()
            also = index.also_listed(view.after, view.source)
            view.notes = [also] if also else []
    return views


def send(channel: Channel, message: Message, timeout: float, message_id: str | None = None) -> str | None:
    """None when Apprise reports success; otherwise the reason it gives (secrets scrubbed).

    `message_id` goes out as the X-Notifier-Id header where the channel carries headers (webhooks, email): the
    same part sent again after a crash has the same id, so a receiver can drop the repeat.
    """
    ap = apprise.Apprise()
    plugin = apprise.Apprise.instantiate(channel.resolved, suppress_exceptions=True)
    if plugin is None or not ap.add(plugin):
        return "Apprise cannot use this channel URL"
    if message_id and isinstance(getattr(plugin, "headers", None), dict):
        plugin.headers[MESSAGE_ID_HEADER] = message_id
    with tempfile.TemporaryDirectory(prefix="notifier-attach-") as tmp:
        attach = None
        if message.attachments:
            attach = apprise.AppriseAttachment()
            for a in message.attachments:
                path = Path(tmp) / a.name
                path.write_bytes(a.data)
                attach.add(str(path))
        result = ap.notify(
            body=message.body, title=message.title, body_format=message.body_format, timeout=timeout, attach=attach
        )
    if result:
        return None
    reasons = []
    for entry in result.logs():
        level = getattr(entry, "level", "")
        if level in ("WARNING", "ERROR", "CRITICAL") or (isinstance(level, int) and level >= logging.WARNING):
            reasons.append(str(getattr(entry, "message", entry)))
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    return scrub(f"{status}: {'; '.join(reasons[-3:]) or 'no detail from Apprise'}")[:1000]


def _claim(svc: Context, delivery_id: int) -> Delivery | None:
    """The row, claimed (pending -> sending) and read back in one statement; None if another worker has it."""
    now = utcnow()
    with Session(svc.engine, expire_on_commit=False) as session, session.begin():
        return session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now + timedelta(seconds=1),
            )
            .values(status="sending", claimed_at=now, claimed_by=holder(), attempts=Delivery.attempts + 1)
            .returning(Delivery)
        ).scalar_one_or_none()


def deliver_one(svc: Context, delivery_id: int) -> Outcome:
    """Try to send one outbox row now; the row records what happened, the outcome tells the caller."""
    row = _claim(svc, delivery_id)
    if row is None:
        return Outcome(delivery_id, "skipped")
    found = _find_channel(svc, row)
    error = None
    if found is None:
        error = f"subscriber {row.subscriber!r} or its channel is no longer configured"
        messages: list[Message] = []
    else:
        sub, channel = found
        with Session(svc.engine) as session:
            messages = build_messages(svc, session, row, sub, channel)
    sent = row.parts_sent
    recorded_done = False
    if found is not None:
        for part, message in enumerate(messages[row.parts_sent :], start=row.parts_sent + 1):
            error = send(channel, message, svc.settings.delivery_timeout, message_id=f"{delivery_id}-{part}")
            if error:
                break
            sent += 1
            recorded_done = sent == len(messages)  # the last part's record is the row's "sent": one write
            _record_part(svc, delivery_id, sent, done=recorded_done)
    return _finish(svc, row, sent, len(messages), error, permanent=found is None, recorded=recorded_done)


def send_now(svc: Context, ids: list[int]) -> dict[str, int]:
    """Deliver outbox rows in this process, at once: what a CLI command makes is not left for the relay.
    The claim in deliver_one keeps a running worker from sending the same row again."""
    counts: dict[str, int] = {}
    for delivery_id in ids:
        status = deliver_one(svc, delivery_id).status
        counts[status] = counts.get(status, 0) + 1
    return counts


def _record_part(svc: Context, delivery_id: int, sent: int, done: bool = False) -> None:
    """Record a part Apprise confirmed, and renew the claim (the relay frees only claims idle this long);
    `done`: it was the last part, so the same write marks the row sent.

    Retried through a short database outage: if this write were lost, the part would be sent again.
    """
    values = _sent_values(sent, utcnow()) if done else {"parts_sent": sent, "claimed_at": utcnow()}
    give_up = time.monotonic() + svc.settings.claim_timeout / 2
    pause = 0.2
    while True:
        try:
            with Session(svc.engine) as session, session.begin():
                session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > give_up:
                raise
            log.warning("recording a sent part failed; retrying", extra={"delivery": delivery_id, "parts": sent})
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _sent_values(sent: int, now: datetime) -> dict[str, Any]:
    """What a sent row holds, written by the last part's record or by `_finish`, whichever comes first."""
    return {"status": "sent", "sent_at": now, "parts_sent": sent, "last_error": None, "claimed_at": None}


def _finish(
    svc: Context, row: Delivery, sent: int, total: int, error: str | None, permanent: bool, recorded: bool = False
) -> Outcome:
    """Mark the row sent, pending again (with backoff) or dead; `recorded`: the last part's write marked it sent."""
    settings = svc.settings
    now = utcnow()
    ops_ids: tuple[int, ...] = ()
    fields = {"subscriber": row.subscriber, "delivery": row.id, "channel_type": row.channel_type}
    if error is None:
        if not recorded:
            with Session(svc.engine) as session, session.begin():
                session.execute(update(Delivery).where(Delivery.id == row.id).values(**_sent_values(sent, now)))
        log.info("delivery sent", extra={**fields, "parts": total, "attempt": row.attempts})
        return Outcome(row.id, "sent")
    with Session(svc.engine) as session, session.begin():
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
                    svc.router.subscribers,
                    key=f"dead:{row.id}:{now:%Y%m%dT%H%M%S%f}",  # each death of a retried row alerts again
                    now=now,
                    title=f"Delivery dead: {row.purpose} alert to {row.subscriber}",
                    body=(
                        f"Delivery {row.id} ({row.purpose}, source {row.source or '-'}) to subscriber "
                        f"{row.subscriber} via {row.channel_type} failed {attempts} times and was given up.\n"
                        f"Last error: {error}\nResend it with: notifier outbox retry {row.id}"
                    ),
                )
                ops_ids = tuple(outbox.add(session, ops))
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
