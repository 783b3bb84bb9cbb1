"""Discovery through the whole pipeline, against local servers that stand in for MOF, METI and eCFR.

Landing pages are written in each publisher's layout (navigation, unrelated links, older files); the real files
of ../shared/data/real sit behind them. The shipped config/sources.yaml is used as it is, with only the hosts
pointed at the local servers: a fresh install polls MOF, METI and eCFR through their pages with no operator step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.app import build_service
from notifier.ingest.pipeline import poll
from notifier.settings import Settings
from notifier.store.models import Change, Delivery, Snapshot, SourceState
from tests.conftest import FIXTURES, REPO, real
from tests.support.http import LocalServer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MOF_DIR = "/policy/international_policy/gaitame_kawase/gaitame/economic_sanctions"
METI_RU = "/policy/external_economy/trade_control/02_export/17_russia"
METI_NOTICES = "/policy/external_economy/trade_control/01_seido/04_seisai/downloadCrimea"
PARTIES = "jp/meti_export_ban_parties/meti_list_{}_tokutei_{}.txt"
OLD, NEW = "2025-07-25_f7184a2e2", "2025-09-12_926dd5660"
SHIPPED = REPO / "config" / "sources.yaml"
HOSTS = {"mof": "https://www.mof.go.jp", "meti": "https://www.meti.go.jp", "ecfr": "https://www.ecfr.gov"}
DISCOVERING = [
    "jp_mof",
    "jp_meti_eul",
    "jp_meti_parties_russia",
    "jp_meti_parties_belarus",
    "jp_meti_parties_third",
    "us_bis_ecfr",
]


def mof_page(*workbooks: str, layout: str = "unique-block") -> bytes:
    """MOF's list page: site navigation, the current workbook and PDF in a block, older releases, footer."""
    current, *older = workbooks
    olds = "".join(f'<li><a href="list/{w}">{w[14:22]}更新分</a></li>' for w in older)
    return f"""<!DOCTYPE html><html lang="ja"><head><meta charset="UTF-8"><title>経済制裁措置及び対象者リスト</title>
<link rel="stylesheet" href="/common/css/base.css"></head><body>
<div id="header"><a href="/">財務省</a><a href="/english/">English</a><a href="/sitemap.html">サイトマップ</a></div>
<ul class="breadcrumb"><li><a href="/policy/">政策</a></li>
<li><a href="{MOF_DIR}/gaiyou.html">経済制裁措置</a></li></ul>
<div class="{layout}"><h2>経済制裁措置及び対象者リスト</h2>
<p><a href="{MOF_DIR}/list/{current}">経済制裁措置及び対象者リスト（Excel形式）</a>
   <a href="{MOF_DIR}/list/{current[:-5]}.pdf">（PDF形式）</a></p></div>
<div class="{layout}"><h3>過去の更新</h3><ul>{olds}</ul></div>
<div id="footer"><a href="/about_mof/">財務省について</a><a href="https://get.adobe.com/reader/">Adobe Reader</a>
<a href="mailto:webmaster@mof.go.jp">ご意見</a></div></body></html>""".encode()


