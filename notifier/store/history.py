"""Reads of past snapshots that the guard compares a new one with, and the note of a repeated quarantine.

Kept apart from the commit path: these are read before anything is decided, and a repeated quarantine
writes only the source's state (no new snapshot row, no second ops alert for the same bytes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from notifier.store.models import Snapshot, SourceState
from notifier.store.repo import payloads


@dataclass
class History:
    """What a source's past snapshots say about a new one with combined sha256 `sha256`."""

    parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the last accepted snapshot's parts info
    published_on: str | None = None  # the last accepted snapshot's publication date
    superseded: dict[str, tuple[int, datetime]] = field(default_factory=dict)  # sha -> (id, fetched) of older
    repeat: Snapshot | None = None  # a quarantined (since the last accept) or rejected snapshot of the same bytes


def history(engine: Engine, source: str, revision: int, sha256: str | None) -> History:
    out = History()
    with Session(engine) as session:
        if revision:
            last = session.get(Snapshot, revision)
            if last is not None:
                out.parts = json.loads(last.parts or "{}")
                out.published_on = last.published_on
            for snap_id, digest, fetched in session.execute(
                select(Snapshot.id, Snapshot.sha256, Snapshot.fetched_at).where(
                    Snapshot.source == source,
                    Snapshot.status == "accepted",
                    Snapshot.id < revision,
                    Snapshot.sha256.is_not(None),
                )
            ):
                if digest != (last.sha256 if last is not None else None):
                    out.superseded.setdefault(digest, (snap_id, fetched))
        if sha256:
            out.repeat = session.execute(
                select(Snapshot)
                .where(
                    Snapshot.source == source,
                    Snapshot.sha256 == sha256,
                    or_(
                        Snapshot.status == "rejected",
                        (Snapshot.status == "quarantined") & (Snapshot.id > revision),
                    ),
                )
                .order_by(Snapshot.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if out.repeat is not None:
                session.expunge(out.repeat)
    return out


def accepted_parts(engine: Engine, revision: int) -> dict[str, dict[str, Any]]:
    """The parts info (sha256, archive, url, rows...) of the accepted snapshot `revision`; {} when none."""
    if not revision:
        return {}
    with Session(engine) as session:
        snap = session.get(Snapshot, revision)
        return json.loads(snap.parts or "{}") if snap is not None else {}


def stored_payloads(engine: Engine, source: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Stored payloads of these keys (the guard and the review compare them with a new snapshot's)."""
    with Session(engine) as session:
        return payloads(session, source, keys)


def note_repeat(engine: Engine, source: str, now: datetime, reason: str) -> None:
    """The same quarantined or rejected bytes polled again: the state says so, nothing else is written."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(SourceState)
            .where(SourceState.source == source)
            .values(
                last_poll_at=now,
                last_status="quarantined",
                last_error=reason,
                consecutive_failures=SourceState.consecutive_failures + 1,
            )
        )
