"""The web pages in a real Chromium (Debian's package, driven by Playwright): the dashboard, filtering changes,
following the OFAC delisting to its record and timeline, marking a watchlist hit false positive, accepting a
quarantined snapshot. Screenshots are saved under tmp/artifacts/web (or $TEST_ARTIFACTS/web), printed by the test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, real
from tests.support.receivers import free_port
from tests.support.service import wait_for
from tests.support.web import import_counterparties, replay_ofac

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or REPO / "tmp" / "artifacts") / "web"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason="no Chromium installed (apt-get install chromium; .ci/run does it)"
)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def site(make_ctx):
    from notifier.web.server import start_in_thread

    ctx, files = replay_ofac(make_ctx, real)
    import_counterparties(ctx)
    port = free_port()
    server = start_in_thread(ctx, "127.0.0.1", port)
    wait_for(lambda: server.started, 30, 0.05, "uvicorn to start")
    yield ctx, f"http://127.0.0.1:{port}", files
    server.should_exit = True


@pytest.fixture
def shots(request):
    folder = ARTIFACTS / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")

    def shot(page, name: str) -> Path:  # noqa: ANN001
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_analyst_finds_the_delisting_and_follows_it_to_the_record_timeline(site, browser, shots):
    _, base, files = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("tr", has_text="us_ofac_cons").locator("td.num").first.inner_text() == "442"
    assert page.locator("svg.chart rect").count() >= 1
    shots(page, "1-dashboard")

    page.get_by_role("link", name="Changes", exact=True).click()
    page.select_option("select[name=source]", "us_ofac_cons")
    page.select_option("select[name=change]", "removed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/changes?*source=us_ofac_cons*")
    assert "1 change event matching" in page.locator("p.meta").inner_text()
    shots(page, "2-changes-filtered")

    page.get_by_role("link", name="KAYAKIRAN, Evren").click()
    page.wait_for_url("**/changes/*")
    assert "Delisted: KAYAKIRAN, Evren" in page.locator("p.meta").first.inner_text()
    assert page.locator("a.download").count() == 1
    shots(page, "3-change-detail")
    with page.expect_download() as download:
        page.locator("a.download").click()
    assert Path(download.value.path()).read_bytes() == files[-1].read_bytes()  # the 2025-12-18 publication
    assert download.value.suggested_filename.endswith("CONSOLIDATED.XML")

    page.get_by_role("link", name="26182 — current state and timeline").click()
    page.wait_for_url("**/records/us_ofac_cons/26182")
    steps = page.locator("ol.timeline li span.chg").all_inner_texts()
    assert steps == ["listed", "removed"]
    shots(page, "4-record-timeline")
    assert not errors, errors  # nothing blocked by the Content-Security-Policy, no script errors


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_reviewer_signs_in_and_marks_a_watchlist_hit_false_positive(site, browser, shots):
    from notifier.web.auth import create_token

    ctx, base, _ = site
    token = create_token(ctx.engine, "rita", "reviewer")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/hits")
    assert page.get_by_role("button", name="False positive").count() == 0  # read-only until signed in
    page.locator("header").get_by_role("link", name="Sign in").click()
    page.fill("input[name=token]", token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    assert "rita (reviewer)" in page.locator("header .who").inner_text()
    page.goto(base + "/hits?status=open")
    first = page.locator("section.hit").first
    hit_id = first.get_attribute("id")
    first.locator("input[name=note]").fill("different date of birth")
    first.get_by_role("button", name="False positive").click()
    page.wait_for_url("**/hits#" + hit_id)
    reviewed = page.locator(f"section#{hit_id}")
    assert reviewed.locator(".badge").inner_text() == "false positive"
    assert "rita: false positive — different date of birth" in reviewed.locator("ul.reviews").inner_text()
    shots(page, "5-hit-false-positive")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_reviewer_accepts_a_quarantined_snapshot(make_ctx, browser, shots):
    from notifier.web.auth import create_token
    from notifier.web.server import start_in_thread
    from tests.test_web_quarantine import quarantined_ofac

    ctx, snap_id = quarantined_ofac(make_ctx)
    port = free_port()
    server = start_in_thread(ctx, "127.0.0.1", port)
    wait_for(lambda: server.started, 30, 0.05, "uvicorn to start")
    base = f"http://127.0.0.1:{port}"
    try:
        token = create_token(ctx.engine, "quinn", "reviewer")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        page.fill("input[name=token]", token)
        page.locator("main").get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        page.locator(f'a[href="/quarantine/{snap_id}"]').first.click()
        page.wait_for_url(f"**/quarantine/{snap_id}")
        assert "0 added, 1 removed" in page.locator("p.counts").inner_text()
        shots(page, "6-quarantined-snapshot")
        page.fill("textarea[name=reason]", "a real delisting, checked on the OFAC site")
        page.get_by_role("button", name="Accept: diff and alert").click()
        page.wait_for_url(f"**/quarantine/{snap_id}")
        assert "released" in page.locator("h1 .badge").inner_text()
        assert "quinn: accepted" in page.locator("ul.reviews").inner_text()
        shots(page, "7-quarantine-accepted")
        page.goto(base + "/changes?source=us_ofac_cons")
        assert "KAYAKIRAN, Evren" in page.locator("table.changes").inner_text()
    finally:
        server.should_exit = True
