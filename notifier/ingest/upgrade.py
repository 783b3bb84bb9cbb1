"""A new parser must not look like a new publication.

When an adapter starts reading more out of the same bytes (sdn.csv remarks taken apart into fields, say), every
stored record it touches would hash differently and the next poll would "amend" thousands of parties. Instead,
the first poll after such an upgrade (Adapter.parser_version differs from the one the stored records were made
with) re-reads the last accepted snapshot from the archive with the new parser and stores those payloads without
change events; then the new snapshot is diffed as usual, so only what the publisher changed is alerted.

When the archived copy is gone (pruned), the stored records are left as they are and the poll diffs against them:
the amendments then reach the guard, whose mass-amendment check is the next line of defence; it is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, update
from sqlalchemy.orm import Session

from notifier.adapter import Adapter
from notifier.ingest.archive import Archive
from notifier.ingest.diff import scan
from notifier.store.models import Record, Snapshot, SourceState
from notifier.store.repo import prior_state

log = logging.getLogger("notifier.ingest.upgrade")

_DEFAULT = "1"


@dataclass(frozen=True)
class _Upgrade:
    """The source being upgraded: its stored records, its archive and the adapter that re-reads the snapshot."""

    engine: Engine
    archive: Archive
    tmp_dir: Path
    source: str
    adapter_cls: type[Adapter]
    options: Mapping[str, Any] | None


def refresh_stored_records(
    engine: Engine,
    archive: Archive,
    tmp_dir: Path,
    source: str,
    adapter_cls: type[Adapter],
    options: Mapping[str, Any] | None,
) -> int | None:
    """Bring the stored records to the current parser's reading of the last accepted snapshot.

    Returns how many stored records were rewritten silently (None when nothing was to do or it could not be done).
    """
    current = adapter_cls.parser_version
    with Session(engine) as session:
        state = session.get(SourceState, source)
        if state is None or (state.parser_version or _DEFAULT) == current:
            return None
        snapshot = session.get(Snapshot, state.revision) if state.revision else None
    up = _Upgrade(engine, archive, tmp_dir, source, adapter_cls, options)
    refreshed = _reparse(up, snapshot) if snapshot else None
    with Session(engine) as session, session.begin():
        session.execute(update(SourceState).where(SourceState.source == source).values(parser_version=current))
        if refreshed is None:
            # The stored records are still the old parser's reading: an unchanged published form must not spare
            # them a rebuild (Adapter.parse_unbuilt), or they would keep the old reading for good.
            session.execute(update(Record).where(Record.source == source).values(raw_digest=None))
    return refreshed


def _reparse(up: _Upgrade, snapshot: Snapshot) -> int | None:
    engine, archive, tmp_dir, source, adapter_cls = up.engine, up.archive, up.tmp_dir, up.source, up.adapter_cls
    parts: dict[str, dict[str, Any]] = json.loads(snapshot.parts or "{}")
    missing = [p for p, info in parts.items() if not archive.has(info.get("sha256") or "")]
    if not parts or missing:
        log.warning(
            "parser upgraded but the last accepted snapshot is not archived: its changes may show as amendments",
            extra={"source": source, "snapshot": snapshot.id, "missing": missing},
        )
        return None
    paths: dict[str, Path] = {}
    try:
        for part, info in parts.items():
            paths[part] = archive.restore(info["sha256"], tmp_dir)
        adapter = adapter_cls(up.options)
        prior, _ = prior_state(engine, source)
        result = scan(adapter.parse(paths), prior, tmp_dir, delta=lambda: adapter.is_delta)
    except Exception as exc:  # noqa: BLE001 - the poll itself goes on and judges the new snapshot
        log.warning("parser upgraded; re-reading the last snapshot failed: %s", exc, extra={"source": source})
        return None
    finally:
        for path in paths.values():
            path.unlink(missing_ok=True)
    try:
        if result.delta:
            return None  # a delta lists only what changed then: it cannot stand for the stored state
        rows = [  # the stored raw digest holds: same bytes
            {"k": row.key, "h": row.digest, "p": row.payload_json, "n": row.name}
            for row in result.spill
            if row.key in result.amended
        ]
    finally:
        result.spill.discard()
    if rows:
        table = Record.__table__
        stmt = (
            update(table)
            .where(table.c.source == source, table.c.key == bindparam("k"))
            .values(hash=bindparam("h"), payload=bindparam("p"), name=bindparam("n"))
        )
        with Session(engine) as session, session.begin():
            session.connection().execute(stmt, rows)
    log.warning(
        "parser upgraded: stored records re-read from the last snapshot without alerts",
        extra={"source": source, "snapshot": snapshot.id, "refreshed": len(rows), "to": adapter_cls.parser_version},
    )
    return len(rows)
