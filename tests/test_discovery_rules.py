"""Discovery rules on pages written in each publisher's layout: which link a hop follows, and why it fails."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from notifier.config import Hop
from notifier.ingest.discovery import DiscoveryFailed, Link, Page, choose, date_in, discover

MOF_PAGE = "https://www.mof.go.jp/policy/international_policy/gaitame_kawase/gaitame/economic_sanctions/list.html"
MOF_DIR = "/policy/international_policy/gaitame_kawase/gaitame/economic_sanctions"
MOF_HTML = f"""<html><head><title>経済制裁措置及び対象者リスト</title></head><body>
<div id="header"><a href="/">財務省</a> <a href="/english/">English</a>
<a href="{MOF_DIR}/gaiyou.html">経済制裁措置の概要</a></div>
<div class="unique-block">
 <p>経済制裁措置及び対象者リスト（令和8年3月5日現在）</p>
 <a href="{MOF_DIR}/list/shisantouketsu20260305.xlsx">
   Excel形式（令和8年3月5日更新）</a>
 <a href="{MOF_DIR}/list/shisantouketsu20260305.pdf">PDF</a>
</div>
<div class="unique-block"><p>過去の更新</p>
 <a href="list/shisantouketsu20251219.xlsx">令和7年12月19日</a>
 <a href="list/shisantouketsu20250801.xlsx">令和7年8月1日</a>
