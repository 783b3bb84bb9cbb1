"""Review screens: quarantined snapshots and watchlist hits."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.store.models import Snapshot
from notifier.web.auth import Principal
from notifier.web.deps import reader
from notifier.web.pages import render

router = APIRouter()


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_list(request: Request, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        snaps = (
            session.execute(
                select(Snapshot).where(Snapshot.status == "quarantined").order_by(Snapshot.id.desc()).limit(200)
            )
            .scalars()
            .all()
        )
    return render(request, "quarantine.html", who, snapshots=snaps)


@router.get("/quarantine/{snapshot_id}", response_class=HTMLResponse)
def quarantine_show(request: Request, snapshot_id: int, who: Principal = Depends(reader)) -> HTMLResponse:
    ctx = request.app.state.ctx
    with Session(ctx.engine) as session:
        snap = session.get(Snapshot, snapshot_id)
    if snap is None or snap.status != "quarantined":
        raise HTTPException(404, f"snapshot {snapshot_id} is not quarantined")
    parts = json.loads(snap.parts or "{}")
    return render(request, "quarantine_show.html", who, snap=snap, parts=parts, description=None)
