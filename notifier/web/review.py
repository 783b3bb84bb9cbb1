"""Review screen for watchlist hits (confirm / false positive).

The decisions themselves are the CLI's: `notifier.screening.review.review_hit` records a hit review; this module
only shows, checks who may act (reviewer or admin, CSRF-checked form) and records the web action.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.screening.review import DECISIONS, ReviewError, hit_detail, list_hits, review_hit
from notifier.store.models import WatchlistHit
from notifier.web.auth import Principal
from notifier.web.deps import actor, reader, record_action
from notifier.web.pages import render

router = APIRouter()
STATUSES = ("open", *DECISIONS)


@router.get("/hits", response_class=HTMLResponse)
def hits(request: Request, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = request.app.state.ctx
    status = request.query_params.get("status") or None
    if status and status not in STATUSES:
        raise HTTPException(400, f"status: use one of {', '.join(STATUSES)}")
    with Session(ctx.engine) as session:
        subscribers = list(session.execute(select(WatchlistHit.subscriber).distinct()).scalars())
    found = sorted(
        (h for sub in subscribers for h in list_hits(ctx.engine, sub, status)),
        key=lambda h: (h["status"] != "open", h["last_seen_at"]),
        reverse=False,
    )
    details = [hit_detail(ctx.engine, h["id"]) for h in found[:200]]
    return render(request, "hits.html", who, hits=details, status=status, statuses=STATUSES)


@router.post("/hits/{hit_id}/review")
def review(
    request: Request,
    hit_id: int,
    decision: str = Form(...),
    note: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    who = actor(request, "reviewer", csrf)
    try:
        review_hit(request.app.state.ctx.engine, hit_id, decision, who.name, note.strip()[:2000])
    except ReviewError as exc:
        raise HTTPException(400, str(exc)) from None
    record_action(request, who, f"hit.{decision}", f"hit {hit_id}", note.strip()[:2000] or None)
    return RedirectResponse(f"/hits#hit-{hit_id}", status_code=303)
