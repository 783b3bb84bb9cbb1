"""Reads of the stored state and the one transaction that commits a snapshot with its changes and outbox.

Everything a poll decides is written together or not at all: a crash before commit loses nothing (the next
poll redoes the work), and after commit the change and delivery rows are the truth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from notifier.ingest.canonical import dumps
from notifier.ingest.diff import Scan, field_changes
from notifier.records import record_title
from notifier.store.models import Change, Delivery, Record, Snapshot, SourceState

BATCH = 2000


class Conflict(Exception):
    """Another poll of the same source committed first; this one's work is dropped, not duplicated."""


@dataclass
class ChangeRow:
    """A change as routing sees it: ids assigned, payloads decoded."""

    id: int
    source: str
    snapshot_id: int
    key: str
    kind: str
    change: str
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: list[dict[str, Any]] | None
    created_at: datetime
    published_on: str | None = None  # the publication's own date (ISO), from the snapshot
    publication_id: str | None = None


Router = Callable[[Session, list[ChangeRow], Snapshot], list[dict[str, Any]]]


def get_state(session: Session, source: str) -> SourceState:
    state = session.get(SourceState, source)
    if state is None:
        state = SourceState(source=source)
        session.add(state)
        session.flush()
    return state


def prior_state(engine: Engine, source: str, raw_digests: bool = False) -> tuple[dict[str, str], dict[str, int]]:
    """key -> hash of the source's active records and, when asked, key -> raw_digest of those that have one.

    Rows come straight from a DB-API cursor (server-side on PostgreSQL) in batches: plain strings and integers
    need none of SQLAlchemy's per-row processing, which was most of the cost on a list of a million.
    """
    hashes: dict[str, str] = {}
    prints: dict[str, int] = {}
    columns = (Record.key, Record.hash, Record.raw_digest) if raw_digests else (Record.key, Record.hash)
    stmt = select(*columns).where(Record.source == source, Record.removed_at.is_(None))
    with engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.params
        args = [params[name] for name in compiled.positiontup] if compiled.positiontup else params
        dbapi = conn.connection.dbapi_connection
        cursor = dbapi.cursor(name="prior_state") if conn.dialect.name == "postgresql" else dbapi.cursor()
        try:
            cursor.execute(str(compiled), args)
            while rows := cursor.fetchmany(20000):
                if raw_digests:
                    for key, digest, raw_digest in rows:
                        hashes[key] = digest
                        if raw_digest is not None:
                            prints[key] = raw_digest
                else:
                    hashes.update(rows)
        finally:
            cursor.close()
            conn.rollback()
    return hashes, prints


def payloads(session: Session, source: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    keys = list(keys)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for key, payload in session.execute(
            select(Record.key, Record.payload).where(Record.source == source, Record.key.in_(chunk))
        ):
            out[key] = json.loads(payload)
    return out


_UPSERT_COLUMNS = ("source", "key", "kind", "name", "hash", "payload", "raw_digest", "first_seen", "updated_at")
_UPSERT_SQL = (
    f"INSERT INTO record ({', '.join(_UPSERT_COLUMNS)}, removed_at) VALUES ({{marks}}, NULL) "
    "ON CONFLICT (source, key) DO UPDATE SET kind = excluded.kind, name = excluded.name, hash = excluded.hash, "
    "payload = excluded.payload, raw_digest = excluded.raw_digest, updated_at = excluded.updated_at, removed_at = NULL"
)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or update record rows as a driver-level executemany in the session's transaction.

    The same statement on SQLite and PostgreSQL; SQLAlchemy's per-row parameter processing was most of a
    baseline's commit (a million rows), so only the two timestamps (one value per batch) go through its types.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = _UPSERT_SQL.format(marks=", ".join([mark] * len(_UPSERT_COLUMNS)))
    table = Record.__table__
    stamp = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
        for name in ("first_seen", "updated_at")
    }
    stamps: dict[tuple[str, Any], Any] = {}

    def stamped(name: str, value: Any) -> Any:
        key = (name, value)
        if key not in stamps:
            stamps[key] = stamp[name](value)
        return stamps[key]

    params = [
        (
            r["source"],
            r["key"],
            r["kind"],
            r["name"],
            r["hash"],
            r["payload"],
            r.get("raw_digest"),
            stamped("first_seen", r["first_seen"]),
            stamped("updated_at", r["updated_at"]),
        )
        for r in rows
    ]
    connection.exec_driver_sql(sql, params)  # an executemany that the engine's events still see


