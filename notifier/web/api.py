"""Machine-readable outputs: the JSON API (delta cursor, sources, records, screening), the CSV audit export and
the Atom feeds. Every one takes the same change filter as the changes page."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.render import SourceMeta
from notifier.screening.matching import DEFAULT_THRESHOLD, Index, collector_paused, designation_party
from notifier.screening.watchlists import WatchlistError, entry_party, parse_csv
from notifier.store.models import Change, ChangeIndex, Record, Snapshot, SourceState
from notifier.timeutil import utcnow
from notifier.web import queries
from notifier.web.auth import Principal
from notifier.web.deps import api_reader, reader
from notifier.web.feeds import atom
from notifier.web.present import readable

router = APIRouter()
FEED_SIZE = 50


def change_filter(
    request: Request,
    source: list[str] = Query([], description="Source ids (repeat or comma-separate)."),
    jurisdiction: list[str] = Query([], description="Jurisdictions of the sources, e.g. US, EU, UN, GB."),
    kind: list[str] = Query([], description="designation, export_control or news."),
    change: list[str] = Query([], description="added, removed or amended."),
    program: list[str] = Query([], description="Sanctions programs, e.g. RUSSIA-EO14024."),
    entity_type: list[str] = Query([], description="person, organization, vessel, aircraft, unknown."),
    date_from: str | None = Query(None, alias="from", description="Detected on or after (YYYY-MM-DD)."),
    date_to: str | None = Query(None, alias="to", description="Detected on or before (YYYY-MM-DD)."),
    q: str | None = Query(None, description="Free text in the name or key."),
) -> queries.ChangeFilter:
    return queries.ChangeFilter.from_params(request.query_params, request.app.state.ctx.metas)


def _items(request: Request, rows: list) -> list[dict[str, Any]]:
    ctx = request.app.state.ctx
    changes_url = str(request.url_for("changes"))
    out = []
    for c, snap, ix in rows:
        item = queries.change_dict(c, snap, ix, ctx.meta(c.source))
        item["html_url"] = f"{changes_url}/{c.id}"
        out.append(item)
    return out


@router.get("/api/changes", tags=["changes"])
def api_changes(
    request: Request,
    since: int = Query(0, ge=0, description="The `next` cursor of the previous answer (0: from the start)."),
    limit: int = Query(100, ge=1, le=queries.MAX_LIMIT),
    flt: queries.ChangeFilter = Depends(change_filter),
    who: Principal = Depends(api_reader),
) -> JSONResponse:
    """Change events after the cursor, oldest first, and the cursor to ask with next.

    Poll with `since=<next>` for ever: every event arrives exactly once, in commit order, even when polls run
    concurrently with snapshots being committed. An empty `items` means nothing new yet; keep `next`.
    """
    with Session(request.app.state.ctx.engine) as session:
        d = queries.delta(session, flt, request.app.state.ctx.metas, since, limit)
    return JSONResponse({"items": _items(request, d.items), "next": d.next})  # plain JSON: no re-encoding pass


@router.get("/api/changes.csv", tags=["changes"], response_class=StreamingResponse)
def api_changes_csv(
    request: Request,
    flt: queries.ChangeFilter = Depends(change_filter),
    who: Principal = Depends(api_reader),
) -> StreamingResponse:
    """Every change event matching the filter, oldest first, as CSV (audit export)."""
    ctx = request.app.state.ctx

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        last = 0
        with Session(ctx.engine) as session:
            while True:
                d = queries.delta(session, flt, ctx.metas, last, 2000)
                writer.writerows(_csv_row(c, snap, ix, ctx.meta(c.source)) for c, snap, ix in d.items)
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
                if not d.items or d.next == last:
                    break
                last = d.next

    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="changes-{stamp}.csv"'},
    )


CSV_COLUMNS = (
    "id",
    "cursor",
    "detected_at",
    "source",
    "jurisdiction",
    "kind",
    "change",
    "key",
    "name",
    "entity_type",
    "programs",
    "changed_fields",
    "snapshot_id",
    "snapshot_sha256",
    "official_url",
)


def _csv_row(c: Change, snap: Snapshot, ix: ChangeIndex, meta: SourceMeta) -> list[Any]:
    """One change event as a CSV row (CSV_COLUMNS), each cell safe to open in a spreadsheet."""
    payload = queries.payload_of(c)
    return [
        _cell(v)
        for v in (
            c.id,
            ix.seq,
            c.created_at.isoformat(),
            c.source,
            meta.jurisdiction,
            c.kind,
            c.change,
            c.key,
            c.name,
            ix.entity_type or "",
            "; ".join(payload.get("programs") or []),
            "; ".join(f["field"] for f in queries.loads(c.fields) or []),
            snap.id,
            snap.sha256 or "",
            queries.official_link(payload, meta) or "",
        )
    ]


def _cell(value: Any) -> Any:
    """Publisher text that a spreadsheet would run as a formula is prefixed with ' (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/api/sources", tags=["sources"])
