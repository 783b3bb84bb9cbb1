"""Reviewing quarantined snapshots: list them, see what one would change, release it or keep it out for good.

The guard quarantines what looks broken; some of it is a real mass change (a publisher renumbering, a new
remark on 499 records, a new layout). An operator decides, and the decision is recorded (who, when, why):
- accept: the snapshot is diffed against the last accepted one and alerts go out as after a normal poll
  (records that only moved to new keys are renumbered, not alerted);
- reject: the snapshot stays out; the same bytes polled again are ignored without alerting ops again.
The CLI (`notifier quarantine ...`) and the web UI call these functions; the ops alert (alerts.router) names them.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from notifier.config import SourceConfig
from notifier.errors import NotifierError
from notifier.ingest.diff import field_changes, match_renumbered, scan
from notifier.ingest.registry import get_adapter
from notifier.records import record_title
from notifier.store.history import stored_payloads
from notifier.store.models import QuarantineDecision, Snapshot, SourceState
from notifier.store.repo import payloads, prior_state
from notifier.timeutil import utcnow

if TYPE_CHECKING:
    from notifier.ingest.pipeline import Context, PollResult

SAMPLE_PER_KIND = 5


class ReviewError(NotifierError):
    """The snapshot cannot be reviewed as asked (unknown, not quarantined, superseded...); the message says why."""


@dataclass
class Quarantined:
    id: int
    source: str
    fetched_at: datetime
    reason: str
    record_count: int | None
    sha256: str | None


def list_quarantined(engine: Engine, source: str | None = None) -> list[Quarantined]:
    """Quarantined snapshots awaiting a decision, newest first."""
    stmt = select(Snapshot).where(Snapshot.status == "quarantined").order_by(Snapshot.id.desc())
    if source:
        stmt = stmt.where(Snapshot.source == source)
    with Session(engine) as session:
        return [
            Quarantined(s.id or 0, s.source, s.fetched_at, s.reason or "", s.record_count, s.sha256)
            for s in session.execute(stmt).scalars()
        ]


@dataclass
class Description:
    """What a quarantined snapshot is and what accepting it would change now."""

    id: int
    source: str
    fetched_at: datetime
    status: str
    reason: str
    record_count: int | None = None
    added: int = 0
    removed: int = 0
    amended: int = 0
    moved: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)  # {change, key, name, fields?}
    decisions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the snapshot cannot be parsed (it would be refused again on accept)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fetched_at"] = self.fetched_at.isoformat()
        return data


def _get(session: Session, snapshot_id: int) -> Snapshot:
    snap = session.get(Snapshot, snapshot_id)
    if snap is None:
        raise ReviewError(f"no snapshot {snapshot_id}; `notifier quarantine list` shows the quarantined ones")
    return snap


def restore_parts(snapshot: Snapshot, tmp_dir: Path) -> dict[str, Path]:
    """The snapshot's archived parts as plain files in `tmp_dir` (the caller removes the folder)."""
    parts = json.loads(snapshot.parts or "{}")
    if not parts:
        raise ReviewError(f"snapshot {snapshot.id} has no archived parts (it failed before its download was kept)")
    out = {}
    for part, info in parts.items():
        src = Path(info.get("archive") or "")
        if not src.is_file():
            raise ReviewError(f"snapshot {snapshot.id}: the archived copy of part {part!r} is gone ({src})")
        dst = tmp_dir / f"{part}.part"
        with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        out[part] = dst
    return out


def _decisions(session: Session, snapshot_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(QuarantineDecision).where(QuarantineDecision.snapshot_id == snapshot_id).order_by(QuarantineDecision.id)
    ).scalars()
    return [
        {
            "decision": d.decision,
            "actor": d.actor,
            "reason": d.reason,
            "decided_at": d.decided_at.isoformat(),
            "accepted_snapshot_id": d.accepted_snapshot_id,
        }
        for d in rows
    ]