def meti_russia_page(notices: list[str] = ()) -> bytes:
    """METI's Russia export page: the three party lists by stable name, dated notices beside them, forms, FAQ."""
    extra = "".join(f'<li><a href="{METI_NOTICES}/{n}">追加分（{n[:8]}）</a></li>' for n in notices)
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>ロシア等への輸出について</title></head><body><div class="wrapper2011">
<a href="/">経済産業省</a><a href="/policy/anpo/index.html">安全保障貿易管理</a>
<p>（４）ベラルーシを仕向地とする貨物の輸出であって、経済産業大臣が告示で指定する者との取引によるもの。</p>
<a href="list_belarus_tokutei.pdf">輸出等に係る禁止措置の対象となるベラルーシ共和国の特定団体一覧</a>
<a href="list_russia_tokutei.pdf">輸出等に係る禁止措置の対象となるロシア連邦の特定団体一覧</a>
<a href="list_daisangoku_tokutei.pdf">輸出等に係る禁止措置の対象となる第三国の特定団体一覧</a>
<ul>{extra}</ul>
<a href="shinseisho.xlsx">輸出承認申請書 様式</a><a href="faq.html">FAQ</a>
<a href="https://get.adobe.com/jp/reader/">ダウンロード（Adobeサイトへ）</a></div></body></html>""".encode("cp932")


EUL_PAGE = """<html><head><meta charset="utf-8"><title>安全保障貿易管理</title></head><body>
<a href="/policy/anpo/index.html">トップ</a>
<a href="/policy/anpo/2024/enduserlist20240131.xlsx">外国ユーザーリスト（2024年1月31日）</a>
<h2 id="user-list">外国ユーザーリスト</h2>
<a href="/policy/anpo/2025/enduserlist20250929.xlsx">外国ユーザーリスト（令和7年9月29日改正）</a>
<a href="/policy/anpo/2025/20250929_notice.pdf">外国ユーザーリストの改正について</a>
<a href="/policy/anpo/law_document/tutatu/t07sonota.html">通達</a></body></html>""".encode()

ECFR_TITLES = {
    "titles": [
        {"number": 14, "name": "Aeronautics and Space", "up_to_date_as_of": "2024-06-03"},
        {"number": 15, "name": "Commerce and Foreign Trade", "up_to_date_as_of": "2024-06-01"},
    ],
    "meta": {"date": "2024-06-04", "import_in_progress": False},
}


@pytest.fixture
def publishers():
    with LocalServer() as mof, LocalServer() as meti, LocalServer() as ecfr:
        yield {"mof": mof, "meti": meti, "ecfr": ecfr}


def shipped_config(tmp_path: Path, servers: dict[str, LocalServer], only: list[str]) -> Path:
    """config/sources.yaml as shipped, its publishers' hosts pointed at the local servers, only `only` kept."""
    text = SHIPPED.read_text(encoding="utf-8")
    for name, host in HOSTS.items():
        text = text.replace(host, servers[name].url("").rstrip("/"))
    sources = yaml.safe_load(text)["sources"]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": {sid: sources[sid] for sid in only}}, allow_unicode=True))
    return path


def service(tmp_path: Path, db_url: str, sources_file: Path, subscribers: list | None = None):
    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(yaml.safe_dump({"subscribers": subscribers or []}))
    settings = Settings(
        data_dir=tmp_path / "data", database_url=db_url, sources_file=sources_file, subscriptions_file=subs
    )
    return build_service(settings)


def serve_publishers(servers: dict[str, LocalServer]) -> None:
    mof, meti, ecfr = servers["mof"], servers["meti"], servers["ecfr"]
    mof.serve(f"{MOF_DIR}/list.html", mof_page("shisantouketsu20260305.xlsx", "shisantouketsu20251219.xlsx"))
    workbook = real("jp/mof_shisantouketsu20260305.xlsx").read_bytes()
    mof.serve(f"{MOF_DIR}/list/shisantouketsu20260305.xlsx", workbook, content_type=XLSX)
    meti.serve("/policy/anpo/law05.html", EUL_PAGE, content_type="text/html")
    eul = real("jp/meti_end_user_list_2025-09-29.xlsx").read_bytes()
    meti.serve("/policy/anpo/2025/enduserlist20250929.xlsx", eul, content_type=XLSX)
    meti.serve(f"{METI_RU}/russia.html", meti_russia_page(), content_type="text/html")
    pdf = real("jp/mofa_notices/list_russia_tokutei.pdf").read_bytes()
    meti.serve(f"{METI_RU}/list_russia_tokutei.pdf", pdf, content_type="application/pdf")
    # No PDF of these two lists was available: their pdftotext text stands in (the adapter reads both).
    for name, path in (("belarus", PARTIES.format("belarus", OLD)), ("daisangoku", PARTIES.format("daisangoku", NEW))):
        meti.serve(f"{METI_RU}/list_{name}_tokutei.pdf", real(path).read_bytes(), content_type="application/pdf")
    ecfr.serve("/api/versioner/v1/titles.json", json.dumps(ECFR_TITLES).encode(), content_type="application/json")
    part = (FIXTURES / "us_bis_ecfr" / "part746_2024-06-01.xml").read_bytes()
    ecfr.serve("/api/versioner/v1/full/2024-06-01/title-15.xml", part)


