"""Subscribers' watchlists: read a counterparty CSV, store it, and screen designations against it.

An import replaces the subscriber's list in one transaction that also writes the report of existing hits (the
whole list screened against every active designation) to the outbox; a bad row is reported by line and the
others are kept. Changes are screened inside the snapshot's transaction (`watchlist_rows`), so a designation
and the watchlist alert it causes are committed together.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifier.alerts import outbox
from notifier.alerts.outbox import is_ops_channel
from notifier.alerts.subscriptions import Subscriber
from notifier.errors import NotifierError
from notifier.ingest.canonical import dumps
from notifier.records import ENTITY_TYPES
from notifier.screening.countries import country_code
from notifier.screening.matching import (
    Hit,
    Index,
    Party,
    collector_paused,
    designation_party,
    make_party,
    parse_date,
)
from notifier.screening.review import note_hits
from notifier.store.models import Record, Watchlist, WatchlistEntry
from notifier.timeutil import utcnow

log = logging.getLogger("notifier.screening.watchlists")

MAX_ENTRIES = 200_000
COLUMNS = {  # header (folded) -> field
    "name": "name",
    "counterparty": "name",
    "full name": "name",
    "aliases": "aliases",
    "alias": "aliases",
    "other names": "aliases",
    "type": "type",
    "entity type": "type",
    "country": "countries",
    "countries": "countries",
    "nationality": "countries",
    "jurisdiction": "countries",
    "dob": "dates",
    "date of birth": "dates",
    "birth date": "dates",
    "date of incorporation": "dates",
    "incorporation date": "dates",
    "incorporated": "dates",
    "date": "dates",
    "identifiers": "identifiers",
    "reference": "reference",
    "ref": "reference",
    "id": "reference",
    "customer id": "reference",
}
ID_COLUMNS = {"imo", "lei", "passport", "inn", "ogrn", "tax id", "registration", "registration number"}
ID_COLUMNS |= {"national id", "swift", "bic", "mmsi", "company number", "vat"}
TYPES = {
    "individual": "person",
    "natural person": "person",
    "entity": "organization",
    "company": "organization",
    "org": "organization",
    "legal person": "organization",
    "ship": "vessel",
    "plane": "aircraft",
    **{t: t for t in ENTITY_TYPES},
}
_LIST_SPLIT = re.compile(r"\s*[;|]\s*")
_ID_PAIR = re.compile(r"^\s*([A-Za-z][A-Za-z .'/-]*?)\s*[:=#]\s*(.+?)\s*$|^\s*([A-Za-z]{2,})\s+(\S.*?)\s*$")


class WatchlistError(NotifierError):
    """A watchlist that cannot be imported at all (no name column, no valid row, unknown subscriber...)."""


@dataclass
class Parsed:
    """What a CSV gave: entries to store, and each problem by line (those rows are left out)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _fold_header(h: str) -> str:
    return " ".join(re.sub(r"[_\-.]+", " ", h.strip().lstrip("\ufeff")).casefold().split())


def _decode(data: bytes, label: str, parsed: Parsed) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        parsed.warnings.append(f"{label}: not UTF-8; read as Windows-1252 (save as 'CSV UTF-8' to keep every script)")
        return data.decode("cp1252", errors="replace")


def _split(value: str) -> list[str]:
    return [v for v in _LIST_SPLIT.split(value.strip()) if v] if value and value.strip() else []


