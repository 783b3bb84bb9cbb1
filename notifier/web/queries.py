"""What the pages, feeds and API read: one change filter, the delta cursor, a record's timeline, a change's story.

Every reader (HTML page, Atom feed, JSON API, CSV export) goes through `ChangeFilter.apply`, so a filter means the
same thing everywhere. Filters and the cursor read `change_index` (one narrow row per change, written by the database
at commit: its `seq` is in commit order); whole change rows are read only for the page being shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from notifier.alerts.render import SourceMeta
from notifier.store.models import Change, ChangeIndex, Delivery, Record, Snapshot

KINDS = ("designation", "export_control", "news")
CHANGE_TYPES = ("added", "removed", "amended")
MAX_LIMIT = 1000


class BadFilter(ValueError):
    """A filter value a user typed that cannot mean anything (unknown source, bad date...)."""


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    """Repeated (`?source=a&source=b`) and comma-separated (`?source=a,b`) values, blanks dropped."""
    raw = params.getlist(name) if hasattr(params, "getlist") else params.get(name) or []
    if isinstance(raw, str):
        raw = [raw]
    return [v.strip() for item in raw for v in str(item).split(",") if v.strip()]


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise BadFilter(f"{name}: {value!r} is not a date; use YYYY-MM-DD") from None


@dataclass
class ChangeFilter:
    sources: list[str] = field(default_factory=list)
    jurisdictions: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any], metas: Mapping[str, SourceMeta]) -> ChangeFilter:
        """Read and check the query string; every mistake is named, nothing is silently ignored."""
        f = cls(
            sources=_values(params, "source"),
            jurisdictions=[j.upper() for j in _values(params, "jurisdiction")],
            kinds=_values(params, "kind"),
            changes=_values(params, "change"),
            programs=_values(params, "program"),
            entity_types=_values(params, "entity_type"),
            date_from=_day(params.get("from"), "from"),
            date_to=_day(params.get("to"), "to"),
            q=(params.get("q") or "").strip()[:200],
        )
        unknown = [s for s in f.sources if s not in metas]
        if unknown:
            raise BadFilter(f"source: unknown {', '.join(unknown)}; known: {', '.join(sorted(metas))}")
        for name, given, allowed in (("kind", f.kinds, KINDS), ("change", f.changes, CHANGE_TYPES)):
            wrong = [v for v in given if v not in allowed]
            if wrong:
                raise BadFilter(f"{name}: unknown {', '.join(wrong)}; use {', '.join(allowed)}")
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise BadFilter(f"from ({f.date_from}) is after to ({f.date_to})")
        return f

    def source_ids(self, metas: Mapping[str, SourceMeta]) -> list[str] | None:
        """The sources the source and jurisdiction filters leave (None: no restriction)."""
        if not self.sources and not self.jurisdictions:
            return None
        chosen = set(self.sources or metas)
        if self.jurisdictions:
            chosen = {s for s in chosen if s in metas and metas[s].jurisdiction.upper() in self.jurisdictions}
        return sorted(chosen)

    def apply(self, stmt: Select, metas: Mapping[str, SourceMeta]) -> Select:
        ids = self.source_ids(metas)
        if ids is not None:
            stmt = stmt.where(ChangeIndex.source.in_(ids))
        if self.kinds:
            stmt = stmt.where(ChangeIndex.kind.in_(self.kinds))
        if self.changes:
            stmt = stmt.where(ChangeIndex.change.in_(self.changes))
        if self.entity_types:
            stmt = stmt.where(ChangeIndex.entity_type.in_(self.entity_types))
        if self.programs:
            stmt = stmt.where(or_(*(ChangeIndex.programs.like(f"%|{_like(p)}|%", escape="\\") for p in self.programs)))
        if self.date_from:
            stmt = stmt.where(ChangeIndex.created_at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            stmt = stmt.where(ChangeIndex.created_at < datetime.combine(self.date_to + timedelta(days=1), time(), UTC))
        if self.q:
            # name or key, any case: `folded` holds them lower-cased (written at commit), so this is a plain LIKE
            stmt = stmt.where(ChangeIndex.folded.like(f"%{_like(self.q.lower())}%", escape="\\"))
        return stmt

    def query(self) -> list[tuple[str, str]]:
        """The filter as query-string pairs (links to the next page, the feed, the CSV)."""
        pairs: list[tuple[str, str]] = []
        for name, values in (
            ("source", self.sources),
            ("jurisdiction", self.jurisdictions),
            ("kind", self.kinds),
            ("change", self.changes),
            ("program", self.programs),
            ("entity_type", self.entity_types),
        ):
            pairs += [(name, v) for v in values]
        if self.date_from:
            pairs.append(("from", self.date_from.isoformat()))
        if self.date_to:
            pairs.append(("to", self.date_to.isoformat()))
        if self.q:
            pairs.append(("q", self.q))
        return pairs

    def query_string(self, **extra: Any) -> str:
        return urlencode(self.query() + [(k, str(v)) for k, v in extra.items() if v is not None])

    @property
    def active(self) -> bool:
        return bool(self.query())


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


Row = tuple[Change, Snapshot, ChangeIndex]


def _with_rows(ids: Select) -> Select:
    """The change rows, snapshots and index rows of the change ids a subquery picks: one round trip."""
    return (
        select(Change, Snapshot, ChangeIndex)
        .join(Snapshot, Snapshot.id == Change.snapshot_id)
        .join(ChangeIndex, ChangeIndex.change_id == Change.id)
        .where(Change.id.in_(ids.scalar_subquery()))
    )


def newest(
    session: Session, flt: ChangeFilter, metas: Mapping[str, SourceMeta], limit: int, offset: int = 0
) -> list[Row]:
    """A page of changes, newest first: picked in the narrow change_index, only those rows read whole."""
    ids = flt.apply(select(ChangeIndex.change_id), metas).order_by(ChangeIndex.seq.desc())
    rows = session.execute(_with_rows(ids.limit(limit).offset(offset)).order_by(ChangeIndex.seq.desc())).all()
    return [(c, s, x) for c, s, x in rows]


COUNT_CAP = 1_000


def count(session: Session, flt: ChangeFilter, metas: Mapping[str, SourceMeta], cap: int = COUNT_CAP) -> int:
    """How many changes match, counted up to `cap` + 1 (a page says "more than 1,000" rather than scan on)."""
    matching = flt.apply(select(ChangeIndex.seq), metas).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(matching)) or 0


@dataclass
class Delta:
    items: list[Row]
    next: int


def delta(session: Session, flt: ChangeFilter, metas: Mapping[str, SourceMeta], since: int, limit: int) -> Delta:
    """Changes after the cursor, oldest first, and the cursor to ask with next.

    The head is read first: seq is given out at commit in commit order, so every change up to the head is
    already visible to the second query, and a change committed meanwhile gets a seq above the head. With a
    filter that matches nothing the cursor still moves on to the head: the next poll does not rescan.
    """
    head = session.scalar(select(func.max(ChangeIndex.seq))) or 0
    ids = flt.apply(select(ChangeIndex.change_id).where(ChangeIndex.seq > since, ChangeIndex.seq <= head), metas)
    rows = session.execute(_with_rows(ids.order_by(ChangeIndex.seq).limit(limit)).order_by(ChangeIndex.seq)).all()
    items: list[Row] = [(c, s, x) for c, s, x in rows]
    nxt = items[-1][2].seq if len(items) >= limit else max(head, since)
    return Delta(items, nxt)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def payload_of(c: Change) -> dict[str, Any]:
    """The record as the change left it (as it last stood, for a removal)."""
    return loads(c.after) or loads(c.before) or {}


def change_dict(c: Change, snap: Snapshot, ix: ChangeIndex, meta: SourceMeta) -> dict[str, Any]:
    """One change as the API describes it."""
    payload = payload_of(c)
    return {
        "id": c.id,
        "cursor": ix.seq,
        "source": c.source,
        "source_title": meta.title,
        "jurisdiction": meta.jurisdiction,
        "kind": c.kind,
        "change": c.change,
        "key": c.key,
        "name": c.name,
        "entity_type": ix.entity_type,
        "programs": payload.get("programs") or [],
        "detected_at": c.created_at.astimezone(UTC).isoformat(),
        "snapshot": {"id": snap.id, "sha256": snap.sha256, "fetched_at": snap.fetched_at.astimezone(UTC).isoformat()},
        "fields": loads(c.fields) or [],
        "before": loads(c.before),
        "after": loads(c.after),
        "official_url": official_link(payload, meta),
    }


def official_link(payload: dict[str, Any], meta: SourceMeta) -> str | None:
    """The publisher's page for the entry, else the list's page; only http(s) links are ever shown."""
    for candidate in (payload.get("url"), payload.get("link"), meta.url):
        if isinstance(candidate, str) and candidate.lower().startswith(("http://", "https://")):
            return candidate
    return None


def alerted(session: Session, change: Change) -> list[Delivery]:
    """The outbox rows that carried this change (and the digests they were folded into)."""
    rows = session.execute(select(Delivery).where(Delivery.snapshot_id == change.snapshot_id)).scalars().all()
    carried = [d for d in rows if change.id in (loads(d.change_ids) or [])]
    folded = {d.folded_into for d in carried if d.folded_into}
    if folded:
        carried += list(session.execute(select(Delivery).where(Delivery.id.in_(folded))).scalars())
    return sorted(carried, key=lambda d: (d.sent_at or d.created_at, d.id or 0))


@dataclass
class TimelineEntry:
    at: datetime
    what: str  # listed (first seen) | added | amended | removed
    snapshot: Snapshot | None
    change: Change | None = None


def timeline(session: Session, source: str, key: str) -> tuple[Record | None, list[TimelineEntry]]:
    """The record's current state and every change to it, oldest first, each with the snapshot it came from."""
    record = session.get(Record, (source, key))
    rows = session.execute(
        select(Change, Snapshot)
        .join(Snapshot, Snapshot.id == Change.snapshot_id)
        .where(Change.source == source, Change.key == key)
        .order_by(Change.id)
    ).all()
    entries = [TimelineEntry(s.fetched_at, c.change, s, c) for c, s in rows]
    if record is not None and not any(e.what == "added" for e in entries):
        first = session.execute(
            select(Snapshot)
            .where(Snapshot.source == source, Snapshot.status == "accepted", Snapshot.fetched_at <= record.first_seen)
            .order_by(Snapshot.fetched_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        entries.insert(0, TimelineEntry(record.first_seen, "listed", first))
    return record, entries


def changes_per_week(session: Session, weeks: int, now: datetime) -> dict[str, dict[date, int]]:
    """source -> Monday of each week -> change events detected that week (the last `weeks` weeks)."""
    start = (now - timedelta(weeks=weeks)).date()
    start = start - timedelta(days=start.weekday())
    day = func.date(ChangeIndex.created_at)
    rows = session.execute(
        select(ChangeIndex.source, day, func.count())
        .where(ChangeIndex.created_at >= datetime.combine(start, time(), UTC))
        .group_by(ChangeIndex.source, day)
    ).all()
    out: dict[str, dict[date, int]] = {}
    for source, d, n in rows:
        d = date.fromisoformat(str(d)[:10])
        monday = d - timedelta(days=d.weekday())
        per = out.setdefault(source, {})
        per[monday] = per.get(monday, 0) + n
    return out
