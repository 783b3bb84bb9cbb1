"""Reads of the stored state, and the stages of the one transaction that commits a snapshot: claim the source,
write records, write changes, (the router writes the outbox), update the source's state.

Everything a poll decides is written together or not at all: a crash before commit loses nothing (the next
poll redoes the work), and after commit the change and delivery rows are the truth. The pipeline runs the stages
in order inside `transaction`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from notifier.ingest.canonical import dumps
from notifier.ingest.diff import Scan, field_changes
from notifier.records import record_title
from notifier.store.changes import Change
from notifier.store.models import Change as ChangeTable
from notifier.store.models import Record, Snapshot, SourceState

BATCH = 2000


class Conflict(Exception):
    """Another poll of the same source committed first; this one's work is dropped, not duplicated."""


@dataclass
class Accepted:
    """What the pipeline hands the store for an accepted snapshot."""

    snapshot: Snapshot  # not yet added; counts, notes and parts filled in
    scan: Scan
    expected_revision: int  # the source's revision the poll started from
    validators: dict[str, Any]
    baseline: bool

    @property
    def source(self) -> str:
        return self.snapshot.source


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def get_state(session: Session, source: str) -> SourceState:
    state = session.get(SourceState, source)
    if state is None:
        state = SourceState(source=source)
        session.add(state)
        session.flush()
    return state


def prior_state(
    engine: Engine, source: str, raw_digests: bool = False
) -> tuple[dict[str, str | bytes], dict[str, int]]:
    """key -> hash of the source's active records and, when asked, key -> raw_digest of those that have one.

    With raw digests (a large list), a hash is held as its 16 bytes rather than 32 hex characters (`diff.scan`
    reads both): a million of them were 32 MB of a poll's peak.

    Rows come straight from a DB-API cursor (server-side on PostgreSQL) in batches: plain strings and integers
    need none of SQLAlchemy's per-row processing, which was most of the cost on a list of a million.
    """
    hashes: dict[str, str | bytes] = {}
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
                        hashes[key] = _compact(digest)
                        if raw_digest is not None:
                            prints[key] = raw_digest
                else:
                    hashes.update(rows)
        finally:
            cursor.close()
            conn.rollback()
    return hashes, prints


def _compact(digest: str) -> str | bytes:
    """A content hash (hex) as bytes; anything else as it is."""
    if len(digest) == 32:
        try:
            return bytes.fromhex(digest)
        except ValueError:
            pass
    return digest


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
_INSERT_SQL = f"INSERT INTO record ({', '.join(_UPSERT_COLUMNS)}) VALUES ({{marks}})"
_COPY_SQL = f"COPY record ({', '.join(_UPSERT_COLUMNS)}) FROM STDIN"
_UPSERT_TYPES = ("text", "text", "text", "text", "text", "text", "int8", "timestamptz", "timestamptz")
_UPSERT_SET = (
    "ON CONFLICT (source, key) DO UPDATE SET kind = excluded.kind, name = excluded.name, hash = excluded.hash, "
    "payload = excluded.payload, raw_digest = excluded.raw_digest, updated_at = excluded.updated_at, removed_at = NULL"
)
_UPSERT_SQL = f"INSERT INTO record ({', '.join(_UPSERT_COLUMNS)}, removed_at) VALUES ({{marks}}, NULL) " + _UPSERT_SET
# PostgreSQL: the batch as one array per column (binary), one statement and one round trip however many rows;
# an executemany was a Bind/Execute and a plan run per row.
_PG_UPSERT_SQL = (
    f"INSERT INTO record ({', '.join(_UPSERT_COLUMNS)}, removed_at) SELECT *, NULL FROM unnest("
    + ", ".join(f"%b::{t}[]" for t in _UPSERT_TYPES)
    + ") "
    + _UPSERT_SET
)


def _upsert(session: Session, rows: list[tuple[Any, ...]], fresh: bool = False) -> None:
    """Insert or update record rows (tuples in _UPSERT_COLUMNS order) in the session's transaction.

    A driver-level executemany, the same statement on SQLite and PostgreSQL: SQLAlchemy's per-row parameter
    processing was most of a baseline's commit (a million rows); the timestamps come from `_stamp`.
    `fresh`: the source has no row at all (a first snapshot), so a plain INSERT (PostgreSQL: COPY) does.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if fresh and dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:
            for row in rows:
                copy.write_row(row)
        return
    if dialect.name == "postgresql":  # one statement per batch, not one per row
        connection.exec_driver_sql(_PG_UPSERT_SQL, _columns(rows))
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (_INSERT_SQL if fresh else _UPSERT_SQL).format(marks=", ".join([mark] * len(_UPSERT_COLUMNS)))
    connection.exec_driver_sql(sql, rows)  # an executemany that the engine's events still see


def _columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Rows as one list per column: the arrays a PostgreSQL `unnest` takes."""
    return tuple(map(list, zip(*rows, strict=True)))


def _stamp(session: Session, column: str, value: Any, fresh: bool) -> Any:
    """A timestamp as the driver is given it for `column` (processed once per snapshot, not once per row)."""
    dialect = session.connection().dialect
    if fresh and dialect.name == "postgresql" and getattr(value, "tzinfo", None) is not None:
        return value.astimezone(UTC).replace(tzinfo=None)  # COPY reads text: what an INSERT stores (UTC session)
    return _bind(dialect, Record, column)(value)