def state_of(svc, source: str) -> dict:
    with Session(svc.engine) as s:
        return json.loads(s.get(SourceState, source).discovery or "{}")


def snapshots(svc, source: str) -> list[Snapshot]:
    with Session(svc.engine) as s:
        return list(s.execute(select(Snapshot).where(Snapshot.source == source).order_by(Snapshot.id)).scalars())


def changes(svc, source: str, kind: str | None = None) -> list[Change]:
    with Session(svc.engine) as s:
        stmt = select(Change).where(Change.source == source)
        return list(s.execute(stmt.where(Change.kind == kind) if kind else stmt).scalars())


def deliveries(svc, purpose: str) -> list[Delivery]:
    with Session(svc.engine) as s:
        return list(s.execute(select(Delivery).where(Delivery.purpose == purpose)).scalars())


def test_a_fresh_install_polls_mof_meti_and_ecfr_through_their_pages(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    svc = service(tmp_path, db_url, shipped_config(tmp_path, publishers, DISCOVERING))
    assert all(svc.sources[sid].enabled for sid in DISCOVERING), "enabled as shipped"
    expected = {
        "jp_mof": ("/list/shisantouketsu20260305.xlsx", 2862),
        "jp_meti_eul": ("/policy/anpo/2025/enduserlist20250929.xlsx", None),
        "jp_meti_parties_russia": (f"{METI_RU}/list_russia_tokutei.pdf", 561),
        "jp_meti_parties_belarus": (f"{METI_RU}/list_belarus_tokutei.pdf", None),
        "jp_meti_parties_third": (f"{METI_RU}/list_daisangoku_tokutei.pdf", 56),
        "us_bis_ecfr": ("/api/versioner/v1/full/2024-06-01/title-15.xml?part=746", None),
    }
    for sid, (path, count) in expected.items():
        result = poll(svc, sid)
        assert (result.status, result.baseline) == ("accepted", True), (sid, result.reason)
        if count is not None:
            assert result.record_count == count, sid
        [snap] = snapshots(svc, sid)
        assert snap.discovered_url.endswith(path), (sid, snap.discovered_url)
        assert state_of(svc, sid)["url"] == snap.discovered_url
        assert changes(svc, sid) == [], "a first poll is a baseline: no events, no publications"
    # Navigation, forms and older releases were never fetched; the PDF beside the workbook neither.
    fetched = {p.split("?")[0] for srv in publishers.values() for p, _ in srv.requests}
    assert not any(p.endswith((".pdf",)) and "tokutei" not in p for p in fetched)
    assert not any("shisantouketsu20251219" in p or "shinseisho" in p for p in fetched)


def test_a_renamed_release_is_announced_then_diffed(tmp_path, db_url, publishers):
    meti = publishers["meti"]
    page = f"{METI_RU}/third.html"
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "third": {
                        "adapter": "jp_meti_parties",
                        "title": "METI export-ban parties (third countries)",
                        "url": meti.url(page),
                        "discover": [{"href": r"list_daisangoku_tokutei\.pdf$", "pick": "newest"}],
                        "guard": {"min_records": 40},
                    }
                }
            }
        )
    )
    subscribers = [
        {"name": "watchers", "channels": [{"url": "json://127.0.0.1:9/w"}], "filters": {"kinds": ["publication"]}},
        {"name": "designations", "channels": [{"url": "json://127.0.0.1:9/d"}], "filters": {"kinds": ["designation"]}},
    ]
    svc = service(tmp_path, db_url, sources, subscribers)

    def publish(*names: str) -> None:
        links = "".join(f'<li><a href="{METI_NOTICES}/{n}">第三国の特定団体一覧（{n[:6]}）</a></li>' for n in names)
        meti.serve(page, f"<html><body><a href='/'>経済産業省</a><ul>{links}</ul></body></html>".encode())

    for stamp, version in (("250725", OLD), ("250912", NEW)):
        text = real(PARTIES.format("daisangoku", version)).read_bytes()
        meti.serve(f"{METI_NOTICES}/{stamp}_list_daisangoku_tokutei.pdf", text)
    publish("250725_list_daisangoku_tokutei.pdf")
    first = poll(svc, "third")
    assert (first.status, first.record_count) == ("accepted", 47), first.reason
    assert poll(svc, "third").status == "unchanged"

    publish("250725_list_daisangoku_tokutei.pdf", "250912_list_daisangoku_tokutei.pdf")  # new file, old kept
    result = poll(svc, "third")
    assert result.status == "accepted", result.reason
    assert (result.added, result.removed, result.record_count) == (9, 0, 56)
    [announced] = changes(svc, "third", "publication")
    assert announced.change == "added" and announced.key.endswith("/250912_list_daisangoku_tokutei.pdf")
    assert "METI export-ban parties (third countries)" in announced.name and "250912" in announced.name
    published, diffed = snapshots(svc, "third")[-2:]
    assert published.status == "published" and published.id < diffed.id, "the announcement comes first"
    assert diffed.discovered_url.endswith("250912_list_daisangoku_tokutei.pdf")
    rows = deliveries(svc, "changes")
    assert {(r.subscriber, r.snapshot_id) for r in rows} == {
        ("watchers", published.id),
        ("designations", diffed.id),
    }
    assert poll(svc, "third").status == "unchanged" and len(changes(svc, "third", "publication")) == 1