def api_sources(request: Request, who: Principal = Depends(api_reader)) -> list[dict[str, Any]]:
    """Every configured source with its last poll, last success, records, last change and status."""
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        states = {s.source: s for s in session.execute(select(SourceState)).scalars()}
    out = []
    for sid, cfg in sorted(ctx.sources.items()):
        st, meta = states.get(sid), ctx.meta(sid)
        out.append(
            {
                "source": sid,
                "title": meta.title,
                "jurisdiction": meta.jurisdiction,
                "kind": meta.kind,
                "enabled": cfg.enabled,
                "schedule_s": cfg.schedule,
                "last_poll": st.last_poll_at.isoformat() if st and st.last_poll_at else None,
                "last_success": st.last_success_at.isoformat() if st and st.last_success_at else None,
                "last_change": st.last_change_at.isoformat() if st and st.last_change_at else None,
                "records": st.record_count if st else None,
                "status": (st.last_status if st else None) or "never polled",
            }
        )
    return out


def _record_or_404(session: Session, source: str, key: str, known: dict) -> Record | None:
    if source not in known:
        raise HTTPException(404, f"unknown source {source!r}")
    return session.get(Record, (source, key))


@router.get("/api/records/{source}/{key:path}/history", tags=["records"])
def api_record_history(request: Request, source: str, key: str, who: Principal = Depends(api_reader)) -> dict:
    """Every change to the record, oldest first, with the snapshot each came from."""
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        _record_or_404(session, source, key, ctx.metas)
        current, entries = queries.timeline(session, source, key)
    if current is None and not entries:
        raise HTTPException(404, f"no record {key!r} in {source}")
    return {
        "source": source,
        "key": key,
        "history": [
            {
                "at": e.at.isoformat(),
                "what": e.what,
                "change_id": e.change.id if e.change else None,
                "fields": queries.loads(e.change.fields) if e.change else None,
                "snapshot": {"id": e.snapshot.id, "sha256": e.snapshot.sha256} if e.snapshot else None,
            }
            for e in entries
        ],
    }


@router.get("/api/records/{source}/{key:path}", tags=["records"])
def api_record(request: Request, source: str, key: str, who: Principal = Depends(api_reader)) -> dict:
    """The record as last published (a delisted record keeps its last state, with `removed_at`)."""
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        rec = _record_or_404(session, source, key, ctx.metas)
    if rec is None:
        raise HTTPException(404, f"no record {key!r} in {source}")
    return {
        "source": source,
        "key": key,
        "kind": rec.kind,
        "name": rec.name,
        "status": "removed" if rec.removed_at else "active",
        "first_seen": rec.first_seen.isoformat(),
        "updated_at": rec.updated_at.isoformat(),
        "removed_at": rec.removed_at.isoformat() if rec.removed_at else None,
        "payload": json.loads(rec.payload),
    }


class ScreenParty(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    aliases: list[str] = []
    type: str | None = None
    country: str | None = None
    dob: str | None = None
    identifiers: list[list[str]] = Field(default=[], description="[[type, number], ...], e.g. [['IMO', '9123456']]")
    reference: str | None = None


class ScreenRequest(BaseModel):
    names: list[str] = Field(default=[], description="Names alone.")
    parties: list[ScreenParty] = Field(default=[], description="Parties with the facts that help: type, country...")
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.5, le=1.0)


MAX_SCREEN = 1000
_DESIGNATIONS: dict[str, tuple[tuple, list]] = {}
_DESIGNATIONS_LOCK = threading.Lock()


def _designations(ctx) -> list:  # noqa: ANN001
    """Every active designation as screening sees it, parsed once per change of any list."""
    with Session(ctx.engine) as session:
        marker = tuple(session.execute(select(SourceState.source, SourceState.revision).order_by(SourceState.source)))
        url = str(ctx.engine.url)
        with _DESIGNATIONS_LOCK:
            cached = _DESIGNATIONS.get(url)
        if cached and cached[0] == marker:
            return cached[1]
        parties = []
        for source, payload in session.execute(
            select(Record.source, Record.payload).where(Record.kind == "designation", Record.removed_at.is_(None))
        ):
            p = json.loads(payload)
            parties.append((source, p, designation_party(p)))
    with _DESIGNATIONS_LOCK:
        _DESIGNATIONS[url] = (marker, parties)
    return parties


