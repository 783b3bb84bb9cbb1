"""Which subscriptions a change concerns, and the outbox rows that carry it to them.

Routing runs inside the snapshot's transaction (the pipeline hands it the new change rows), so a change and
the deliveries it causes are committed together: no change without its alerts, no alert without its change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from notifier.alerts.digests import hold
from notifier.alerts.render import SourceMeta
from notifier.alerts.subscriptions import Channel, Subscriber
from notifier.store.repo import ChangeRow


def is_ops_channel(sub: Subscriber, channel: Channel) -> bool:
    """Ops channels get ops alerts (quarantines, dead deliveries...) and no change alerts."""
    return "ops" in channel.tags or "ops" in sub.tags


def _text_of(payload: dict[str, Any]) -> str:
    fields = ("name", "aliases", "remarks", "description", "title_text", "summary", "item_code", "programs")
    parts: list[str] = []
    for f in fields:
        v = payload.get(f)
        if isinstance(v, list):
            parts.extend(str(x) for x in v)
        elif v:
            parts.append(str(v))
    return " ".join(parts).casefold()


def matches(sub: Subscriber, change: ChangeRow, meta: SourceMeta, jurisdictions: set[str] | None = None) -> bool:
    """Every non-empty filter must hold; within one filter any value may.

    `jurisdictions` replaces the source's own for items that name theirs (news about Japan from a Russian agency).
    """
    f = sub.filters
    payloads = [p for p in (change.after, change.before) if p]
    if f.sources and change.source not in f.sources:
        return False
    if f.jurisdictions and not (jurisdictions or {meta.jurisdiction.upper()}) & set(f.jurisdictions):
        return False
    if f.kinds and change.kind not in f.kinds:
        return False
    if f.changes and change.change not in f.changes:
        return False
    if f.programs:
        wanted = {p.casefold() for p in f.programs}
        if not any(str(p).casefold() in wanted for pl in payloads for p in pl.get("programs") or []):
            return False
    if f.entity_types and not any(pl.get("entity_type") in f.entity_types for pl in payloads):
        return False
    if f.keywords:
        text = " ".join(_text_of(pl) for pl in payloads)
        if not any(k.casefold() in text for k in f.keywords):
            return False
    return True


def delivery_row(
    *, purpose: str, key: str, sub: Subscriber, channel: Channel, now: datetime, **fields: Any
) -> dict[str, Any]:
    """An outbox row; `key` makes it unique, so writing the same delivery twice is impossible."""
    row = dict(
        dedupe_key=f"{purpose}:{key}:{sub.name}:{channel.id}",
        purpose=purpose,
        subscriber=sub.name,
        channel=channel.id,
        channel_type=channel.scheme,
        status="pending",
        attempts=0,
        parts_sent=0,
        next_attempt_at=now,
        created_at=now,
        change_ids="[]",
    )
    row.update(fields)
    return row


def route_changes(
    subscribers: Iterable[Subscriber],
    changes: list[ChangeRow],
    meta: SourceMeta,
    snapshot_id: int,
    now: datetime,
    jurisdictions_of: dict[int, set[str]] | None = None,
) -> list[dict[str, Any]]:
    """One outbox row per (snapshot, subscriber, channel) listing the changes that matched."""
    named = jurisdictions_of or {}
    rows = []
    for sub in subscribers:
        ids = [c.id for c in changes if matches(sub, c, meta, named.get(c.id))]
        if not ids:
            continue
        for channel in sub.channels:
            if is_ops_channel(sub, channel):
                continue
            row = delivery_row(
                purpose="changes",
                key=str(snapshot_id),
                sub=sub,
                channel=channel,
                now=now,
                snapshot_id=snapshot_id,
                source=meta.id,
                change_ids=json.dumps(ids),
            )
            rows.append(hold(row, sub, now))  # digest subscribers: held until their next digest
    return rows


def ops_rows(subscribers: Iterable[Subscriber], key: str, title: str, body: str, now: datetime) -> list[dict[str, Any]]:
    """One outbox row per ops channel for an ops alert (deduplicated by `key`)."""
    return [
        delivery_row(purpose="ops", key=key, sub=sub, channel=ch, now=now, title=title, body=body)
        for sub in subscribers
        for ch in sub.channels
        if is_ops_channel(sub, ch)
    ]