</div>
<div id="footer"><a href="/about_mof/">財務省について</a><a href="https://www.kantei.go.jp/">首相官邸</a>
<a href="mailto:info@mof.go.jp">mail</a><a href="javascript:void(0)">top</a></div>
</body></html>"""


def pages(mapping: dict[str, bytes | str]):
    def get(url: str) -> Page:
        body = mapping[url]
        return Page(url, body.encode() if isinstance(body, str) else body)

    return get


@pytest.mark.parametrize(
    "text, expected",
    [
        ("shisantouketsu20260305.xlsx", date(2026, 3, 5)),
        ("251128_list_russia_tokutei.pdf", date(2025, 11, 28)),
        ("20250912list_russia_tokutei.pdf", date(2025, 9, 12)),
        ("外国ユーザーリスト（令和７年９月２９日改正）", date(2025, 9, 29)),
        ("平成31年4月26日", date(2019, 4, 26)),
        ("令和元年5月7日", date(2019, 5, 7)),
        ("2025年9月12日更新", date(2025, 9, 12)),
        ("title-15 2025-12-01", date(2025, 12, 1)),
        ("100687427.pdf", None),  # MOFA's file numbers are no dates
        ("list_russia_tokutei.pdf", None),
        ("shisantouketsu20261345.xlsx", None),  # month 13: no date
    ],
)
def test_dates_in_names_and_link_texts(text, expected):
    assert date_in(text) == expected


def test_newest_is_by_date_in_the_file_name_then_the_text_else_page_order():
    def link(url, text=""):
        return Link(url, text, "p", 0)

    older, newer = link("a/shisantouketsu20251219.xlsx"), link("a/shisantouketsu20260305.xlsx")
    assert choose([older, newer], "newest") is newer
    assert choose([older, newer], "first") is older and choose([older, newer], "last") is newer
    by_text = [link("a/list.xlsx", "令和7年8月1日"), link("a/list2.xlsx", "令和8年3月5日")]
    assert choose(by_text, "newest") is by_text[1]
    undated = [link("a/x.xlsx"), link("a/y.xlsx")]
    assert choose(undated, "newest") is undated[0]


def test_mof_page_leads_to_the_newest_workbook_inside_the_block_not_the_pdf_nor_navigation():
    hops = [Hop(within="div.unique-block", href=r"shisantouketsu\d{8}\.xlsx$")]
    found = discover(MOF_PAGE, hops, pages({MOF_PAGE: MOF_HTML}))
    assert found.url == (
        "https://www.mof.go.jp/policy/international_policy/gaitame_kawase/gaitame/economic_sanctions/list/"
        "shisantouketsu20260305.xlsx"
    )
    assert found.pages == [MOF_PAGE]
    assert len(found.announced) == 3  # the current workbook and the two older ones


def test_two_hops_follow_a_review_page_to_its_file_resolving_relative_links_against_the_page_served():
    landing = "https://www.meti.go.jp/policy/anpo/law05.html"
    review = "https://www.meti.go.jp/press/2025/09/20250929001/20250929001.html"
    html_landing = (
        '<a href="/policy/anpo/index.html">安全保障貿易管理</a>'
        '<a href="/press/2024/01/20240131001/20240131001.html">外国ユーザーリストの改正について（2024年1月31日）</a>'
        '<a href="/press/2025/09/20250929001/20250929001.html">外国ユーザーリストの改正について（2025年9月29日）</a>'
    )
    html_review = '<a href="20250929001-1.pdf">別紙</a><a href="20250929001-2.xlsx">外国ユーザーリスト（Excel）</a>'
    hops = [Hop(text="外国ユーザーリスト.*改正"), Hop(href=r"\.xlsx$")]
    found = discover(landing, hops, pages({landing: html_landing, review: html_review}))
    assert found.url == "https://www.meti.go.jp/press/2025/09/20250929001/20250929001-2.xlsx"
    assert found.pages == [landing, review]


def test_a_base_href_and_a_redirected_page_resolve_links_where_the_browser_would():
    asked, served = "https://example.gov/old/list.html", "https://example.gov/new/list.html"

    def get(url: str) -> Page:
        return Page(served, b'<a href="files/list_20260101.csv">CSV</a>')

    assert discover(asked, [Hop(href=r"\.csv$")], get).url == "https://example.gov/new/files/list_20260101.csv"
    with_base = b'<head><base href="https://cdn.example.gov/d/"></head><a href="x_20260101.csv">CSV</a>'
    found = discover(asked, [Hop(href=r"\.csv$")], lambda url: Page(url, with_base))
    assert found.url == "https://cdn.example.gov/d/x_20260101.csv"


def test_a_redesigned_page_fails_naming_the_page_and_the_rule():
    redesigned = "<html><body><div class='new-layout'><a href='/search'>検索</a></div></body></html>"
    hop = Hop(within="div.unique-block", href=r"shisantouketsu\d{8}\.xlsx$")
    with pytest.raises(DiscoveryFailed) as err:
        discover(MOF_PAGE, [hop], pages({MOF_PAGE: redesigned}))
    assert err.value.page == MOF_PAGE
    assert "div.unique-block" in err.value.rule and "shisantouketsu" in err.value.rule
    assert "no link matches" in str(err.value)


@pytest.mark.parametrize("body", [b"", b"\x00\x01binary", b"%PDF-1.7 not a page"])
def test_a_page_that_is_not_html_fails_clearly(body):
    with pytest.raises(DiscoveryFailed):
        discover(MOF_PAGE, [Hop(href=r"\.xlsx$")], pages({MOF_PAGE: body}))


ECFR_TITLES = "https://www.ecfr.gov/api/versioner/v1/titles.json"
ECFR_HOP = Hop(
    json_value="titles[number=15].up_to_date_as_of",
    value_pattern=r"\d{4}-\d{2}-\d{2}",
    url="https://www.ecfr.gov/api/versioner/v1/full/{value}/title-15.xml?part=746",
)


def test_the_ecfr_titles_api_names_the_date_to_fetch():
    answer = {
        "titles": [
            {"number": 14, "name": "Aeronautics and Space", "up_to_date_as_of": "2026-11-27"},
            {"number": 15, "name": "Commerce and Foreign Trade", "up_to_date_as_of": "2026-11-26"},
        ],
        "meta": {"date": "2026-11-30"},
    }
    import json

    found = discover(ECFR_TITLES, [ECFR_HOP], pages({ECFR_TITLES: json.dumps(answer)}))
    assert found.url == "https://www.ecfr.gov/api/versioner/v1/full/2026-11-26/title-15.xml?part=746"
    assert found.announced == []


@pytest.mark.parametrize(
    "answer, why",
    [
        ('{"titles": []}', "no entry with number=15"),
        ('{"error": "down"}', "no 'titles'"),
        ('{"titles": [{"number": 15, "up_to_date_as_of": "../../admin?x=1"}]}', "does not look as expected"),
        ('{"titles": [{"number": 15, "up_to_date_as_of": null}]}', "missing"),
        ("<html>maintenance</html>", "not a JSON answer"),
    ],
)
def test_a_wrong_api_answer_fails_instead_of_building_a_url(answer, why):
    with pytest.raises(DiscoveryFailed, match=why):
        discover(ECFR_TITLES, [ECFR_HOP], pages({ECFR_TITLES: answer}))


def test_announce_pattern_watches_dated_notices_beside_the_stable_list():
    page = "https://www.meti.go.jp/policy/external_economy/trade_control/02_export/17_russia/russia.html"
    html = (
        '<a href="list_russia_tokutei.pdf">輸出等に係る禁止措置の対象となるロシア連邦の特定団体一覧</a>'
        '<a href="/policy/external_economy/trade_control/01_seido/04_seisai/downloadCrimea/'
        '20250912list_russia_tokutei.pdf">（2025年9月12日追加分）</a>'
        '<a href="list_belarus_tokutei.pdf">ベラルーシ共和国の特定団体一覧</a>'
    )
    hop = Hop(href=r"/list_russia_tokutei\.pdf$", announce=r"list_russia_tokutei\.pdf$")
    found = discover(page, [hop], pages({page: html}))
    assert found.url.endswith("/17_russia/list_russia_tokutei.pdf")
    assert [link.url.rsplit("/", 1)[1] for link in found.announced] == [
        "list_russia_tokutei.pdf",
        "20250912list_russia_tokutei.pdf",
    ]


@pytest.mark.parametrize(
    "hop, problem",
    [
        ({}, "needs href"),
        ({"href": "("}, "regular expression"),
        ({"href": "x", "within": "div[["}, "CSS selector"),
        ({"json_value": "a.b"}, "needs url"),
        ({"json_value": "a", "url": "u/{value}", "href": "x"}, "not both"),
        ({"href": "x", "pick": "biggest"}, "pick"),
        ({"href": "x", "announce": "(["}, "regular expression"),
    ],
)
def test_a_wrong_rule_is_refused_at_start(hop, problem):
    with pytest.raises(ValidationError, match=problem):
        Hop.model_validate(hop)


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "euc-jp"])
def test_japanese_link_texts_are_read_in_the_pages_own_encoding(encoding):
    declared = f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">'
    links = '<a href="a.xlsx">外国ユーザーリスト</a><a href="b.xlsx">別紙</a>'
    html = f"<html><head>{declared}</head><body>{links}</body></html>"
    for body in (html.encode(encoding), html.replace(declared, "").encode(encoding)):
        if encoding == "euc-jp" and declared not in body.decode(encoding):
            continue  # undeclared EUC-JP is not guessed
        found = discover(MOF_PAGE, [Hop(text="ユーザーリスト")], pages({MOF_PAGE: body}))
        assert found.url.endswith("/a.xlsx")


def test_a_date_far_in_the_future_does_not_win_newest():
    typo = Link("a/shisantouketsu20960305.xlsx", "", "p", 0)  # 2096 for 2026
    current = Link("a/shisantouketsu20260305.xlsx", "", "p", 0)
    assert choose([typo, current], "newest", today=date(2026, 3, 6)) is current
    assert choose(
        [current, Link("a/shisantouketsu20261201.xlsx", "", "p", 0)], "newest", today=date(2026, 3, 6)
    ).url.endswith("20261201.xlsx"), "a date within the year ahead still counts (announced releases)"