def _batches(items: Iterator[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _change(
    snapshot: Snapshot,
    key: str,
    change: str,
    name: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    after_json: str | None,
    fields: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """A change event row; `after_json` is the stored payload text, reused rather than encoded again."""
    return dict(
        source=snapshot.source,
        snapshot_id=snapshot.id,
        key=key,
        kind=(after or before or {}).get("kind", ""),
        change=change,
        name=name,
        before=dumps(before) if before else None,
        after=after_json,
        fields=dumps(fields) if fields is not None else None,
        created_at=snapshot.fetched_at,
        published_on=snapshot.published_on,
        publication_id=snapshot.publication_id,
    )


def commit_accepted(
    engine: Engine,
    *,
    source: str,
    expected_revision: int,
    scan: Scan,
    snapshot: Snapshot,
    validators: dict[str, Any],
    baseline: bool,
    router: Router | None = None,
) -> tuple[Snapshot, list[ChangeRow]]:
    """Write snapshot, records, change events, outbox rows and source state in one transaction."""
    now = snapshot.fetched_at
    with Session(engine, expire_on_commit=False) as session, session.begin():
        claimed = session.execute(
            update(SourceState)
            .where(SourceState.source == source, SourceState.revision == expected_revision)
            .values(last_poll_at=now)
        ).rowcount
        if not claimed:
            raise Conflict(f"{source}: another poll committed a snapshot first")
        session.add(snapshot)
        session.flush()
        moved_new = {new for _, new in scan.moved}
        amended_keys = set(scan.amended)
        befores = payloads(session, source, [*scan.amended, *scan.removed, *(o for o, _ in scan.moved)])
        if scan.moved:
            session.execute(
                Record.__table__.delete().where(Record.source == source, Record.key.in_([o for o, _ in scan.moved]))
            )

        changes: list[dict[str, Any]] = []
        for batch in _batches(iter(scan.spill)):
            rows = []
            for key, digest, payload_json, raw_digest, kind, name in batch:
                rows.append(
                    dict(
                        source=source,
                        key=key,
                        kind=kind,
                        name=name,
                        hash=digest,
                        payload=payload_json,
                        raw_digest=raw_digest,
                        first_seen=now,
                        updated_at=now,
                        removed_at=None,
                    )
                )
                if baseline or key in moved_new:
                    continue
                payload = json.loads(payload_json)
                before = befores.get(key)
                amended = key in amended_keys
                changes.append(
                    _change(
                        snapshot,
                        key,
                        "amended" if amended else "added",
                        name,
                        before,
                        payload,
                        payload_json,
                        field_changes(before, payload) if amended else None,
                    )
                )
            _upsert(session, rows)
        if scan.redigested:
            session.execute(
                update(Record.__table__)
                .where(Record.__table__.c.source == bindparam("s"), Record.__table__.c.key == bindparam("k"))
                .values(raw_digest=bindparam("f")),
                [{"s": source, "k": k, "f": f} for k, f in scan.redigested.items()],
            )
        if scan.removed:
            for chunk in _batches(iter(scan.removed), 500):
                session.execute(
                    update(Record)
                    .where(Record.source == source, Record.key.in_(chunk))
                    .values(removed_at=now, updated_at=now)
                )
            for key in scan.removed:
                before = befores.get(key) or {}
                changes.append(_change(snapshot, key, "removed", record_title(before) or key, before, None, None, None))

        change_rows: list[ChangeRow] = []
        if changes:
            result = session.execute(
                insert(Change).returning(Change.id, Change.key, sort_by_parameter_order=True), changes
            )
            for (cid, _key), c in zip(result.all(), changes, strict=True):
                change_rows.append(
                    ChangeRow(
                        id=cid,
                        source=source,
                        snapshot_id=snapshot.id,
                        key=c["key"],
                        kind=c["kind"],
                        change=c["change"],
                        name=c["name"],
                        before=json.loads(c["before"]) if c["before"] else None,
                        after=json.loads(c["after"]) if c["after"] else None,
                        fields=json.loads(c["fields"]) if c["fields"] else None,
                        created_at=now,
                        published_on=c["published_on"],
                        publication_id=c["publication_id"],
                    )
                )
        if router is not None:
            deliveries = router(session, change_rows, snapshot)
            if deliveries:
                session.execute(insert(Delivery), deliveries)

        count = snapshot.record_count  # the pipeline's count: counting a million rows again costs seconds
        if count is None:
            count = session.scalar(
                select(func.count()).select_from(Record).where(Record.source == source, Record.removed_at.is_(None))
            )
        session.execute(
            update(SourceState)
            .where(SourceState.source == source)
            .values(
                revision=snapshot.id,
                validators=dumps(validators),
                last_poll_at=now,
                last_success_at=now,
                last_status="accepted",
                last_error=None,
                consecutive_failures=0,
                record_count=count,
                **({"last_change_at": now} if change_rows else {}),
            )
        )
    return snapshot, change_rows


def commit_outcome(
    engine: Engine,
    *,
    source: str,
    snapshot: Snapshot,
    validators: dict[str, Any] | None = None,
    extra: Callable[[Session, Snapshot], None] | None = None,
) -> Snapshot:
    """Record an unchanged, quarantined or failed poll; the stored records are untouched."""
    now = snapshot.fetched_at
    with Session(engine, expire_on_commit=False) as session, session.begin():
        state = get_state(session, source)
        session.add(snapshot)
        session.flush()
        state.last_poll_at = now
        state.last_status = snapshot.status
        if snapshot.status == "unchanged":
            state.last_success_at = now
            state.last_error = None
            state.consecutive_failures = 0
            if validators is not None:
                state.validators = dumps(validators)
        else:
            state.last_error = snapshot.reason
            state.consecutive_failures += 1
        if extra is not None:
            extra(session, snapshot)
    return snapshot


def ensure_state(engine: Engine, source: str) -> SourceState:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return get_state(session, source)
