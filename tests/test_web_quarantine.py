"""Quarantined snapshots on the web: shown with what accepting them would change, accepted or rejected by a
reviewer through the same notifier.ingest.quarantine functions as the CLI, every decision recorded."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import real
from tests.support.web import OFAC_DIR, OFAC_FILES, OFAC_SOURCE, SUBSCRIBERS


def quarantined_ofac(make_ctx):
    """The real 12-18 publication (one delisting) quarantined by a guard that allows almost no drop (0.1 %)."""
    from notifier.ingest.pipeline import poll

    sources = {"us_ofac_cons": {**OFAC_SOURCE["us_ofac_cons"], "guard": {"min_records": 100, "max_drop": 0.001}}}
    ctx = make_ctx(sources, SUBSCRIBERS)
    first, second = (real(f"{OFAC_DIR}/{name}") for name in OFAC_FILES)
    assert poll(ctx, "us_ofac_cons", {"main": str(first)}).status == "accepted"
    result = poll(ctx, "us_ofac_cons", {"main": str(second)})
    assert result.status == "quarantined", result.summary()
    return ctx, result.snapshot_id


def _reviewer(ctx) -> TestClient:
    from notifier.web.app import create_app
    from notifier.web.auth import create_token

    client = TestClient(create_app(ctx))
    token = create_token(ctx.engine, "quinn", "reviewer")
    assert client.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
    return client


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_a_reviewer_accepts_a_quarantined_snapshot_and_its_delisting_is_recorded(make_ctx):
    from notifier.store.models import Change, Snapshot, WebAudit

    ctx, snap_id = quarantined_ofac(make_ctx)
    client = _reviewer(ctx)
    listing = client.get("/quarantine").text
    assert f'href="/quarantine/{snap_id}"' in listing
    page = client.get(f"/quarantine/{snap_id}").text
    assert "0 added, 1 removed, 0 amended" in page and "KAYAKIRAN, Evren" in page
    no_reason = client.post(f"/quarantine/{snap_id}/accept", data={"reason": " ", "csrf": _csrf(page)})
    assert no_reason.status_code == 400 and "why" in no_reason.text
    done = client.post(
        f"/quarantine/{snap_id}/accept", data={"reason": "a real delisting", "csrf": _csrf(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with Session(ctx.engine) as session:
        assert session.get(Snapshot, snap_id).status == "released"
        change = session.execute(select(Change).where(Change.key == "26182")).scalar_one()
        audit = session.execute(select(WebAudit).where(WebAudit.action == "quarantine.accept")).scalar_one()
    assert change.change == "removed"
    assert audit.actor == "quinn" and audit.target == f"snapshot {snap_id}" and "a real delisting" in audit.detail
    shown = client.get(f"/quarantine/{snap_id}").text
    assert "quinn" in shown and "a real delisting" in shown and "Accept: diff and alert" not in shown


def test_reject_keeps_it_out_and_needs_a_reviewer(make_ctx):
    from notifier.store.models import Change, Snapshot
    from notifier.web.app import create_app

    ctx, snap_id = quarantined_ofac(make_ctx)
    anonymous = TestClient(create_app(ctx))
    assert anonymous.post(f"/quarantine/{snap_id}/reject", data={"reason": "x"}).status_code == 403
    client = _reviewer(ctx)
    page = client.get(f"/quarantine/{snap_id}").text
    done = client.post(
        f"/quarantine/{snap_id}/reject", data={"reason": "damaged", "csrf": _csrf(page)}, follow_redirects=False
    )
    assert done.status_code == 303
    with Session(ctx.engine) as session:
        assert session.get(Snapshot, snap_id).status == "rejected"
        assert session.execute(select(Change)).first() is None
    assert f'href="/quarantine/{snap_id}"' not in client.get("/quarantine").text
