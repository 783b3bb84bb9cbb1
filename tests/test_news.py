"""News that runs ahead of the lists: sanctions news is recognised in several languages, linked to the list
records it names, deduplicated across feeds, and alerted once; export-control changes read as measures.

The feeds are fixtures written by us in RSS 2.0 and Atom around the real TASS article (../shared/data/news);
the list data is real (OFAC SDN, Australia DFAT, Canada SEMA, UN), loaded through the pipeline.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.ingest.pipeline import poll
from notifier.screening.news import assess, load_rules, story_keys
from tests.conftest import FIXTURES, real, shared
from tests.support.receivers import WebhookReceiver

RSS = FIXTURES / "news_feed" / "tass_world_rss2.xml"
ATOM = FIXTURES / "news_feed" / "tass_world_atom.xml"
BANKS = [
    "Otkritie Bank",
    "Novikombank",
    "Sovcombank",
    "VTB",
    "Rossiya Bank",
    "Promsvyazbank",
    "VEB.RF",
    "Sberbank",
    "Alfa-Bank",
]
CHEMICALS = [
    "chlorine (HS 2801.10)",
    "methanol (HS 2905.11)",
    "acetone (HS 2914.11)",
    "ethylene (HS 2901.21)",
    "sodium hypochlorite (HS 2828.90)",
]


def test_the_tass_article_is_sanctions_news_with_its_measures_jurisdictions_and_goods():
    text = shared("news/tass_2023-01-25_japan_sanctions_article.txt").read_text()
    verdict = assess(text, load_rules())
    assert verdict.relevant
    assert verdict.measures == ["sanctions", "asset freeze", "export ban", "import ban"]
    assert verdict.jurisdictions == ["JP", "RU"]
    assert {"chlorine", "methanol", "acetone", "ethylene", "sodium hypochlorite", "semiconductors", "gold"} <= {
        g.name for g in verdict.goods
    }


@pytest.mark.parametrize(
    "text, measures",
    [
        (
            "日本政府は対ロシア制裁として、ロシアの銀行の資産凍結と輸出禁止措置を発表した",
            ["sanctions", "asset freeze", "export ban"],
        ),
        ("Япония ввела санкции и запрет на экспорт в Россию", ["sanctions", "export ban"]),
        ("Treasury designates 20 vessels of the shadow fleet", ["designation"]),
    ],
)
def test_sanctions_terms_are_recognised_in_several_languages(text, measures):
    assert assess(text, load_rules()).measures == measures


def test_ordinary_news_is_not_sanctions_news():
    assert not assess("Japan beats Germany in the World Cup; Tokyo celebrates", load_rules()).relevant


def test_the_same_story_from_two_feeds_has_a_common_story_key():
    rss = {"link": "https://tass.com/world/example-2023-01-25-kishida", "title_text": "Japan to do its utmost"}
    atom = {"link": "http://www.tass.com/world/example-2023-01-25-kishida/?utm=x", "title_text": "Other title here"}
    assert story_keys(rss) & story_keys(atom)


def _items(feed: bytes) -> list[bytes]:
    return re.findall(rb"<item>.*?</item>", feed, re.S)


def _without_items(feed: bytes, keep: int) -> bytes:
    """The feed as it stood earlier: only its last `keep` items (the newest scroll in at the top)."""
    items = _items(feed)
    for item in items[: len(items) - keep]:
        feed = feed.replace(item, b"")
    return feed


LISTS = {
    "us_ofac_sdn": ("OFAC SDN", "ofac/sdn_csv/2024-05-03_sdn.csv"),
    "au_dfat": ("AU DFAT", "au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx"),
    "ca_sema": ("CA SEMA", "ca/2020-04-15_sema-lmes_old_schema.xml"),
    "un_sc": ("UN Security Council", "un/2025-12-10_consolidated.xml"),
}


@pytest.fixture
def news_service(make_ctx, tmp_path):
    hook = WebhookReceiver()
    sources = {sid: {"url": "x", "title": title} for sid, (title, _) in LISTS.items()}
    sources["tass"] = {"adapter": "news_feed", "url": "x", "title": "TASS", "options": {"feed": "TASS"}}
    sources["tass_atom"] = {"adapter": "news_feed", "url": "x", "title": "TASS (Atom)"}
    subs = {
        "subscribers": [
            {"name": "news-desk", "channels": [{"url": hook.url("/news")}], "filters": {"kinds": ["news"]}},
            {"name": "japan-desk", "channels": [{"url": hook.url("/jp")}], "filters": {"jurisdictions": ["JP"]}},
        ]
    }
    svc = make_ctx(sources, subs)
    for sid, (_, path) in LISTS.items():
        assert poll(svc, sid, {"main": str(real(path))}).status == "accepted"
    yield svc, hook, tmp_path
    hook.close()


def _poll_file(svc, source: str, data: bytes, folder: Path, name: str):
    path = folder / name
    path.write_bytes(data)
    return poll(svc, source, {"main": str(path)})


def test_the_tass_article_reaches_a_news_subscriber_once_naming_banks_listings_and_chemicals(news_service):
    svc, hook, folder = news_service
    feed = RSS.read_bytes()
    assert _poll_file(svc, "tass", _without_items(feed, 2), folder, "v1.xml").baseline
    result = _poll_file(svc, "tass", feed, folder, "v2.xml")
    assert result.added == 2
    assert [deliver_one(svc, i).status for i in due(svc.engine)] == ["sent", "sent"]
    news = [m for m in hook.received if m["path"] == "/news"]
    assert len(news) == 1, "one alert per poll and subscriber, naming both new items"
    message = news[0]["message"]
    assert "Japan to do its utmost to stop Ukraine conflict" in message
    assert "Measures: asset freeze, export ban, import ban" in message
    for bank in BANKS:
        assert re.search(rf"{re.escape(bank)}: on [^\n]*OFAC SDN", message), bank
    assert "VTB: on AU DFAT, CA SEMA, OFAC SDN; not on UN Security Council" in message
    for chemical in CHEMICALS:
        assert chemical in message
    assert any(m["path"] == "/jp" for m in hook.received), "news naming Japan reaches a subscriber filtering on JP"


def test_the_same_story_in_another_feed_or_edited_in_place_alerts_nobody_again(news_service):
    svc, hook, folder = news_service
    feed = RSS.read_bytes()
    _poll_file(svc, "tass", _without_items(feed, 2), folder, "v1.xml")
    _poll_file(svc, "tass", feed, folder, "v2.xml")
    [deliver_one(svc, i) for i in due(svc.engine)]
    sent = len(hook.received)
    atom = ATOM.read_bytes()
    _poll_file(svc, "tass_atom", re.sub(rb"<entry>.*?</entry>", b"", atom, count=1, flags=re.S), folder, "a1.xml")
    result = _poll_file(svc, "tass_atom", atom, folder, "a2.xml")
    assert result.added == 1, "the Atom feed's Kishida entry is new to that feed"
    edited = feed.replace(b"Fumio Kishida stressed", b"Prime Minister Fumio Kishida stressed")
    assert _poll_file(svc, "tass", edited, folder, "v3.xml").amended == 1
    assert due(svc.engine) == [] and len(hook.received) == sent


def test_a_new_hs_code_in_a_meti_list_version_alerts_an_export_control_subscriber(make_ctx):
    hook = WebhookReceiver()
    try:
        subs = {
            "subscribers": [
                {"name": "trade", "channels": [{"url": hook.url()}], "filters": {"kinds": ["export_control"]}}
            ]
        }
        svc = make_ctx(
            {"jp_meti_goods": {"url": "x", "title": "METI export bans (RU)", "options": {"target_countries": ["RU"]}}},
            subs,
        )
        folder = FIXTURES / "jp_meti_goods"
        poll(svc, "jp_meti_goods", {"main": str(folder / "russia_export_ban_goods_2022-05-20.csv")})
        result = poll(svc, "jp_meti_goods", {"main": str(folder / "russia_export_ban_goods_2023-02-03.csv")})
        assert result.added == 5
        assert [deliver_one(svc, i).status for i in due(svc.engine)] == ["sent"]
        message = hook.wait(1)[0]["message"]
        assert "New export ban (JP → RU): HS 2801.10" in message and "chlorine" in message.lower()
    finally:
        hook.close()


def test_a_new_hs_code_in_a_bis_part_746_version_alerts_with_its_legal_basis(make_ctx):
    hook = WebhookReceiver()
    try:
        subs = {
            "subscribers": [
                {
                    "name": "trade",
                    "channels": [{"url": hook.url()}],
                    "filters": {"kinds": ["export_control"], "changes": ["added"]},
                }
            ]
        }
        svc = make_ctx({"us_bis_ecfr": {"url": "x", "title": "BIS 15 CFR 746"}}, subs)
        folder = FIXTURES / "us_bis_ecfr"
        poll(svc, "us_bis_ecfr", {"main": str(folder / "part746_2024-01-01.xml")})
        result = poll(svc, "us_bis_ecfr", {"main": str(folder / "part746_2024-06-01.xml")})
        assert (result.added, result.removed) == (1, 1)
        [deliver_one(svc, i) for i in due(svc.engine)]
        message = hook.wait(1)[0]["message"]
        assert (
            "New licence requirement (US → BY, RU): HS 8479.89" in message and "15 CFR 746 Supplement No. 4" in message
        )
        assert "2203" not in message, "the subscriber asked for new measures only"
    finally:
        hook.close()