async def _screen_input(request: Request) -> tuple[list[dict[str, Any]], float, list[str]]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype in ("text/csv", "application/csv", "text/plain"):
        try:
            parsed = parse_csv(body, "request body")
        except WatchlistError as exc:
            raise HTTPException(400, str(exc)) from None
        threshold = float(request.query_params.get("threshold") or DEFAULT_THRESHOLD)
        return parsed.entries, threshold, parsed.problems + parsed.warnings
    try:
        req = ScreenRequest.model_validate_json(body or b"{}")
    except ValueError as exc:
        raise HTTPException(422, f'send JSON like {{"names": ["..."]}} or a CSV with a name column: {exc}') from None
    entries: list[dict[str, Any]] = [{"name": n, "aliases": []} for n in req.names if n.strip()]
    for p in req.parties:
        entries.append(
            {
                "name": p.name,
                "aliases": p.aliases,
                "entity_type": p.type,
                "countries": [p.country] if p.country else [],
                "dates": [p.dob] if p.dob else [],
                "identifiers": [i[:2] for i in p.identifiers if len(i) >= 2],
                "reference": p.reference,
            }
        )
    return entries, req.threshold, []


@router.post(
    "/api/screen",
    tags=["screening"],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": ScreenRequest.model_json_schema()},
                "text/csv": {"schema": {"type": "string", "description": "A watchlist CSV with a `name` column."}},
            }
        }
    },
)
async def api_screen(request: Request, who: Principal = Depends(api_reader)) -> dict[str, Any]:
    """Screen names (JSON) or a counterparty CSV against every active designation; hits best first."""
    entries, threshold, problems = await _screen_input(request)
    if not entries:
        raise HTTPException(400, "nothing to screen: give `names`, `parties` or a CSV with at least one name")
    if len(entries) > MAX_SCREEN:
        raise HTTPException(413, f"at most {MAX_SCREEN} names per request; split the list")
    if not 0.5 <= threshold <= 1.0:
        raise HTTPException(422, "threshold: between 0.5 and 1.0")
    for i, e in enumerate(entries):
        e["id"] = i
    results: list[list[dict[str, Any]]] = [[] for _ in entries]
    with collector_paused():
        index = Index(entry_party(e) for e in entries)
        for source, payload, party in _designations(request.app.state.ctx):
            for hit in index.screen(party, threshold):
                results[hit.entry.ref].append(
                    {
                        "source": source,
                        "key": payload.get("key"),
                        "name": payload.get("name"),
                        "entity_type": payload.get("entity_type"),
                        "programs": payload.get("programs") or [],
                        **hit.as_dict(),
                    }
                )
    return {
        "threshold": threshold,
        "problems": problems,
        "results": [
            {
                "query": {"name": e["name"], "reference": e.get("reference")},
                "hits": sorted(r, key=lambda h: -h["score"]),
            }
            for e, r in zip(entries, results, strict=True)
        ],
    }


@router.get("/feeds/changes.atom", tags=["feeds"], response_class=Response)
def feed(
    request: Request,
    flt: queries.ChangeFilter = Depends(change_filter),
    who: Principal = Depends(reader),
) -> Response:
    """The newest change events matching the filter as an Atom feed, each entry with its readable diff."""
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        rows = queries.newest(session, flt, ctx.metas, FEED_SIZE)
    entries = []
    changes_url = str(request.url_for("changes"))
    for c, _snap, _ix in rows:
        meta = ctx.meta(c.source)
        head, text = readable(c, meta)
        payload = queries.payload_of(c)
        entries.append(
            {
                "id": f"tag:sanctions-notifier,2025:change/{c.source}/{c.id}",
                "title": f"{meta.title}: {head}",
                "link": f"{changes_url}/{c.id}",
                "official": queries.official_link(payload, meta),
                "updated": c.created_at,
                "summary": text or head,
                "categories": [c.source, c.change, *(payload.get("programs") or [])],
            }
        )
    described = ", ".join(f"{k}={v}" for k, v in flt.query()) or "all sources"
    body = atom(
        feed_id=f"tag:sanctions-notifier,2025:changes?{flt.query_string()}",
        title=f"Sanctions changes ({described})",
        self_url=str(request.url),
        html_url=changes_url + (f"?{flt.query_string()}" if flt.active else ""),
        updated=rows[0][0].created_at if rows else utcnow(),
        entries=entries,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")
