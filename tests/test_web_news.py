"""News items with the listed parties they name, and a record's "also listed by", on real lists (OFAC SDN
sdn.csv 2024-05-03, Australia DFAT 2026-02-24) and the TASS article fixture."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from notifier.ingest.pipeline import poll
from tests.conftest import FIXTURES, real


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_news_names_listed_parties_and_a_record_shows_the_other_lists(make_ctx, tmp_path):
    from notifier.web.app import create_app

    ctx = make_ctx(
        {
            "us_ofac_sdn": {"url": "x", "title": "OFAC SDN"},
            "au_dfat": {"url": "x", "title": "AU DFAT"},
            "tass": {"adapter": "news_feed", "url": "x", "title": "TASS", "options": {"feed": "TASS"}},
        }
    )
    assert poll(ctx, "us_ofac_sdn", {"main": str(real("ofac/sdn_csv/2024-05-03_sdn.csv"))}).status == "accepted"
    assert (
        poll(ctx, "au_dfat", {"main": str(real("au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx"))}).status
        == "accepted"
    )
    assert poll(ctx, "tass", {"main": str(FIXTURES / "news_feed" / "tass_world_rss2.xml")}).status == "accepted"
    client = TestClient(create_app(ctx))

    news = client.get("/news").text
    assert "Japan to do its utmost to stop Ukraine conflict" in news
    assert re.search(r"VTB: on AU DFAT, OFAC SDN", news), news[:3000]

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from notifier.store.models import Record

    with Session(ctx.engine) as session:
        key = session.execute(
            select(Record.key).where(Record.source == "us_ofac_sdn", Record.name.like("%VTB BANK%")).limit(1)
        ).scalar_one()
    record = client.get(f"/records/us_ofac_sdn/{key}").text
    also = record.split('class="also">')[1].split("</dd>")[0]
    assert "AU DFAT" in also and "OFAC SDN" not in also
