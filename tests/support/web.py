"""A service filled by replaying real OFAC publications, and helpers to reach its web app."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

OFAC_DIR = "ofac/consolidated_xml"
OFAC_FILES = ("2025-10-22_CONSOLIDATED.XML", "2025-12-18_CONSOLIDATED.XML")
OFAC_SOURCE = {
    "us_ofac_cons": {
        "title": "OFAC Consolidated (non-SDN)",
        "url": "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONSOLIDATED.XML",
        "schedule": "5m",
        "guard": {"min_records": 100, "max_drop": 0.10},
    }
}
SUBSCRIBERS = {"subscribers": [{"name": "compliance", "channels": [{"url": "json://127.0.0.1:9/hook"}]}]}


def replay_ofac(make_ctx, real) -> tuple:  # noqa: ANN001
    """The README's replay example: baseline 2025-10-22, then 2025-12-18 delists uid 26182."""
    from notifier.ingest.pipeline import poll

    ctx = make_ctx(OFAC_SOURCE, SUBSCRIBERS)
    files = [real(f"{OFAC_DIR}/{name}") for name in OFAC_FILES]
    for f in files:
        result = poll(ctx, "us_ofac_cons", {"main": str(f)})
        assert result.status == "accepted", result.summary()
    return ctx, files


def add_change(ctx, source: str, key: str, change: str, payload: dict, name: str | None = None) -> int:  # noqa: ANN001
    """A change event written straight into the tables (for hostile or bulk content no real file carries)."""
    from notifier.store.models import Change, Snapshot
    from notifier.timeutil import utcnow

    now = utcnow()
    with Session(ctx.engine) as session, session.begin():
        snap = Snapshot(source=source, fetched_at=now, status="accepted", sha256="0" * 64, parts="{}")
        session.add(snap)
        session.flush()
        body = json.dumps({"kind": "designation", "key": key, **payload})
        cid = session.execute(
            insert(Change).returning(Change.id),
            [
                dict(
                    source=source,
                    snapshot_id=snap.id,
                    key=key,
                    kind="designation",
                    change=change,
                    name=name if name is not None else payload.get("name", key),
                    before=body if change == "removed" else None,
                    after=None if change == "removed" else body,
                    created_at=now,
                )
            ],
        ).scalar_one()
    return cid


def sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_counterparties(ctx, count: int = 2) -> list[str]:  # noqa: ANN001
    """Import, for the subscriber `compliance`, a watchlist naming `count` currently listed parties (their hits)."""
    from sqlalchemy import select

    from notifier.screening.watchlists import import_watchlist
    from notifier.store.models import Record

    with Session(ctx.engine) as session:
        names = list(
            session.execute(
                select(Record.name)
                .where(Record.removed_at.is_(None), Record.kind == "designation", Record.name.like("%, %"))
                .order_by(Record.key)
                .limit(count)
            ).scalars()
        )
    body = "name,reference\n" + "".join(f'"{n}",REF-{i}\n' for i, n in enumerate(names))
    sub = next(s for s in ctx.subscribers if s.name == "compliance")
    import_watchlist(ctx.engine, sub, body.encode(), label="counterparties.csv")
    return names