def _has_rows(session: Session, source: str) -> bool:
    """Whether the store holds any record row of the source (active or removed)."""
    return session.execute(select(Record.key).where(Record.source == source).limit(1)).first() is not None


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


def claim(session: Session, accepted: Accepted) -> Snapshot:
    """Take the source at the revision the poll started from and add the snapshot; `Conflict` if it moved on."""
    claimed = session.execute(
        update(SourceState)
        .where(SourceState.source == accepted.source, SourceState.revision == accepted.expected_revision)
        .values(last_poll_at=accepted.snapshot.fetched_at)
    ).rowcount
    if not claimed:
        raise Conflict(f"{accepted.source}: another poll committed a snapshot first")
    session.add(accepted.snapshot)
    session.flush()
    return accepted.snapshot


def write_records(session: Session, accepted: Accepted) -> list[dict[str, Any]]:
    """Upsert the new and amended records, retire the removed and renumbered ones; the change rows they make.

    Records stream from the scan's spill in batches; the first snapshot (baseline) and renumbered records
    make no change rows."""
    scan, snapshot, source = accepted.scan, accepted.snapshot, accepted.source
    now = snapshot.fetched_at
    moved_new = {new for _, new in scan.moved}
    amended_keys = set(scan.amended)
    befores = payloads(session, source, [*scan.amended, *scan.removed, *(o for o, _ in scan.moved)])
    if scan.moved:
        session.execute(
            Record.__table__.delete().where(Record.source == source, Record.key.in_([o for o, _ in scan.moved]))
        )
    changes: list[dict[str, Any]] = []
    fresh = accepted.baseline and not _has_rows(session, source)  # nothing to update: insert (COPY) only
    first_seen, updated_at = (_stamp(session, column, now, fresh) for column in ("first_seen", "updated_at"))
    for batch in _batches(iter(scan.spill)):
        rows = []
        for key, digest, payload_json, raw_digest, kind, name in batch:
            rows.append((source, key, kind, name, digest, payload_json, raw_digest, first_seen, updated_at))
            if accepted.baseline or key in moved_new:
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
        _upsert(session, rows, fresh)
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
    return changes


_CHANGE_TYPES = {  # column -> PostgreSQL type of its array
    "source": "text",
    "snapshot_id": "int4",
    "key": "text",
    "kind": "text",
    "change": "text",
    "name": "text",
    "before": "text",
    "after": "text",
    "fields": "text",
    "created_at": "timestamptz",
    "published_on": "text",
    "publication_id": "text",
}
_CHANGE_COLUMNS = tuple(_CHANGE_TYPES)
_PG_CHANGES_SQL = (
    f"INSERT INTO change ({', '.join(_CHANGE_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%b::{t}[]" for t in _CHANGE_TYPES.values())
    + ") RETURNING key, id"
)


def _bind(dialect: Any, table: Any, column: str) -> Any:
    """The function that turns a value of `column` into what the driver is given (identity when there is none)."""
    process = table.__table__.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return process or (lambda value: value)


def write_changes(session: Session, rows: list[dict[str, Any]]) -> list[Change]:
    """Insert the change rows; the changes with their ids, in the order found.

    The ids are matched back by key (unique within a snapshot): asking the database to return them in the
    order given made SQLite insert one row per statement. PostgreSQL takes a batch as one array per column
    (`unnest`): the ORM's multi-row VALUES cost more in parameter processing and query parsing than the insert."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        stamp = _bind(connection.dialect, ChangeTable, "created_at")
        ids = {}
        for batch in _batches(iter(rows)):
            columns = [[row.get(c) for row in batch] for c in _CHANGE_COLUMNS]
            columns[_CHANGE_COLUMNS.index("name")] = [row.get("name", "") for row in batch]  # its default
            columns[_CHANGE_COLUMNS.index("created_at")] = [stamp(row["created_at"]) for row in batch]
            ids.update(connection.exec_driver_sql(_PG_CHANGES_SQL, tuple(columns)).all())
    else:
        result = session.execute(insert(ChangeTable).returning(ChangeTable.key, ChangeTable.id), rows)
        ids = dict(result.all())
    return [Change.from_row({**row, "id": ids[row["key"]]}) for row in rows]


def update_state(session: Session, accepted: Accepted, changed: bool) -> None:
    """The source now stands at this snapshot: its revision, validators, record count, last success."""
    now = accepted.snapshot.fetched_at
    count = accepted.snapshot.record_count  # the pipeline's count: counting a million rows again costs seconds
    if count is None:
        count = session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.source == accepted.source, Record.removed_at.is_(None))
        )
    session.execute(
        update(SourceState)
        .where(SourceState.source == accepted.source)
        .values(
            revision=accepted.snapshot.id,
            validators=dumps(accepted.validators),
            last_poll_at=now,
            last_success_at=now,
            last_status="accepted",
            last_error=None,
            consecutive_failures=0,
            record_count=count,
            **({"last_change_at": now} if changed else {}),
        )
    )


def record_outcome(session: Session, snapshot: Snapshot, validators: dict[str, Any] | None = None) -> Snapshot:
    """Record an unchanged, quarantined or failed poll; the stored records are untouched."""
    now = snapshot.fetched_at
    state = get_state(session, snapshot.source)
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
    session.flush()
    return snapshot


def ensure_state(engine: Engine, source: str) -> SourceState:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return get_state(session, source)
