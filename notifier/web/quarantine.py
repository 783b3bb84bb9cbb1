"""Quarantined snapshots: list, show what accepting one would change, accept or reject it.

The decisions are the CLI's (`notifier.ingest.quarantine`: describe, accept, reject); this module shows them, checks
who may act (reviewer or admin, CSRF-checked form, a reason) and records the web action.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from notifier.ingest.quarantine import ReviewError, accept, describe, list_quarantined, reject
from notifier.store.models import Snapshot
from notifier.web.auth import Principal
from notifier.web.deps import actor, reader, record_action
from notifier.web.pages import render

router = APIRouter()


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_list(request: Request, who: Principal = Depends(reader)) -> HTMLResponse:
    items = list_quarantined(request.app.state.ctx.engine)
    return render(request, "quarantine.html", who, snapshots=items)


@router.get("/quarantine/{snapshot_id}", response_class=HTMLResponse)
def quarantine_show(request: Request, snapshot_id: int, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        snap = session.get(Snapshot, snapshot_id)
    if snap is None:
        raise HTTPException(404, f"no snapshot {snapshot_id}")
    try:
        description = describe(ctx.engine, snapshot_id, ctx.sources)
    except ReviewError as exc:
        raise HTTPException(404, str(exc)) from None
    parts = json.loads(snap.parts or "{}")
    return render(request, "quarantine_show.html", who, snap=snap, parts=parts, d=description)


@router.post("/quarantine/{snapshot_id}/{decision}")
def quarantine_decide(
    request: Request, snapshot_id: int, decision: str, reason: str = Form(""), csrf: str = Form("")
) -> RedirectResponse:
    if decision not in ("accept", "reject"):
        raise HTTPException(404, "decide with accept or reject")
    who = actor(request, "reviewer", csrf)
    ctx = request.app.state.ctx
    try:
        if decision == "accept":
            result = accept(ctx, snapshot_id, who.name, reason.strip())
            detail = f"{reason.strip()} ({result.summary()})"
        else:
            reject(ctx.engine, snapshot_id, who.name, reason.strip())
            detail = reason.strip()
    except ReviewError as exc:
        raise HTTPException(400, str(exc)) from None
    record_action(request, who, f"quarantine.{decision}", f"snapshot {snapshot_id}", detail)
    return RedirectResponse(f"/quarantine/{snapshot_id}", status_code=303)
