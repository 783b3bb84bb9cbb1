"""RSS 2.0 and Atom feeds via feedparser."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.news_feed import NewsFeed, html_to_text
from tests.conftest import real, shared

# Both feeds are written by us in the real RSS 2.0 / Atom 1.0 formats around the real TASS article in
# shared/data/news (its title and text as published; links and guids are illustrative).
FIXTURES = Path(__file__).parent / "fixtures" / "news_feed"
RSS, ATOM = FIXTURES / "tass_world_rss2.xml", FIXTURES / "tass_world_atom.xml"
TASS_TITLE = "Japan to do its utmost to stop Ukraine conflict, find path to dialogue with Russia — PM"


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in NewsFeed(options).parse({"main": path})}


def test_rss_items_with_guid_link_or_hash_keys():
    recs = parse(RSS, feed="TASS World")
    assert len(recs) == 4
    article = recs["https://tass.com/world/example-2023-01-25-kishida"]
    assert article.title_text == TASS_TITLE
    assert article.published == "2023-01-25T05:41:00Z"
    assert article.feed == "TASS World" and article.language == "en"
    assert "chlorine, methanol, acetone, ethylene, and sodium hypochlorite" in article.summary
    assert "<p>" not in article.summary and "RussiaTOKYO" not in article.summary
    assert article.extra["categories"] == ["World", "Sanctions"]
    assert "tass-example-chemicals-2023-01-27" in recs  # guid isPermaLink=false
    assert "https://tass.com/world/example-2023-01-28-ofac" in recs  # no guid: the link
    assert recs["https://tass.com/world/example-2023-01-28-ofac"].summary == (
        "The US Treasury\u2019s OFAC added several tankers to the SDN list."
    )
    assert sum(k.startswith("sha:") for k in recs) == 1  # neither: a hash of title and date


def test_the_article_text_is_the_real_one():
    text = shared("news/tass_2023-01-25_japan_sanctions_article.txt").read_text(encoding="utf-8")
    article = parse(RSS)["https://tass.com/world/example-2023-01-25-kishida"]
    last = text.strip().splitlines()[-1]
    assert " ".join(last.split())[:120] in article.summary


def test_atom_entries():
    recs = parse(ATOM)
    assert set(recs) == {"tag:tass.com,2023-01-25:example-kishida", "tag:tass.com,2023-01-27:example-chemicals"}
    first = recs["tag:tass.com,2023-01-25:example-kishida"]
    assert first.title_text == TASS_TITLE and first.feed == "TASS: World (test feed, Atom)"
    assert first.link == "https://tass.com/world/example-2023-01-25-kishida"
    assert first.published == "2023-01-25T05:41:00Z"
    chem = recs["tag:tass.com,2023-01-27:example-chemicals"]
    assert chem.summary.startswith("Japan's Ministry of Economy, Trade and Industry added chlorine (HS 2801.10)")


def test_feed_bookkeeping_is_no_change(tmp_path):
    later = tmp_path / "later.xml"
    later.write_text(
        RSS.read_text(encoding="utf-8")
        .replace("<lastBuildDate>Wed, 25 Jan 2023 12:00:00 +0300", "<lastBuildDate>Thu, 26 Jan 2023 07:00:00 +0300")
        .replace("<ttl>10</ttl>", "<ttl>15</ttl>"),
        encoding="utf-8",
    )

    def hashes(recs: dict) -> dict:
        return {k: content_hash(canonical(r.payload())) for k, r in recs.items()}

    assert hashes(parse(later)) == hashes(parse(RSS))


def test_html_to_text():
    assert html_to_text("<p>a</p><p>b &amp; c</p>") == "a b & c"
    assert html_to_text("plain  text") == "plain text"


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html",
             "un/2025-12-10_consolidated.xml"]
)
def test_bodies_that_are_not_feeds_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(NewsFeed().parse({"main": real(name)}))
