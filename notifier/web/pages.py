"""The server-rendered pages: dashboard, changes, change detail, record, snapshot download, news, sign-in."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.redact import scrub
from notifier.screening.news import news_text
from notifier.store.models import Change, Record, Snapshot
from notifier.timeutil import utcnow
from notifier.web import queries
from notifier.web.auth import Principal, csrf_token, principal_for
from notifier.web.charts import last_weeks, weekly_bars
from notifier.web.deps import COOKIE, reader, record_action
from notifier.web.present import readable, when

router = APIRouter()
PAGE_SIZE = 50
_SHA = re.compile(r"^[0-9a-f]{64}$")


def render(request: Request, template: str, who: Principal, **data: Any) -> HTMLResponse:
    token = request.cookies.get(COOKIE)
    data.update(
        request=request,
        who=who,
        csrf=csrf_token(request.app.state.secret, token) if token else "",
        metas=request.app.state.ctx.metas,
    )
    html = request.app.state.templates.get_template(template).render(**data)
    return HTMLResponse(html)


def ctx_of(request: Request):  # noqa: ANN201
    return request.app.state.ctx


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, who: Principal = Depends(reader)) -> HTMLResponse:
    from notifier.ops.status import collect

    ctx = ctx_of(request)
    report = collect(ctx)
    now = utcnow()
    with Session(ctx.engine) as session:
        newest = select(func.max(Snapshot.id)).where(Snapshot.status == "accepted").group_by(Snapshot.source)
        last_accepted = {
            s.source: s.published_on or when(s.fetched_at)
            for s in session.execute(select(Snapshot).where(Snapshot.id.in_(newest))).scalars()
        }
        quarantined = (
            session.execute(
                select(Snapshot).where(Snapshot.status == "quarantined").order_by(Snapshot.id.desc()).limit(20)
            )
            .scalars()
            .all()
        )
        weeks = last_weeks(now.date(), 12)
        chart = weekly_bars(queries.changes_per_week(session, 12, now), weeks)
    return render(
        request,
        "dashboard.html",
        who,
        report=report,
        last_accepted=last_accepted,
        quarantined=quarantined,
        chart=chart,
        scrub=scrub,
    )


@router.get("/changes", response_class=HTMLResponse)
def changes(request: Request, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = ctx_of(request)
    flt = queries.ChangeFilter.from_params(request.query_params, ctx.metas)
    try:
        page = max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        raise HTTPException(400, "page: use a whole number") from None
    offset = (page - 1) * PAGE_SIZE
    with Session(ctx.engine) as session:
        rows = queries.newest(session, flt, ctx.metas, PAGE_SIZE, offset)
        # a page that is not full says the total itself; otherwise count (up to a cap)
        total = offset + len(rows) if len(rows) < PAGE_SIZE and (rows or page == 1) else None
        if total is None:
            total = queries.count(session, flt, ctx.metas)
    more = total > queries.COUNT_CAP
    pages = max(1, -(-min(total, queries.COUNT_CAP) // PAGE_SIZE))
    return render(
        request,
        "changes.html",
        who,
        rows=rows,
        flt=flt,
        page=page,
        pages=pages,
        total=total,
        more=more,
        kinds=queries.KINDS,
        change_types=queries.CHANGE_TYPES,
        jurisdictions=sorted({m.jurisdiction for m in ctx.metas.values() if m.jurisdiction}),
    )


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def change_detail(request: Request, change_id: int, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = ctx_of(request)
    with Session(ctx.engine) as session:
        change = session.get(Change, change_id)
        if change is None:
            raise HTTPException(404, f"no change event {change_id}")
        snapshot = session.get(Snapshot, change.snapshot_id)
        deliveries = queries.alerted(session, change)
    meta = ctx.meta(change.source)
    payload = queries.payload_of(change)
    head, text = readable(change, meta)
    return render(
        request,
        "change.html",
        who,
        c=change,
        meta=meta,
        snapshot=snapshot,
        parts=_parts(snapshot),
        fields=queries.loads(change.fields) or [],
        before=queries.loads(change.before),
        after=queries.loads(change.after),
        official=queries.official_link(payload, meta),
        deliveries=deliveries,
        head=head,
        text=text,
    )


def _parts(snapshot: Snapshot | None) -> dict[str, dict[str, Any]]:
    if snapshot is None:
        return {}
    try:
        parts = json.loads(snapshot.parts or "{}")
    except ValueError:
        return {}
    return {
        name: {"sha256": p.get("sha256"), "size": p.get("size"), "url": scrub(p.get("url") or "")}
        for name, p in parts.items()
        if isinstance(p, dict)
    }


@router.get("/records/{source}/{key:path}", response_class=HTMLResponse)
def record(request: Request, source: str, key: str, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = ctx_of(request)
    if source not in ctx.metas:
        raise HTTPException(404, f"unknown source {source!r}")
    with Session(ctx.engine) as session:
        current, entries = queries.timeline(session, source, key)
    if current is None and not entries:
        raise HTTPException(404, f"no record {key!r} in {source}")
    payload = json.loads(current.payload) if current else (queries.loads(entries[-1].change.before) or {})
    meta = ctx.meta(source)
    also = _also_listed(ctx, source, payload)
    return render(
        request,
        "record.html",
        who,
        source=source,
        key=key,
        meta=meta,
        current=current,
        payload=payload,
        entries=entries,
        also=also,
        official=queries.official_link(payload, meta),
    )


def _also_listed(ctx, source: str, payload: dict[str, Any]) -> list[str]:  # noqa: ANN001
    """Titles of the other lists that name this party (by its name or an alias)."""
    if payload.get("kind") != "designation":
        return []
    own = ctx.meta(source).title
    found: list[str] = []
    index = ctx.parties.current()
    for name in [payload.get("name") or "", *(payload.get("aliases") or [])][:20]:
        for link in index.find(name):
            for title in link.on:
                if title != own and title not in found:
                    found.append(title)
    return found


@router.get("/snapshots/{snapshot_id}/raw/{part}")
def snapshot_raw(request: Request, snapshot_id: int, part: str, who: Principal = Depends(reader)) -> StreamingResponse:
    """The archived bytes the snapshot was read from (evidence), decompressed, as downloaded."""
    ctx = ctx_of(request)
    with Session(ctx.engine) as session:
        snapshot = session.get(Snapshot, snapshot_id)
    info = _parts(snapshot).get(part)
    if not info or not isinstance(info.get("sha256"), str) or not _SHA.match(info["sha256"]):
        raise HTTPException(404, f"snapshot {snapshot_id} has no archived part {part!r}")
    path = ctx.archive.path_for(info["sha256"])
    if not path.is_file():
        raise HTTPException(410, f"the archived file {info['sha256']} was pruned (retention) or is not on this host")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", (info.get("url") or "").rsplit("/", 1)[-1].split("?")[0])[-80:]
    filename = f"{snapshot.source}-{snapshot_id}-{base or part}"

    def stream():  # noqa: ANN202
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                yield chunk

    return StreamingResponse(
        stream(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-SHA256": info["sha256"]},
    )


@router.get("/news", response_class=HTMLResponse)
def news(request: Request, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = ctx_of(request)
    with Session(ctx.engine) as session:
        records = (
            session.execute(
                select(Record).where(Record.kind == "news").order_by(Record.first_seen.desc()).limit(PAGE_SIZE)
            )
            .scalars()
            .all()
        )
    index = ctx.parties.current()
    items = []
    for r in records:
        payload = json.loads(r.payload)
        items.append({"record": r, "payload": payload, "parties": index.find(news_text(payload))})
    return render(request, "news.html", who, items=items)


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> dict[str, str]:
    """Liveness for container health checks: open without a token, says nothing but that the database answers."""
    with Session(ctx_of(request).engine) as session:
        session.execute(select(1))
    return {"status": "ok"}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    from notifier.web.auth import ANONYMOUS

    return render(request, "login.html", ANONYMOUS, error=None)


@router.post("/login")
def login(request: Request, token: str = Form(...)) -> RedirectResponse:
    from notifier.web.auth import ANONYMOUS

    who = principal_for(ctx_of(request).engine, token.strip())
    if who is None:
        return render(request, "login.html", ANONYMOUS, error="unknown or revoked token")  # type: ignore[return-value]
    record_action(request, who, "login", who.name)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response
