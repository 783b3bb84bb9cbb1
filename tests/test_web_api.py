"""The web pages, Atom feed, CSV export and JSON API, through HTTP, on a database filled by replaying real OFAC
publications (the README's example: 2025-10-22 then 2025-12-18, which delists uid 26182), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import re

import feedparser
import pytest
from fastapi.testclient import TestClient

from tests.conftest import real
from tests.support.web import add_change, replay_ofac


@pytest.fixture
def site(make_ctx):
    from notifier.web.app import create_app
    from notifier.web.auth import create_token

    ctx, files = replay_ofac(make_ctx, real)
    client = TestClient(create_app(ctx, local=True))
    token = create_token(ctx.engine, "integrator", "viewer")
    client.ctx, client.files, client.bearer = ctx, files, {"Authorization": f"Bearer {token}"}
    return client


def test_a_user_finds_the_ofac_delisting_sees_its_timeline_and_downloads_the_raw_file(site):
    page = site.get("/changes", params={"source": "us_ofac_cons", "change": "removed"})
    assert page.status_code == 200
    assert "KAYAKIRAN, Evren" in page.text and "1 change event matching" in page.text
    change_id = int(re.search(r'href="/changes/(\d+)"', page.text).group(1))

    detail = site.get(f"/changes/{change_id}")
    assert detail.status_code == 200
    assert "Delisted: KAYAKIRAN, Evren" in detail.text
    assert "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=26182" in detail.text
    newest = site.files[-1]
    assert hashlib.sha256(newest.read_bytes()).hexdigest() in detail.text  # the part's sha256, as evidence
    assert "compliance" in detail.text  # who was alerted (the outbox row of that subscriber)

    record = site.get(detail.text.split('href="/records/')[1].split('"')[0].join(["/records/", ""]))
    assert record.status_code == 200
    timeline = record.text.split("<h2>Timeline</h2>")[1].split("</ol>")[0]
    assert timeline.index(">listed<") < timeline.index(">removed<")
    assert "delisted" in record.text and "FSE-IR" in record.text

    link = re.search(r'href="(/snapshots/\d+/raw/main)"', detail.text).group(1)
    raw = site.get(link)
    assert raw.status_code == 200 and raw.content == newest.read_bytes()
    assert "attachment" in raw.headers["content-disposition"]


def test_an_integrator_follows_the_cursor_and_gets_every_event_once(site):
    ctx = site.ctx
    got, cursor = [], 0
    for _ in range(10):
        answer = site.get("/api/changes", params={"since": cursor, "limit": 2}, headers=site.bearer).json()
        got += answer["items"]
        if not answer["items"]:
            break
        cursor = answer["next"]
    assert [i["key"] for i in got] == ["26182"] and got[0]["change"] == "removed"
    assert got[0]["before"]["name"] == "KAYAKIRAN, Evren" and got[0]["snapshot"]["sha256"]
    assert site.get("/api/changes", params={"since": cursor}, headers=site.bearer).json() == {
        "items": [],
        "next": cursor,
    }

    later = [add_change(ctx, "us_ofac_cons", f"new-{i}", "added", {"name": f"Party {i}"}) for i in range(5)]
    seen, before = [], cursor
    while True:
        answer = site.get("/api/changes", params={"since": cursor, "limit": 2}, headers=site.bearer).json()
        if not answer["items"]:
            break
        seen += [i["id"] for i in answer["items"]]
        assert answer["next"] > cursor
        cursor = answer["next"]
    assert seen == later and cursor > before
    # a filter that matches nothing still moves the cursor to the head: no rescans
    empty = site.get("/api/changes", params={"since": before, "program": "NOPE"}, headers=site.bearer).json()
    assert empty == {"items": [], "next": cursor}


def test_the_api_needs_a_token_and_refuses_a_revoked_one(site):
    from notifier.web.auth import revoke_token

    assert site.get("/api/changes").status_code == 401
    assert site.get("/api/changes", headers={"Authorization": "Bearer snt_nope"}).status_code == 401
    assert site.get("/api/sources", headers=site.bearer).json()[0]["records"] == 442
    revoke_token(site.ctx.engine, "integrator")
    assert site.get("/api/sources", headers=site.bearer).status_code == 401


def test_records_and_their_history_through_the_api(site):
    rec = site.get("/api/records/us_ofac_cons/26182", headers=site.bearer).json()
    assert rec["status"] == "removed" and rec["payload"]["programs"] == ["FSE-IR"]
    hist = site.get("/api/records/us_ofac_cons/26182/history", headers=site.bearer).json()["history"]
    assert [h["what"] for h in hist] == ["listed", "removed"]
    assert site.get("/api/records/us_ofac_cons/nope", headers=site.bearer).status_code == 404
    assert site.get("/api/records/nope/1", headers=site.bearer).status_code == 404


def test_the_feed_parses_and_carries_the_readable_diff(site):
    add_change(site.ctx, "us_ofac_cons", "other", "added", {"name": "Other Party", "programs": ["SDGT"]})
    feed = feedparser.parse(site.get("/feeds/changes.atom", params={"program": "FSE-IR"}).content)
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == [
        "OFAC Consolidated (non-SDN): Delisted: KAYAKIRAN, Evren (person, 26182)"
    ]
    entry = feed.entries[0]
    assert "Programs: FSE-IR" in entry.content[0].value
    assert entry.link.endswith(f"/changes/{entry.id.rsplit('/', 1)[1]}")
    both = feedparser.parse(site.get("/feeds/changes.atom", params={"source": "us_ofac_cons"}).content)
    assert len(both.entries) == 2


def test_the_csv_export_parses_back(site):
    add_change(site.ctx, "us_ofac_cons", "x1", "added", {"name": '=HYPERLINK("http://evil")', "programs": ["A", "B"]})
    answer = site.get("/api/changes.csv", headers=site.bearer)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["key"] for r in rows] == ["26182", "x1"]
    assert rows[0]["name"] == "KAYAKIRAN, Evren" and rows[0]["change"] == "removed" and rows[0]["programs"] == "FSE-IR"
    assert rows[1]["name"].startswith("'=")  # a formula from a publisher stays text in a spreadsheet
    only = list(csv.DictReader(io.StringIO(site.get("/api/changes.csv?change=added", headers=site.bearer).text)))
    assert [r["key"] for r in only] == ["x1"]


def test_filters_combine_and_a_wrong_one_is_named(site):
    ctx = site.ctx
    add_change(ctx, "us_ofac_cons", "v1", "added", {"name": "Sea Star", "entity_type": "vessel", "programs": ["IRAN"]})
    add_change(
        ctx, "us_ofac_cons", "p1", "added", {"name": "Sea Person", "entity_type": "person", "programs": ["IRAN"]}
    )
    page = site.get("/changes", params={"entity_type": "vessel", "program": "IRAN", "q": "sea"})
    assert "Sea Star" in page.text and "Sea Person" not in page.text
    page = site.get("/changes", params={"jurisdiction": "us", "change": "added", "q": "SEA"})
    assert "Sea Star" in page.text and "Sea Person" in page.text and "KAYAKIRAN" not in page.text
    assert "KAYAKIRAN" not in site.get("/changes", params={"jurisdiction": "EU"}).text
    bad = site.get("/changes", params={"source": "nope"})
    assert bad.status_code == 400 and "unknown nope" in bad.text
    assert site.get("/changes", params={"from": "2025-13-01"}).status_code == 400
    assert (
        site.get("/api/changes", params={"change": "deleted"}, headers=site.bearer)
        .json()["detail"]
        .startswith("change")
    )


def test_publisher_text_is_escaped_and_only_http_links_are_links(site):
    cid = add_change(
        site.ctx,
        "us_ofac_cons",
        "<b>k</b>",
        "added",
        {
            "name": "<script>alert(1)</script>",
            "url": "javascript:alert(1)",
            "programs": ["<img src=x onerror=alert(1)>"],
        },
    )
    for path in ("/changes", f"/changes/{cid}"):
        text = site.get(path).text
        assert "<script>alert(1)" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert 'href="javascript:' not in text
    answer = site.get(f"/changes/{cid}")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    feed = site.get("/feeds/changes.atom").text
    assert "<script>" not in feed and "&lt;script&gt;" in feed


def test_screening_names_and_a_csv(site):
    import json

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from notifier.store.models import Record

    with Session(site.ctx.engine) as session:
        payload = json.loads(
            session.execute(
                select(Record.payload).where(Record.removed_at.is_(None), Record.name.like("%, %")).limit(1)
            ).scalar_one()
        )
    surname, given = payload["name"].split(", ", 1)
    answer = site.post("/api/screen", headers=site.bearer, json={"names": [f"{given} {surname}", "Nobody Atall"]})
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["results"]
    assert first["hits"][0]["key"] == payload["key"] and first["hits"][0]["score"] >= 0.88
    assert second["hits"] == []
    body = f"name;reference\n{payload['name']};C-1\n".encode()
    answer = site.post("/api/screen", headers={**site.bearer, "Content-Type": "text/csv"}, content=body)
    assert answer.json()["results"][0]["query"]["reference"] == "C-1"
    assert answer.json()["results"][0]["hits"][0]["key"] == payload["key"]
    assert site.post("/api/screen", headers=site.bearer, json={"names": []}).status_code == 400
    bad_csv = site.post("/api/screen", headers={**site.bearer, "Content-Type": "text/csv"}, content=b"who\nx\n")
    assert bad_csv.status_code == 400 and "name" in bad_csv.json()["detail"]


def test_openapi_documents_the_api(site):
    spec = site.get("/api/openapi.json").json()
    for path in ("/api/changes", "/api/changes.csv", "/api/sources", "/api/screen", "/feeds/changes.atom"):
        assert path in spec["paths"], path
    assert site.get("/api/docs").status_code == 200


def test_api_docs_work_offline_every_endpoint_on_one_page_with_no_script_and_nothing_from_another_host(site):
    page = site.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"], "the pages' policy, no exception"
    html = page.text
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing loaded from a CDN"
    spec = site.get("/api/openapi.json").json()
    documented = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items() if op.get("tags")]
    assert len(documented) >= 7
    for operation in documented:
        assert f"<code>{operation}</code>" in html, operation
    for words in ("The `next` cursor of the previous answer", "ScreenParty", "text/csv", "integer (1 to 1000)"):
        assert words in html, words
    assert "<code>GET /changes</code>" not in html, "the HTML pages are not API endpoints"


def test_api_docs_escape_what_the_schema_says(make_ctx):
    from notifier.web.app import create_app

    app = create_app(make_ctx({}), local=True)

    @app.get("/api/probe", tags=["probe"])
    def probe() -> dict:
        """<img src=x onerror=alert(1)> & <b>bold</b>"""
        return {}

    html = TestClient(app).get("/api/docs").text
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<img" not in html and "<b>" not in html


def test_dashboard_shows_sources_chart_and_server_timing(site):
    page = site.get("/")
    assert page.status_code == 200
    assert "us_ofac_cons" in page.text and "442" in page.text and "<svg" in page.text
    assert "us_ofac_cons (1)" in page.text  # the chart's legend counts this week's change event
    assert page.headers["server-timing"].startswith("app;dur=")
