"""A source's first snapshot is inserted without upsert (PostgreSQL: COPY): the rows must be exactly those the
upsert writes, timestamps included, and a store that already holds rows of the source still upserts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.store.models import Record, Snapshot
from notifier.timeutil import utcnow

FIXTURE = Path(__file__).parent / "fixtures" / "opensanctions" / "entities.ftm.json"
COLUMNS = (Record.key, Record.kind, Record.name, Record.hash, Record.payload, Record.raw_digest, Record.removed_at)


def rows(ctx, source: str) -> list[tuple]:
    with Session(ctx.engine) as session:
        return [tuple(r) for r in session.execute(select(*COLUMNS).where(Record.source == source).order_by(Record.key))]


def stamps(ctx, source: str) -> tuple[set, object]:
    with Session(ctx.engine) as session:
        stamped = select(Record.first_seen, Record.updated_at).where(Record.source == source, Record.key != "gone")
        seen = {tuple(r) for r in session.execute(stamped)}
        fetched = session.scalars(select(Snapshot.fetched_at).where(Snapshot.source == source)).one()
    return seen, fetched


def test_first_snapshot_rows_are_the_upserts_rows_and_a_store_with_rows_still_upserts(make_ctx):
    ctx = make_ctx(
        {"fresh": {"adapter": "opensanctions", "url": "x"}, "stale": {"adapter": "opensanctions", "url": "x"}}
    )
    old = utcnow()
    with Session(ctx.engine) as session, session.begin():  # a removed row left from an earlier life of the source
        session.add(
            Record(
                source="stale",
                key="gone",
                kind="designation",
                name="Gone",
                hash="0" * 32,
                payload="{}",
                first_seen=old,
                updated_at=old,
                removed_at=old,
            )
        )
    fresh = poll(ctx, "fresh", {"main": str(FIXTURE)})
    stale = poll(ctx, "stale", {"main": str(FIXTURE)})
    assert fresh.status == stale.status == "accepted" and fresh.baseline and stale.baseline
    assert fresh.record_count == stale.record_count > 0

    assert rows(ctx, "fresh") == [r for r in rows(ctx, "stale") if r[0] != "gone"]
    for source in ("fresh", "stale"):  # the snapshot's own time, read back alike whichever way it was written
        seen, fetched = stamps(ctx, source)
        assert seen == {(fetched, fetched)}
