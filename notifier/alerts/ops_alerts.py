"""Ops alerts raised by housekeeping rather than by a poll: a source gone stale, a backlog found by the relay.

Each alert is an ordinary outbox row per ops channel, deduplicated by its key: one alert per stale episode
(the key names the last success the source is stuck at), one per hour of backlog, however often the check runs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts import outbox
from notifier.alerts.outbox import ops_rows
from notifier.context import Context
from notifier.ops.health import ago
from notifier.ops.status import is_stale
from notifier.redact import scrub
from notifier.store.models import SourceState
from notifier.timeutil import utcnow


def insert_ops_alert(session: Session, svc: Context, key: str, title: str, body: str, now: datetime) -> list[int]:
    """Outbox rows for every ops channel; an alert already written under `key` is not written again."""
    return outbox.add(session, ops_rows(svc.router.subscribers, key=key, title=title, body=body, now=now))


def alert_stale_sources(svc: Context, now: datetime | None = None) -> list[int]:
    """One ops alert per enabled source whose last success is older than twice its schedule."""
    now = now or utcnow()
    created: list[int] = []
    with Session(svc.engine) as session, session.begin():
        states = {s.source: s for s in session.execute(select(SourceState)).scalars()}
        for sid, cfg in sorted(svc.sources.items()):
            st = states.get(sid)
            if not cfg.enabled or st is None or not is_stale(cfg.schedule, st.last_success_at, now):
                continue
            since = ago((now - st.last_success_at).total_seconds())
            body = (
                f"{sid} has not been polled successfully for {since} (last success "
                f"{st.last_success_at:%Y-%m-%d %H:%M}Z; it is polled every {ago(cfg.schedule)}). "
                f"Last status: {st.last_status or '-'}; failures in a row: {st.consecutive_failures}; "
                f"last error: {scrub(st.last_error or '-')}.\nCheck the poll workers and beat: notifier status"
            )
            created += insert_ops_alert(
                session,
                svc,
                key=f"stale:{sid}:{st.last_success_at:%Y%m%dT%H%M%S}",
                title=f"{svc.meta(sid).title}: no successful poll for {since}",
                body=body,
                now=now,
            )
    return created


def alert_relay_backlog(svc: Context, relayed: int, now: datetime | None = None) -> list[int]:
    """Ops hear when one relay run had to re-enqueue more than NOTIFIER_OPS_RELAY_BACKLOG rows (once an hour)."""
    if relayed <= svc.settings.ops_relay_backlog:
        return []
    now = now or utcnow()
    with Session(svc.engine) as session, session.begin():
        return insert_ops_alert(
            session,
            svc,
            key=f"backlog:{now:%Y-%m-%dT%H}",
            title=f"Outbox backlog: the relay re-enqueued {relayed} deliveries",
            body=(
                f"The outbox relay found {relayed} deliveries due for more than {ago(svc.settings.relay_grace)} "
                f"without a worker taking them (limit {svc.settings.ops_relay_backlog}): their broker messages "
                "were lost or the deliver workers cannot keep up. Check: notifier status"
            ),
            now=now,
        )
