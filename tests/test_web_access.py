"""Who may read and act: loopback reads are open, a non-loopback bind needs a token for everything, reviews need a
reviewer token and a CSRF-checked form, and every action is recorded. Watchlist hit review goes through the same
review_hit as the CLI."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import real
from tests.support.web import import_counterparties, replay_ofac


@pytest.fixture
def filled(make_ctx):
    ctx, _ = replay_ofac(make_ctx, real)
    names = import_counterparties(ctx)
    return ctx, names


def _client(ctx, local: bool = True) -> TestClient:
    from notifier.web.app import create_app

    return TestClient(create_app(ctx, local=local))


def _sign_in(client: TestClient, ctx, role: str) -> str:
    from notifier.web.auth import create_token

    token = create_token(ctx.engine, f"{role}-user", role)
    answer = client.post("/login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303 and "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    return token


def test_a_reviewer_marks_a_hit_false_positive_through_the_shared_review(filled):
    from notifier.screening.review import hit_detail
    from notifier.store.models import WatchlistHit, WebAudit

    ctx, names = filled
    client = _client(ctx)
    page = client.get("/hits")
    assert names[0] in page.text and "Read-only" in page.text and "False positive</button>" not in page.text
    _sign_in(client, ctx, "reviewer")
    page = client.get("/hits")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    with Session(ctx.engine) as session:
        hit_id = session.execute(select(WatchlistHit.id).order_by(WatchlistHit.id)).scalars().first()
    done = client.post(
        f"/hits/{hit_id}/review", data={"decision": "false_positive", "note": "different DOB", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    detail = hit_detail(ctx.engine, hit_id)
    assert detail["status"] == "false_positive"
    assert detail["reviews"][-1] | {"at": None} == {
        "decision": "false_positive", "actor": "reviewer-user", "note": "different DOB", "at": None
    }
    with Session(ctx.engine) as session:
        audit = session.execute(select(WebAudit).where(WebAudit.action == "hit.false_positive")).scalar_one()
    assert audit.actor == "reviewer-user" and audit.target == f"hit {hit_id}"
    assert "different DOB" in client.get("/hits?status=false_positive").text


def test_reviews_need_a_reviewer_and_a_form_from_this_site(filled):
    from notifier.store.models import WatchlistHit

    ctx, _ = filled
    with Session(ctx.engine) as session:
        hit_id = session.execute(select(WatchlistHit.id)).scalars().first()
    anonymous = _client(ctx)
    assert anonymous.post(f"/hits/{hit_id}/review", data={"decision": "confirmed"}).status_code == 403
    viewer = _client(ctx)
    _sign_in(viewer, ctx, "viewer")
    assert viewer.post(f"/hits/{hit_id}/review", data={"decision": "confirmed"}).status_code == 403
    reviewer = _client(ctx)
    _sign_in(reviewer, ctx, "reviewer")
    forged = reviewer.post(f"/hits/{hit_id}/review", data={"decision": "confirmed", "csrf": "0" * 64})
    assert forged.status_code == 403 and "CSRF" in forged.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', reviewer.get("/hits").text).group(1)
    wrong = reviewer.post(f"/hits/{hit_id}/review", data={"decision": "maybe", "csrf": csrf})
    assert wrong.status_code == 400 and "not one of confirmed, false_positive" in wrong.text
    with Session(ctx.engine) as session:
        assert session.get(WatchlistHit, hit_id).status == "open"


def test_a_non_loopback_bind_needs_a_token_even_to_read(filled):
    from notifier.web.auth import create_token

    ctx, _ = filled
    client = _client(ctx, local=False)
    for path in ("/", "/changes", "/feeds/changes.atom", "/records/us_ofac_cons/26182", "/hits"):
        assert client.get(path).status_code == 401, path
    assert client.get("/healthz").status_code == 200  # container health checks, nothing else
    token = create_token(ctx.engine, "reader", "viewer")
    assert client.get("/changes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/login", data={"token": "snt_wrong"}).status_code == 200  # the form again, with the error
    _sign_in(client, ctx, "viewer")
    assert "KAYAKIRAN" in client.get("/changes").text


def test_secrets_are_never_rendered(make_ctx, monkeypatch):
    from notifier.ingest.pipeline import poll

    monkeypatch.setenv("OFAC_TOKEN", "s3cr3t-value-123")
    ctx = make_ctx({"us_ofac_cons": {"url": "http://127.0.0.1:9/list.xml?token=${OFAC_TOKEN}", "schedule": "5m"}})
    assert poll(ctx, "us_ofac_cons").status == "failed"
    client = _client(ctx)
    for path in ("/", "/api/openapi.json"):
        assert "s3cr3t-value-123" not in client.get(path).text