def describe(
    engine: Engine, snapshot_id: int, sources: Mapping[str, SourceConfig] | None = None, sample: int = SAMPLE_PER_KIND
) -> Description:
    """Counts and a sample of the diff the snapshot would make against the last accepted one, now.

    `sources` (the configured sources, for the adapter and its options) defaults to the configured file.
    """
    with Session(engine) as session:
        snap = _get(session, snapshot_id)
        desc = Description(
            snap.id or 0, snap.source, snap.fetched_at, snap.status, snap.reason or "", snap.record_count
        )
        desc.decisions = _decisions(session, snapshot_id)
    if snap.status != "quarantined":
        return desc
    cfg = _source_config(snap.source, sources)
    cls = get_adapter(cfg.adapter)
    tmp = Path(tempfile.mkdtemp(prefix="quarantine-"))
    try:
        paths = restore_parts(snap, tmp)
        adapter = cls(cfg.options)
        try:
            result = scan(adapter.parse(paths), prior_state(engine, snap.source)[0], tmp, match_moved=True)
        except Exception as exc:  # noqa: BLE001 - any parse failure is what the operator needs to read
            desc.error = f"{type(exc).__name__}: {exc}"
            return desc
        try:
            match_renumbered(result, lambda keys: stored_payloads(engine, snap.source, keys))
            desc.record_count = result.count
            desc.added, desc.removed = len(result.added), len(result.removed)
            desc.amended, desc.moved = len(result.amended), len(result.moved)
            added_keys = sorted(result.added)[:sample]
            amended_keys = sorted(result.amended)[:sample]
            wanted = {*added_keys, *amended_keys}
            after = {key: json.loads(body) for key, _d, body, *_raw in result.spill if key in wanted}
            with Session(engine) as session:
                before = payloads(session, snap.source, amended_keys + result.removed[:sample])
            for key in added_keys:
                desc.sample.append({"change": "added", "key": key, "name": record_title(after.get(key, {}))})
            for key in result.removed[:sample]:
                desc.sample.append({"change": "removed", "key": key, "name": record_title(before.get(key, {}))})
            for key in amended_keys:
                b, a = before.get(key, {}), after.get(key, {})
                desc.sample.append(
                    {"change": "amended", "key": key, "name": record_title(a), "fields": field_changes(b, a)}
                )
            for old, new in result.moved[:sample]:
                desc.sample.append({"change": "moved", "key": new, "name": f"(was {old})"})
        finally:
            result.spill.discard()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return desc


def _source_config(source: str, sources: Mapping[str, SourceConfig] | None) -> SourceConfig:
    if sources is None:
        from notifier.app import load_source_configs
        from notifier.settings import get_settings

        sources = load_source_configs(get_settings())
    cfg = sources.get(source)
    if cfg is None:
        raise ReviewError(f"snapshot of {source!r}, which is no longer configured in the sources file")
    return cfg


def _pending(session: Session, snapshot_id: int) -> Snapshot:
    snap = _get(session, snapshot_id)
    if snap.status != "quarantined":
        raise ReviewError(f"snapshot {snapshot_id} is {snap.status}, not quarantined: nothing to decide")
    return snap


def _record(
    session: Session, snap: Snapshot, decision: str, actor: str, reason: str, accepted_id: int | None = None
) -> None:
    session.add(
        QuarantineDecision(
            snapshot_id=snap.id or 0,
            source=snap.source,
            decision=decision,
            actor=actor,
            reason=reason,
            decided_at=utcnow(),
            accepted_snapshot_id=accepted_id,
        )
    )


def _check_actor(actor: str, reason: str) -> None:
    if not actor.strip():
        raise ReviewError("say who decides (--actor, default: your login name)")
    if not reason.strip():
        raise ReviewError("say why (--reason '...'): the decision is recorded for audit")


def reject(engine: Engine, snapshot_id: int, actor: str, reason: str) -> None:
    """Keep the snapshot out for good: its bytes polled again are ignored, without another ops alert."""
    _check_actor(actor, reason)
    with Session(engine) as session, session.begin():
        snap = _pending(session, snapshot_id)
        snap.status = "rejected"
        _record(session, snap, "rejected", actor, reason)
        state = session.get(SourceState, snap.source)
        if state is not None and state.last_status == "quarantined":
            state.last_error = f"snapshot {snapshot_id} rejected by {actor}: {reason}"


def accept(ctx: Context, snapshot_id: int, actor: str, reason: str) -> PollResult:
    """Release a quarantined snapshot: diff it against the last accepted one and alert as a normal poll.

    Refused when a newer snapshot was accepted since (releasing it would roll the list back).
    """
    from notifier.ingest.pipeline import release

    _check_actor(actor, reason)
    with Session(ctx.engine) as session:
        snap = _pending(session, snapshot_id)
        state = session.get(SourceState, snap.source)
        if state is not None and state.revision and state.revision > (snap.id or 0):
            raise ReviewError(
                f"snapshot {snapshot_id} is older than snapshot {state.revision}, accepted since: releasing it would "
                f"roll {snap.source} back; reject it instead"
            )
    if snap.source not in ctx.sources:
        raise ReviewError(f"snapshot of {snap.source!r}, which is no longer configured in the sources file")

    def decided(session: Session, accepted: Snapshot) -> None:  # in the release's own transaction
        session.execute(update(Snapshot).where(Snapshot.id == snapshot_id).values(status="released"))
        _record(session, snap, "accepted", actor, reason, accepted.id)

    result = release(ctx, snap, on_commit=decided)
    if result.status != "accepted":
        raise ReviewError(f"snapshot {snapshot_id} could not be released: {result.status}: {result.reason}")
    return result
