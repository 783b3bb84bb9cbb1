"""PostgreSQL indexes a snapshot's change rows at COMMIT in one statement (migration 0015): every row still gets
its change_index row, seq in id order, with the filter columns its payload gives; a payload that is not JSON
only loses its own filter columns; rows added after the trigger already ran (constraints set immediate) and
rows of several snapshots in one transaction are all indexed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from notifier.store.repo import write_changes

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(pg_url):
    from notifier.store.db import get_engine, migrate

    migrate(pg_url)
    return get_engine(pg_url)


def _snapshot(session: Session) -> int:
    from notifier.store.models import Snapshot
    from notifier.timeutil import utcnow

    snap = Snapshot(source="s", fetched_at=utcnow(), status="accepted", parts="{}")
    session.add(snap)
    session.flush()
    return snap.id


def _rows(snapshot_id: int, keys: list[str]) -> list[dict]:
    from notifier.timeutil import utcnow

    now = utcnow()
    return [
        dict(
            source="s",
            snapshot_id=snapshot_id,
            key=k,
            kind="designation",
            change="added",
            name=f"Name {k}",
            after=json.dumps({"entity_type": "person", "programs": ["SDGT", f"P{k}"], "key": k}),
            created_at=now,
        )
        for k in keys
    ]


def _index(session: Session, snapshot_id: int) -> list[tuple]:
    return [
        tuple(r)
        for r in session.execute(
            text(
                "SELECT ci.change_id, ci.entity_type, ci.programs, ci.folded FROM change_index ci "
                "JOIN change c ON c.id = ci.change_id WHERE c.snapshot_id = :s ORDER BY ci.seq"
            ),
            {"s": snapshot_id},
        )
    ]


def test_every_change_of_a_snapshot_is_indexed_at_commit_in_id_order_with_its_filter_columns(engine):
    with Session(engine) as session, session.begin():
        sid = _snapshot(session)
        changes = write_changes(session, _rows(sid, [f"k{i:03}" for i in range(300)]))
        assert _index(session, sid) == []  # not before COMMIT
    with Session(engine) as session:
        index = _index(session, sid)
    assert [r[0] for r in index] == sorted(c.id for c in changes)  # a snapshot's seq follows its ids
    by_id = {c.id: c.key for c in changes}
    assert index == [(cid, "person", f"|SDGT|P{by_id[cid]}|", f"name {by_id[cid]} {by_id[cid]}") for cid, *_ in index]


def test_a_payload_that_is_not_json_only_loses_its_own_filter_columns(engine):
    with Session(engine) as session, session.begin():
        sid = _snapshot(session)
        good = write_changes(session, _rows(sid, ["a", "c"]))
        bad = session.execute(  # not through write_changes, which decodes what it wrote
            text(
                "INSERT INTO change (source, snapshot_id, key, kind, change, name, after, created_at) "
                "VALUES ('s', :s, 'b', 'designation', 'added', 'B', 'not json {', now()) RETURNING id"
            ),
            {"s": sid},
        ).scalar_one()
    with Session(engine) as session:
        index = {r[0]: r[1:3] for r in _index(session, sid)}
    assert index == {good[0].id: ("person", "|SDGT|Pa|"), good[1].id: ("person", "|SDGT|Pc|"), bad: (None, None)}


def test_rows_written_after_the_trigger_ran_and_rows_of_several_snapshots_are_all_indexed(engine):
    with Session(engine) as session, session.begin():
        first, second = _snapshot(session), _snapshot(session)
        early = write_changes(session, _rows(first, ["a", "b"]))
        session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the deferred trigger runs now, mid-transaction
        session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        late = write_changes(session, _rows(first, ["c"]))
        other = write_changes(session, _rows(second, ["a", "b"]))
        later = write_changes(session, _rows(first, ["d"]))
    with Session(engine) as session:
        assert [r[0] for r in _index(session, first)] == [c.id for c in early + late + later]
        assert [r[0] for r in _index(session, second)] == [c.id for c in other]
        assert session.scalar(text("SELECT count(*) FROM change_index")) == 6