def test_a_redesigned_page_fails_the_poll_alerts_ops_at_once_and_changes_nothing(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    meti = publishers["meti"]
    subscribers = [
        {"name": "analysts", "channels": [{"url": "json://127.0.0.1:9/a"}]},
        {"name": "ops", "tags": ["ops"], "channels": [{"url": "json://127.0.0.1:9/ops"}]},
    ]
    sid = "jp_meti_parties_russia"
    svc = service(tmp_path, db_url, shipped_config(tmp_path, publishers, [sid]), subscribers)
    assert poll(svc, sid).status == "accepted"
    redesigned = meti_russia_page().replace(b"list_russia_tokutei.pdf", b"russia/parties.pdf")
    meti.serve(f"{METI_RU}/russia.html", redesigned)
    result = poll(svc, sid)
    assert result.status == "failed"
    assert "no link matches" in result.reason and "russia.html" in result.reason
    assert "list_russia_tokutei" in result.reason, "the rule is named"
    [alert] = deliveries(svc, "ops")
    assert alert.subscriber == "ops" and "russia.html" in alert.title
    assert "list_russia_tokutei" in alert.body and "discover" in alert.body
    assert deliveries(svc, "changes") == [] and changes(svc, sid) == []
    with Session(svc.engine) as s:
        assert s.get(SourceState, sid).record_count == 561, "the stored list is untouched"
    assert poll(svc, sid).status == "failed"
    assert len(deliveries(svc, "ops")) == 1, "one alert per failure streak, not one per poll"


def test_a_linked_file_that_answers_404_fails_the_poll_naming_the_file(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    mof = publishers["mof"]
    mof.serve(f"{MOF_DIR}/list.html", mof_page("shisantouketsu20261201.xlsx", "shisantouketsu20260305.xlsx"))
    svc = service(tmp_path, db_url, shipped_config(tmp_path, publishers, ["jp_mof"]))
    result = poll(svc, "jp_mof")
    assert result.status == "failed"
    assert "shisantouketsu20261201.xlsx" in result.reason and "404" in result.reason
    assert changes(svc, "jp_mof") == []


def test_redirected_pages_resolve_their_links_where_they_landed(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    meti = publishers["meti"]
    moved = f"{METI_RU}/2026/russia.html"
    meti.serve(f"{METI_RU}/russia.html", b"", status=301, headers={"Location": meti.url(moved)}, etag=False)
    meti.serve(moved, meti_russia_page())
    pdf = real("jp/mofa_notices/list_russia_tokutei.pdf").read_bytes()
    meti.serve(f"{METI_RU}/2026/list_russia_tokutei.pdf", pdf, content_type="application/pdf")
    svc = service(tmp_path, db_url, shipped_config(tmp_path, publishers, ["jp_meti_parties_russia"]))
    result = poll(svc, "jp_meti_parties_russia")
    assert result.status == "accepted", result.reason
    found = snapshots(svc, "jp_meti_parties_russia")[0].discovered_url
    assert found == meti.url(f"{METI_RU}/2026/list_russia_tokutei.pdf")


def test_pages_are_fetched_conditionally_and_a_304_page_still_leads_to_the_file(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    svc = service(tmp_path, db_url, shipped_config(tmp_path, publishers, ["jp_meti_parties_russia"]))
    assert poll(svc, "jp_meti_parties_russia").status == "accepted"
    assert poll(svc, "jp_meti_parties_russia").status == "unchanged"
    page_requests = [h for p, h in publishers["meti"].requests if p.endswith("/russia.html")]
    assert len(page_requests) == 2 and "If-None-Match" not in page_requests[0]
    assert page_requests[1].get("If-None-Match"), "the page's own validator is replayed"
    assert snapshots(svc, "jp_meti_parties_russia")[-1].discovered_url.endswith("/list_russia_tokutei.pdf")


def test_a_notice_appearing_beside_a_stable_list_is_announced(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    meti = publishers["meti"]
    subscribers = [{"name": "all", "channels": [{"url": "json://127.0.0.1:9/a"}]}]
    svc = service(tmp_path, db_url, shipped_config(tmp_path, publishers, ["jp_meti_parties_russia"]), subscribers)
    assert poll(svc, "jp_meti_parties_russia").status == "accepted"
    meti.serve(f"{METI_RU}/russia.html", meti_russia_page(["20250912list_russia_tokutei.pdf"]))
    assert poll(svc, "jp_meti_parties_russia").status == "unchanged", "the list itself did not change"
    [notice] = changes(svc, "jp_meti_parties_russia", "publication")
    assert notice.key.endswith(f"{METI_NOTICES}/20250912list_russia_tokutei.pdf")
    assert [r.subscriber for r in deliveries(svc, "changes")] == ["all"]


def test_poll_url_starts_discovery_from_another_page(tmp_path, db_url, publishers):
    serve_publishers(publishers)
    meti = publishers["meti"]
    meti.serve("/mirror/russia.html", meti_russia_page())
    pdf = real("jp/mofa_notices/list_russia_tokutei.pdf").read_bytes()
    meti.serve("/mirror/list_russia_tokutei.pdf", pdf, content_type="application/pdf")
    sid = "jp_meti_parties_russia"
    sources = shipped_config(tmp_path, publishers, [sid])
    (tmp_path / "subscriptions.yaml").write_text("subscribers: []\n")
    env = {
        **os.environ,
        "NOTIFIER_DATA_DIR": str(tmp_path / "data"),
        "NOTIFIER_DATABASE_URL": db_url,
        "NOTIFIER_SOURCES_FILE": str(sources),
        "NOTIFIER_SUBSCRIPTIONS_FILE": str(tmp_path / "subscriptions.yaml"),
        "NOTIFIER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    notifier = [sys.executable, "-c", "from notifier.cli import main; main()"]
    done = subprocess.run(
        [*notifier, "poll", sid, "--url", meti.url("/mirror/russia.html")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "baseline: 561 records" in done.stdout
    assert f"found: {meti.url('/mirror/list_russia_tokutei.pdf')}" in done.stdout
    svc = service(tmp_path, db_url, sources)
    assert snapshots(svc, sid)[0].discovered_url == meti.url("/mirror/list_russia_tokutei.pdf")
    listing = subprocess.run([*notifier, "sources", "--json"], capture_output=True, text=True, env=env)
    [row] = [json.loads(line) for line in listing.stdout.splitlines()]
    assert row["discovered_url"] == meti.url("/mirror/list_russia_tokutei.pdf")
    assert "list_russia_tokutei" in row["discovery"] and row["url"].endswith("/russia.html")
    table = subprocess.run([*notifier, "sources"], capture_output=True, text=True, env={**env, "COLUMNS": "200"})
    assert "/mirror/list_russia_tokutei.pdf" in table.stdout.replace("\n", "")