def parse_csv(data: bytes, label: str = "watchlist") -> Parsed:
    """Read a counterparty CSV (comma, semicolon or tab separated, with a header row naming its columns)."""
    parsed = Parsed()
    text = _decode(data, label, parsed)
    if not text.strip():
        raise WatchlistError(f"{label}: the file is empty (expected a header row with a `name` column)")
    first = text.splitlines()[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    fields: list[tuple[str, str] | None] = []
    for h in header:
        key = _fold_header(h)
        if key in COLUMNS:
            fields.append((COLUMNS[key], key))
        elif key in ID_COLUMNS:
            fields.append(("id_column", h.strip()))
        else:
            fields.append(None)
            if key:
                parsed.warnings.append(
                    f"{label}: column {h.strip()!r} is not used (known: {', '.join(sorted(COLUMNS))})"
                )
    if not any(f and f[0] == "name" for f in fields):
        raise WatchlistError(
            f"{label}: no `name` column in the header {header!r} (the first row must name the columns: "
            "name, country, dob, identifiers, reference...)"
        )
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            entry = _entry(row, fields, line)
        except ValueError as exc:
            parsed.problems.append(f"{label}: line {line}: {exc}")
            continue
        parsed.entries.append(entry)
        if len(parsed.entries) > MAX_ENTRIES:
            raise WatchlistError(f"{label}: more than {MAX_ENTRIES} entries; split the list")
    return parsed


def _entry(row: list[str], fields: list[tuple[str, str] | None], line: int) -> dict[str, Any]:
    if len(row) > len(fields) and any(c.strip() for c in row[len(fields) :]):
        raise ValueError(f"{len(row)} cells but the header has {len(fields)} columns (a separator inside a value?)")
    out: dict[str, Any] = {"line": line, "name": "", "aliases": [], "countries": [], "dates": [], "identifiers": []}
    for cell, f in zip(row, fields, strict=False):
        cell = cell.strip()
        if f is None or not cell:
            continue
        kind, header = f
        if kind == "name":
            out["name"] = " ".join(cell.split())
        elif kind == "aliases":
            out["aliases"] += _split(cell)
        elif kind == "reference":
            out["reference"] = cell[:300]
        elif kind == "type":
            entity = TYPES.get(cell.casefold())
            if entity is None:
                raise ValueError(f"type {cell!r} is not one of person, organization, vessel, aircraft")
            out["entity_type"] = entity
        elif kind == "countries":
            for c in _split(cell):
                if country_code(c) is None:
                    raise ValueError(f"country {c!r} is not a country name or ISO code")
                out["countries"].append(c)
        elif kind == "dates":
            for d in _split(cell):
                if parse_date(d) is None:
                    raise ValueError(f"date {d!r} is not a date (use YYYY-MM-DD, DD.MM.YYYY, 12 Mar 1970 or YYYY)")
                out["dates"].append(d)
        elif kind == "id_column":
            out["identifiers"] += [[header, v] for v in _split(cell)]
        elif kind == "identifiers":
            for item in _split(cell):
                m = _ID_PAIR.match(item)
                if not m:
                    raise ValueError(
                        f"identifier {item!r}: write TYPE:NUMBER, e.g. IMO:9123456 or LEI:5493001KJTIIGC8Y1R12"
                    )
                out["identifiers"].append([m[1] or m[3], m[2] or m[4]])
    if not out["name"]:
        raise ValueError("no name")
    return out


def entry_party(entry: WatchlistEntry | dict[str, Any]) -> Party:
    get = entry.get if isinstance(entry, dict) else lambda k, d=None: getattr(entry, k, d)

    def listed(key: str) -> list[Any]:
        value = get(key) or []
        return json.loads(value) if isinstance(value, str) else value

    return make_party(
        [get("name"), *listed("aliases")],
        entity_type=get("entity_type"),
        countries=listed("countries"),
        dates=listed("dates"),
        identifiers=[tuple(i) for i in listed("identifiers")],
        ref=get("id"),
    )


def entry_view(entry: WatchlistEntry) -> dict[str, Any]:
    """The entry as an alert shows it (kept in the alert: a later import may replace the list)."""
    return {
        "reference": entry.reference,
        "name": entry.name,
        "line": entry.line,
        "type": entry.entity_type,
        "countries": json.loads(entry.countries),
        "dates": json.loads(entry.dates),
        "identifiers": [f"{t} {n}" for t, n in json.loads(entry.identifiers)],
    }


def designation_view(source: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": source,
        "key": payload.get("key"),
        "name": payload.get("name"),
        "entity_type": payload.get("entity_type"),
        "programs": payload.get("programs") or [],
        "url": payload.get("url"),
    }


# --- the stored list and its index -----------------------------------------------------------------------------
_INDEXES: dict[tuple[str, str], tuple[tuple[str, datetime], Index, dict[int, WatchlistEntry]]] = {}
_LOCK = threading.Lock()


def load_index(session: Session, subscriber: str) -> tuple[Index, dict[int, WatchlistEntry]] | None:
    """The subscriber's screening index, rebuilt only when another import replaced the list."""
    wl = session.get(Watchlist, subscriber)
    if wl is None:
        return None
    cache_key = (str(session.get_bind().url), subscriber)
    version = (wl.sha256, wl.imported_at)
    with _LOCK:
        cached = _INDEXES.get(cache_key)
    if cached and cached[0] == version:
        return cached[1], cached[2]
    entries = list(session.execute(select(WatchlistEntry).where(WatchlistEntry.subscriber == subscriber)).scalars())
    for e in entries:
        session.expunge(e)
    by_id = {e.id: e for e in entries}
    with collector_paused():
        index = Index(entry_party(e) for e in entries)
    with _LOCK:
        _INDEXES[cache_key] = (version, index, by_id)
    return index, by_id


def hit_view(hit: Hit, entries: dict[int, WatchlistEntry], source: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "entry": entry_view(entries[hit.entry.ref]),
        "designation": designation_view(source, payload),
        **hit.as_dict(),
    }


def _channels(sub: Subscriber) -> list:
    return [ch for ch in sub.channels if not is_ops_channel(sub, ch)]


def watchlist_rows(
    session: Session, subscribers: Iterable[Subscriber], changes: list, snapshot_id: int, now: datetime
) -> list[dict[str, Any]]:
    """Outbox rows for changes that designate a subscriber's counterparty: one high-priority alert per
    (change, subscriber, channel), sent at once whatever the subscriber's digest. An amendment alerts only for
    entries its previous state did not already match (a new alias, say)."""
    screened = [c for c in changes if c.kind == "designation" and c.change in ("added", "amended") and c.after]
    if not screened:
        return []
    rows: list[dict[str, Any]] = []
    for sub in subscribers:
        if sub.is_ops or not _channels(sub):
            continue
        loaded = load_index(session, sub.name)
        if loaded is None or not len(loaded[0]):
            continue
        index, entries = loaded
        for change in screened:
            hits = index.screen(designation_party(change.after), sub.watchlist_threshold)
            if not hits:
                continue
            known: set[int] = set()
            if change.change == "amended" and change.before:
                before = designation_party(change.before)
                known = {h.entry.ref for h in index.screen(before, sub.watchlist_threshold)}
            views = [hit_view(h, entries, change.source, change.after) for h in hits]
            noted = note_hits(session, sub.name, [(v, change.after) for v in views])
            # Alert for a pair not matched before this change, or a false positive whose designation changed;
            # never for a false positive whose names, dates and identifiers are as they were when judged.
            views = [
                v
                for v, h, n in zip(views, hits, noted, strict=True)
                if n.state != "suppressed" and (h.entry.ref not in known or n.state == "reopened")
            ]
            if not views:
                continue
            title = _alert_title(views[0], len(views))
            for channel in _channels(sub):
                rows.append(
                    outbox.row(
                        purpose="watchlist",
                        key=str(change.id),
                        sub=sub,
                        channel=channel,
                        now=now,
                        snapshot_id=snapshot_id,
                        source=change.source,
                        change_ids=json.dumps([change.id]),
                        title=title,
                        body=dumps({"change": change.change, "hits": views}),
                    )
                )
    return rows


def _alert_title(view: dict[str, Any], count: int) -> str:
    entry, des = view["entry"], view["designation"]
    more = f" (+{count - 1} more)" if count > 1 else ""
    ref = f" [{entry['reference']}]" if entry.get("reference") else ""
    hit = f" [hit {view['hit_id']}]" if view.get("hit_id") else ""
    return f"WATCHLIST MATCH: {entry['name']}{ref} ~ {des['name']} ({des['source']} {des['key']}){more}{hit}"


# --- import ----------------------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    subscriber: str
    entries: int
    problems: list[str]
    warnings: list[str]
    hits: int = 0
    unchanged: bool = False
    report_ids: list[int] = field(default_factory=list)


def active_designations(session: Session, sources: list[str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, payload) of every current designation, of every list or of those named."""
    query = select(Record.source, Record.payload).where(Record.kind == "designation", Record.removed_at.is_(None))
    if sources:
        query = query.where(Record.source.in_(sources))
    rows = session.execute(query.execution_options(yield_per=5000))
    for source, payload in rows:
        yield source, json.loads(payload)


def screen_all(
    session: Session, index: Index, entries: dict[int, WatchlistEntry], threshold: float, subscriber: str
) -> list[dict]:
    """Every active designation of every list screened against a watchlist (the import report); pairs a
    reviewer marked false positive, unchanged since, are left out."""
    found = []
    with collector_paused():
        for source, payload in active_designations(session):
            for hit in index.screen(designation_party(payload), threshold):
                found.append((hit_view(hit, entries, source, payload), payload))
    noted = note_hits(session, subscriber, found)
    kept = [view for (view, _), n in zip(found, noted, strict=True) if n.state != "suppressed"]
    return sorted(kept, key=lambda v: (-v["score"], v["entry"]["name"], v["designation"]["source"]))


def import_watchlist(
    engine: Engine,
    sub: Subscriber,
    data: bytes,
    *,
    label: str = "watchlist",
    source_file: str | None = None,
    only_if_changed: bool = False,
) -> ImportResult:
    """Replace the subscriber's watchlist with the file's valid rows and queue its report of existing hits.

    With `only_if_changed`, a file whose bytes were already imported is left alone (start-up sync)."""
    sha = hashlib.sha256(data).hexdigest()
    parsed = parse_csv(data, label)
    if not parsed.entries:
        raise WatchlistError(
            f"{label}: no valid row, the previous watchlist is kept" + "".join(f"\n{p}" for p in parsed.problems[:20])
        )
    now = utcnow()
    result = ImportResult(sub.name, len(parsed.entries), parsed.problems, parsed.warnings)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            current = session.get(Watchlist, sub.name)
            if only_if_changed and current is not None and current.sha256 == sha:
                return ImportResult(sub.name, current.entries, [], [], unchanged=True)
            if current is None:
                session.add(
                    Watchlist(
                        subscriber=sub.name,
                        source_file=source_file,
                        sha256=sha,
                        entries=len(parsed.entries),
                        imported_at=now,
                    )
                )
                session.flush()
            else:
                claimed = session.execute(
                    update(Watchlist)
                    .where(Watchlist.subscriber == sub.name, Watchlist.imported_at == current.imported_at)
                    .values(sha256=sha, source_file=source_file, imported_at=now, entries=len(parsed.entries))
                ).rowcount
                if not claimed:
                    raise WatchlistError(f"{label}: another import of {sub.name}'s watchlist ran at the same time")
            session.execute(delete(WatchlistEntry).where(WatchlistEntry.subscriber == sub.name))
            rows = [
                dict(
                    subscriber=sub.name,
                    line=e["line"],
                    reference=e.get("reference"),
                    name=e["name"],
                    aliases=dumps(e["aliases"]),
                    entity_type=e.get("entity_type"),
                    countries=dumps(e["countries"]),
                    dates=dumps(e["dates"]),
                    identifiers=dumps(e["identifiers"]),
                )
                for e in parsed.entries
            ]
            for i in range(0, len(rows), 2000):
                session.execute(insert(WatchlistEntry), rows[i : i + 2000])
            session.flush()
            index, entries = load_index(session, sub.name)
            hits = screen_all(session, index, entries, sub.watchlist_threshold, sub.name)
            result.hits = len(hits)
            report = _report_rows(sub, hits, len(parsed.entries), sha, now)
            if report:
                result.report_ids = outbox.add(session, report)
    except IntegrityError:
        raise WatchlistError(f"{label}: another import of {sub.name}'s watchlist ran at the same time") from None
    log.info(
        "watchlist imported",
        extra={
            "subscriber": sub.name,
            "entries": result.entries,
            "bad_rows": len(result.problems),
            "hits": result.hits,
        },
    )
    return result


def _report_rows(sub: Subscriber, hits: list[dict], entries: int, sha: str, now: datetime) -> list[dict[str, Any]]:
    matched = len({(h["entry"]["line"]) for h in hits})
    title = (
        f"Watchlist imported: {entries} counterparties, {matched} already designated ({len(hits)} matches)"
        if hits
        else f"Watchlist imported: {entries} counterparties, none designated on the current lists"
    )
    body = dumps({"entries": entries, "hits": hits})
    return [
        outbox.row(
            purpose="watchlist_report",
            key=f"{sha[:16]}:{now.isoformat()}",
            sub=sub,
            channel=ch,
            now=now,
            title=title,
            body=body,
        )
        for ch in _channels(sub)
    ]


def resolve_file(sub: Subscriber, base: Path) -> Path | None:
    if not sub.watchlist:
        return None
    path = Path(sub.watchlist).expanduser()
    return path if path.is_absolute() else base / path


def sync_watchlists(engine: Engine, subscribers: Iterable[Subscriber], base: Path) -> list[ImportResult]:
    """At start: import each subscriber's `watchlist` file whose content changed since its last import."""
    results = []
    for sub in subscribers:
        path = resolve_file(sub, base)
        if path is None:
            continue
        if not path.is_file():
            raise WatchlistError(f"subscribers[{sub.name}].watchlist: {path} is not a file (fix the path or remove it)")
        try:
            result = import_watchlist(
                engine, sub, path.read_bytes(), label=str(path), source_file=str(path), only_if_changed=True
            )
        except WatchlistError as exc:
            if "at the same time" in str(exc):
                continue  # another process starting beside this one imported it
            raise
        for line in [*result.warnings, *result.problems]:
            log.warning("watchlist row left out", extra={"subscriber": sub.name, "problem": line})
        results.append(result)
    return results
