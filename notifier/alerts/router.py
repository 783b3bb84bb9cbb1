"""Which subscriptions a change concerns, and the outbox rows that carry it to them: the route stage.

Routing runs inside the snapshot's transaction (the pipeline calls `Router.route` after the store has written
the change rows), so a change and the deliveries it causes are committed together: no change without its
alerts, no alert without its change. A poll that is not accepted is routed to ops (`Router.route_outcome`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from notifier.alerts import outbox
from notifier.alerts.digests import hold
from notifier.alerts.outbox import is_ops_channel, ops_rows
from notifier.alerts.render import SourceMeta
from notifier.alerts.subscriptions import Subscriber
from notifier.screening.news import NewsScreen
from notifier.screening.watchlists import watchlist_rows
from notifier.store.changes import Change
from notifier.store.models import Snapshot, SourceState
from notifier.timeutil import utcnow


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


def matches(sub: Subscriber, change: Change, meta: SourceMeta, jurisdictions: set[str] | None = None) -> bool:
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


def route_changes(
    subscribers: Iterable[Subscriber],
    changes: list[Change],
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
            row = outbox.row(
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


def source_meta(metas: dict[str, SourceMeta], source_id: str) -> SourceMeta:
    """What alerts call a source; a source missing from the configuration is called by its id."""
    return metas.get(source_id) or SourceMeta(source_id, source_id, "", "designation")


def review_commands(snapshot_id: int) -> str:
    """What the ops alert of a quarantine (and `notifier quarantine show`) tells an operator to run."""
    return (
        f"Review: notifier quarantine show {snapshot_id}\n"
        f"Release it (alerts go out as for a normal poll): notifier quarantine accept {snapshot_id} --reason '...'\n"
        f"Keep it out for good: notifier quarantine reject {snapshot_id} --reason '...'"
    )


@dataclass
class Router:
    """Who hears about what a poll did: built once from subscribers, sources and news rules; the pipeline calls
    it inside the snapshot's transaction, after the store has written the changes."""

    subscribers: list[Subscriber]
    metas: dict[str, SourceMeta]
    news: NewsScreen
    failure_threshold: int  # failed polls in a row before ops hear of it
    sources_file: Path | None = None  # named in the alert that a source's file can no longer be found

    def meta(self, source_id: str) -> SourceMeta:
        return source_meta(self.metas, source_id)

    def route(self, session: Session, changes: list[Change], snapshot: Snapshot) -> list[int]:
        """Outbox rows for an accepted snapshot: matching subscribers, watchlist hits, renumbered records."""
        meta = self.meta(snapshot.source)
        named: dict[int, set[str]] = {}
        if meta.kind == "news":
            changes, named = self.news.fresh(session, changes, snapshot.fetched_at)
        rows = (
            route_changes(self.subscribers, changes, meta, snapshot.id, snapshot.fetched_at, named) if changes else []
        )
        rows += watchlist_rows(session, self.subscribers, changes, snapshot.id, snapshot.fetched_at)
        if snapshot.moved:
            moved = json.loads(snapshot.notes or "{}").get("moved", [])
            shown = "\n".join(f"{old} -> {new}" for old, new in moved[:50])
            rows += ops_rows(
                self.subscribers,
                key=f"moved:{snapshot.id}",
                now=snapshot.fetched_at,
                title=f"{meta.title}: {snapshot.moved} records renumbered by the publisher",
                body=f"Matched by content, so no subscriber was alerted (old -> new key):\n{shown}",
            )
        return outbox.add(session, rows)

    def route_outcome(self, session: Session, snapshot: Snapshot) -> list[int]:
        """Ops alerts for a poll that was not accepted: every quarantine, and a failure streak at the threshold."""
        meta = self.meta(snapshot.source)
        state = session.get(SourceState, snapshot.source)
        if snapshot.status == "quarantined":
            title = f"{meta.title}: snapshot {snapshot.id} quarantined"
            body = (
                f"Snapshot {snapshot.id} of {snapshot.source} was quarantined; no subscriber was alerted.\n"
                f"Why: {snapshot.reason}\n{review_commands(snapshot.id or 0)}"
            )
            key = f"quarantined:{snapshot.id}"
        elif (
            snapshot.status == "failed"
            and (lost := json.loads(snapshot.notes or "{}").get("discovery_failed"))
            and state is not None
            and state.consecutive_failures == 1
        ):
            # A redesigned page fails every poll until someone updates the rule: say so at once, not after a streak.
            title = f"{meta.title}: its file can no longer be found on {lost['page']}"
            body = (
                f"{snapshot.source}: {lost['why']} on {lost['page']} (rule: {lost['rule']}). The page may have been "
                "redesigned or moved; no subscriber was alerted and the stored list is unchanged. Update the "
                f"source's discover: rule in {self.sources_file}, or poll once from another page: "
                f"notifier poll {snapshot.source} --url PAGE"
            )
            key = f"discovery:{snapshot.id}"
        elif snapshot.status == "failed":
            if state is None or state.consecutive_failures != self.failure_threshold:
                return []
            title = f"{meta.title}: {state.consecutive_failures} failed polls in a row"
            body = (
                f"{snapshot.source} has failed {state.consecutive_failures} polls in a row. "
                f"Last error: {snapshot.reason}"
            )
            key = f"failing:{snapshot.id}"
        else:
            return []
        return outbox.add(session, ops_rows(self.subscribers, key=key, title=title, body=body, now=utcnow()))
