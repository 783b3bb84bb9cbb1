"""Alerts a CLI command makes go out at once (not after the relay interval), and the CLI speaks one language.

Each command runs as a user runs it (a subprocess); a local webhook receiver stands in for the channel. The
alert must be there when the command has returned: the wait below is a condition wait with a short bound.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tests.conftest import REPO, real
from tests.support.receivers import WebhookReceiver
from tests.test_cli import run

CONS = "ofac/consolidated_xml"


@pytest.fixture
def workdir(tmp_path, hook):
    shutil.copytree(REPO / "config", tmp_path / "config")
    subs = {
        "subscribers": [
            {"name": "analysts", "channels": [{"url": hook.url("/analysts")}]},
            {"name": "ops", "tags": ["ops"], "channels": [{"url": hook.url("/ops")}]},
        ]
    }
    (tmp_path / "config" / "subscriptions.yaml").write_text(yaml.safe_dump(subs))
    return tmp_path


def _arrived(hook: WebhookReceiver, path: str, count: int = 1) -> list[dict]:
    hook.wait(count, timeout=1.0)  # the command has returned: the alert is there already (or within a second)
    return [m for m in hook.received if m["path"] == path]


def test_subscriptions_test_arrives_when_the_command_returns(workdir, hook):
    result = run(workdir, "subscriptions", "test", "analysts")
    assert result.returncode == 0, result.stderr
    [message] = _arrived(hook, "/analysts")
    assert message["title"] == "sanctions-notifier: test alert"


def test_the_watchlist_import_report_is_sent_by_the_command_itself(workdir, hook):
    baseline = run(workdir, "poll", "us_ofac_cons", "--url", str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML")))
    assert baseline.returncode == 0, baseline.stderr
    csv_file = workdir / "counterparties.csv"
    csv_file.write_text("name,country,reference\nEvren Kayakiran,TR,C-1\nAcme Trading Ltd,GB,C-2\n")
    result = run(workdir, "watchlist", "import", "analysts", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert "report: 1 sent" in result.stdout
    [report] = _arrived(hook, "/analysts")
    assert report["title"].startswith("Watchlist imported: 2 counterparties")


def test_a_quarantined_manual_poll_exits_3_and_its_ops_alert_is_already_sent(workdir, hook):
    first = run(workdir, "poll", "us_ofac_cons", "--url", str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML")))
    assert first.returncode == 0, first.stderr
    damaged = workdir / "cut.xml"  # the real file cut to a handful of records: the guard quarantines it
    text = real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_text(encoding="utf-8")
    entries = text.split("<sdnEntry>")
    damaged.write_text("<sdnEntry>".join(entries[:6]) + "</sdnList>\n", encoding="utf-8")
    result = run(workdir, "poll", "us_ofac_cons", "--url", str(damaged))
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert "quarantined" in result.stdout
    [alert] = _arrived(hook, "/ops")
    assert "quarantined" in alert["title"]
    assert not [m for m in hook.received if m["path"] == "/analysts"], "subscribers hear nothing"


def test_sources_prints_schedules_as_people_write_them_and_says_disabled_like_status(workdir):
    table = run(workdir, "sources", env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if "us_ofac_sdn" in x)
    assert " 5m " in f" {line} ".replace("│", " ")
    rows = {r["source"]: r for r in map(json.loads, run(workdir, "sources", "--json").stdout.splitlines())}
    assert rows["eu_fsf"]["enabled"] is False and rows["eu_fsf"]["status"] == "disabled"
    assert rows["un_sc"]["status"] == "never polled"
    status = json.loads(run(workdir, "status", "--json").stdout)
    by_source = {s["source"]: s for s in status["sources"]}
    assert by_source["eu_fsf"]["condition"] == "disabled"
