"""Every adapter, polled the way the service polls it: its sample served over HTTP on 127.0.0.1, through the
whole pipeline (fetch, guard, parse, diff, store), on SQLite and PostgreSQL.

Real published samples where ../shared/data/real has them (pairs of versions give their known changes),
each adapter's contract fixture otherwise; the real failure downloads are quarantined by every source whose
format they pretend to be. Also: ${VAR} and {date} in source URLs, and config/sources.yaml as shipped.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier import config as config_module
from notifier.errors import ConfigError
from notifier.ingest.pipeline import poll
from notifier.ingest.registry import adapters
from notifier.ops.logs import KeyValueFormatter
from notifier.store.models import Change, Snapshot, SourceState
from tests.conftest import REPO, real
from tests.support.http import LocalServer
from tests.test_adapter_contract import load_fixture

ADAPTERS = adapters()
CONTENT_TYPES = {
    ".xml": "application/xml",
    ".csv": "text/csv",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def serve_version(server: LocalServer, source: str, files: dict[str, Path]) -> dict[str, str]:
    """Publish one version of a source, one route per part that stays put across versions (as publishers do)."""
    return {
        part: server.serve(
            f"/{source}/{part}", path.read_bytes(), content_type=CONTENT_TYPES.get(path.suffix.lower(), "text/plain")
        )
        for part, path in files.items()
    }


def source_entry(adapter: str, urls: dict[str, str], options: dict | None = None, guard: dict | None = None) -> dict:
    entry = {"adapter": adapter, "url": urls["main"], "options": options or {}, "guard": guard or {}}
    if len(urls) > 1:
        entry["parts"] = {p: u for p, u in urls.items() if p != "main"}
    return entry


def changes_of(ctx, source: str) -> list[Change]:
    with Session(ctx.engine) as s:
        return list(s.execute(select(Change).where(Change.source == source)).scalars())


def stored_count(ctx, source: str) -> int:
    with Session(ctx.engine) as s:
        return s.get(SourceState, source).record_count


# --- every adapter: its contract fixture, served ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_adapter_polls_its_served_fixture_into_exactly_the_records_it_parses(make_ctx, name):
    spec = load_fixture(name)
    parsed = list(ADAPTERS[name](spec.get("options", {})).parse(spec["paths"]))
    with LocalServer() as server:
        urls = serve_version(server, name, spec["paths"])
        ctx = make_ctx({name: source_entry(name, urls, spec.get("options"))})
        result = poll(ctx, name)
    assert (result.status, result.baseline) == ("accepted", True), result.reason
    assert result.record_count == len(parsed) == stored_count(ctx, name)
    assert {path for path, _ in server.requests} == {f"/{name}/{part}" for part in spec["paths"]}


# --- real published samples, served ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Versions of one source, polled in order; `changes` are what the last poll must report."""

    source: str
    versions: tuple[dict[str, str], ...]  # part -> file under ../shared/data/real (or tests/fixtures/...)
    counts: tuple[int, ...]
    changes: dict[str, set[str] | int] = field(default_factory=dict)  # added / removed / amended: keys or a count
    options: dict = field(default_factory=dict)
    guard: dict = field(default_factory=dict)
    adapter: str | None = None

    def path(self, rel: str) -> Path:
        return REPO / rel if rel.startswith("tests/") else real(rel)


OFAC_SET = "ofac/csv_sets/2023-12-28"
PARTIES = "jp/meti_export_ban_parties/meti_list_{}_tokutei_{}.txt"
PARTIES_OLD, PARTIES_NEW = "2025-07-25_f7184a2e2", "2025-09-12_926dd5660"
# Checked by hand in tests/test_source_jp_meti_eul.py: entries gone from the End User List between 2025-01 and 2025-09.
EUL_REMOVED = {
    "india:directorate-of-purchase-and-stores-dae",
    "islamic-republic-of-iran:sho-a-aviation",
    "islamic-republic-of-iran:special-industries-group-sig",
    "islamic-republic-of-pakistan:link-lines-pvt-ltd",
    "people-s-republic-of-china:academy-of-military-medical-sciences-institute-of-microbiology-and-epidemiology"
    "-軍事医学研究院微生物流行病研究所",
    "people-s-republic-of-china:beijing-starneto-technology-co-ltd",
    "people-s-republic-of-china:dandong-rich-earth-trading-co-ltd",
    "people-s-republic-of-china:mingzheng-international-trading-limited",
    "people-s-republic-of-china:northwestern-polytechnical-university-西北工業大学",
    "russian-federation:severniy-press-jsc",
}
FR_AGENCIES = ["foreign-assets-control-office", "industry-and-security-bureau"]

SINGLE = [
    Sample(
        "us_ofac_sdn",
        ({p: f"{OFAC_SET}/{f}.csv" for p, f in (("main", "sdn"), ("alt", "alt"), ("add", "add"))},),
        (13821,),
    ),
    Sample("us_ofac_sdn", ({"main": "ofac/sdn_xml/excerpt_2026-08-07_SDN.XML"},), (5,)),
    Sample("gb_fcdo", ({"main": "uk/hmt_consolidated_2014-04-02_ConList.csv"},), (2297,)),
    Sample("ch_seco", ({"main": "ch/excerpt_2026-08-15_targets.xml"},), (4,)),
    Sample("ca_sema", ({"main": "ca/2020-04-15_sema-lmes_old_schema.xml"},), (1369,)),
    Sample("au_dfat", ({"main": "au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx"},), (3811,)),
    Sample("jp_mof", ({"main": "jp/mof_shisantouketsu20260305.xlsx"},), (2862,)),
    Sample("jp_mof", ({"main": "jp/mof_shisantouketsu20260828_excerpt.csv"},), (3,)),
    Sample(
        "jp_meti_parties_belarus",
        ({"main": PARTIES.format("belarus", PARTIES_OLD)},),
        (27,),
        options={"list": "belarus"},
        adapter="jp_meti_parties",
    ),
    Sample("us_csl", ({"main": "csl/excerpt_2025-06_consolidated.csv"},), (13,)),
    Sample("us_csl", ({"main": "csl/2019_csl_old_format.csv"},), (115,)),
    Sample("jp_etco", ({"main": "export_control/jp_export_trade_control_order_2026-02-14.xml"},), (81,)),
    Sample(
        "federal_register",
        ({"main": "feeds/federal_register_api_documents_2024-01-02_to_01-17.json"},),
        (8,),
        options={"agencies": FR_AGENCIES},
    ),
]

PAIRS = [
    Sample(
        "us_ofac_sdn",
        ({"main": "ofac/sdn_csv/2024-02-20_sdn.csv"}, {"main": "ofac/sdn_csv/2024-02-23_sdn.csv"}),
        (13931, 14484),
        {"added": 553, "removed": 0, "amended": 8},
    ),
    Sample(
        "us_ofac_cons",
        (
            {"main": "ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"},
            {"main": "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML"},
        ),
        (443, 442),
        {"added": set(), "removed": {"26182"}, "amended": set()},
    ),
    Sample(
        "us_ofac_cons",
        (
            {"main": "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML"},
            {"main": "ofac/consolidated_xml/2025-12-18_downloaded-again_CONSOLIDATED.XML"},
        ),
        (442, 442),
        {"added": set(), "removed": set(), "amended": set()},
    ),
    Sample(
        "un_sc",
        ({"main": "un/2025-12-09_consolidated.xml"}, {"main": "un/2025-12-10_consolidated.xml"}),
        (1000, 999),
        {"added": set(), "removed": {"6908121"}, "amended": set()},
    ),
    Sample(
        "eu_fsf",
        (
            {"main": "eu/excerpt_2026-08-05_a_xmlFullSanctionsList_1_1.xml"},
            {"main": "eu/excerpt_2026-08-05_b_xmlFullSanctionsList_1_1.xml"},
        ),
        (5, 5),
        {"added": {"521", "3822", "6106", "6177"}, "removed": {"13", "330", "980", "999999"}, "amended": set()},
        guard={"max_drop": 1.0},  # two excerpts with other entities, not two publications: 4 of 5 removed
    ),
    # The UK list as XML, then as CSV (told apart by content): the CSV excerpt holds one other designation.
    Sample(
        "gb_fcdo",
        (
            {"main": "uk/excerpt_2026-08-14_UK-Sanctions-List.xml"},
            {"main": "uk/excerpt_2026-10-08_UK-Sanctions-List.csv"},
        ),
        (4, 1),
        {"added": {"RUS2176"}, "removed": {"AFG0011", "AQD0128", "AQD0377", "DPR0075"}, "amended": set()},
        guard={"max_drop": 1.0},
    ),
    Sample(
        "jp_meti_parties_russia",
        ({"main": PARTIES.format("russia", PARTIES_OLD)}, {"main": PARTIES.format("russia", PARTIES_NEW)}),
        (559, 561),
        {"added": {"russia-560", "russia-561"}, "removed": set(), "amended": set()},
        options={"list": "russia"},
        adapter="jp_meti_parties",
    ),
    Sample(
        "jp_meti_parties_third",
        ({"main": PARTIES.format("daisangoku", PARTIES_OLD)}, {"main": PARTIES.format("daisangoku", PARTIES_NEW)}),
        (47, 56),
        {"added": {f"third-country-{n}" for n in range(48, 57)}, "removed": set(), "amended": set()},
        options={"list": "third-country"},
        adapter="jp_meti_parties",
    ),
    # METI's HTML rendering of 2025-01, then the XLSX of 2025-09: the real additions and deletions, no mass change.
    Sample(
        "jp_meti_eul",
        ({"main": "jp/meti_end_user_list_2025-01-31.html"}, {"main": "jp/meti_end_user_list_2025-09-29.xlsx"}),
        (748, 835),
        {"added": 97, "removed": EUL_REMOVED},
    ),
    # Fixture pairs (no real version pair published in a machine-readable form).
    Sample(
        "us_bis_ecfr",
        (
            {"main": "tests/fixtures/us_bis_ecfr/part746_2024-01-01.xml"},
            {"main": "tests/fixtures/us_bis_ecfr/part746_2024-06-01.xml"},
        ),
        (7, 7),
        {"added": {"4|8479.89"}, "removed": {"5|2203.00"}, "amended": set()},
    ),
    Sample(
        "jp_meti_goods",
        (
            {"main": "tests/fixtures/jp_meti_goods/russia_export_ban_goods_2022-05-20.csv"},
            {"main": "tests/fixtures/jp_meti_goods/russia_export_ban_goods_2023-02-03.csv"},
        ),
        (5, 10),
        {"added": {"280110", "290511", "291411", "290121", "282890"}, "removed": set(), "amended": set()},
    ),
]


def poll_versions(make_ctx, sample: Sample) -> list:
    adapter = sample.adapter or sample.source
    results = []
    with LocalServer() as server:
        ctx = None
        for files in sample.versions:
            urls = serve_version(server, sample.source, {p: sample.path(rel) for p, rel in files.items()})
            if ctx is None:
                ctx = make_ctx({sample.source: source_entry(adapter, urls, sample.options, sample.guard)})
            results.append(poll(ctx, sample.source))
    return ctx, results


def sample_id(sample: Sample) -> str:
    return f"{sample.source}:{Path(next(iter(sample.versions[-1].values()))).name}"


@pytest.mark.parametrize("sample", SINGLE, ids=sample_id)
def test_real_sample_served_is_accepted_with_its_known_record_count(make_ctx, sample):
    ctx, [result] = poll_versions(make_ctx, sample)
    assert (result.status, result.baseline) == ("accepted", True), result.reason
    assert result.record_count == sample.counts[0] == stored_count(ctx, sample.source)


@pytest.mark.parametrize("sample", PAIRS, ids=sample_id)
def test_two_served_versions_give_exactly_the_known_changes(make_ctx, sample):
    ctx, results = poll_versions(make_ctx, sample)
    assert [r.status for r in results] == ["accepted"] * len(results), [r.reason for r in results]
    assert tuple(r.record_count for r in results) == sample.counts
    last = results[-1]
    for kind, expected in sample.changes.items():
        keys = {c.key for c in last.changes if c.change == kind}
        assert (keys if isinstance(expected, set) else len(keys)) == expected, kind
    stored = {(c.change, c.key) for c in changes_of(ctx, sample.source)}
    assert stored == {(c.change, c.key) for c in last.changes}, "the first poll is a baseline: no events"
    assert all(c.fields for c in last.changes if c.change == "amended"), "amendments say which fields changed"


# --- real failure downloads, served ----------------------------------------------------------------------------

EMPTY = "ofac_sdn_csv_empty_download_2024-05-04.csv"
HTML_FOR_CSV = "eu_csv_got_html_page.html"
EU_FAILURES = ("eu_fsf_http500_2021-02-09.html", "eu_fsf_http500_2021-11-04.json", "eu_fsf_http500_2026-02-08.json")


def failures_for(name: str) -> dict[str, str]:
    """The failure samples that pretend to be this adapter's format, with a word the quarantine reason says."""
    cases = {EMPTY: "empty download"}
    if "csv" in ADAPTERS[name].formats:
        cases[HTML_FOR_CSV] = "HTML"
    if name == "eu_fsf":
        cases.update({EU_FAILURES[0]: "HTML", EU_FAILURES[1]: "not parseable", EU_FAILURES[2]: "not parseable"})
    return cases


def test_every_failure_sample_is_claimed_by_some_source():
    claimed = {f for name in ADAPTERS for f in failures_for(name)}
    assert claimed == {p.name for p in real("failures").iterdir()}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_real_failure_downloads_are_quarantined_and_the_stored_state_is_untouched(make_ctx, name):
    spec = load_fixture(name)
    with LocalServer() as server:
        urls = serve_version(server, name, spec["paths"])
        ctx = make_ctx({name: source_entry(name, urls, spec.get("options"))})
        baseline = poll(ctx, name)
        assert baseline.status == "accepted", baseline.reason
        for failure, reason in failures_for(name).items():
            serve_version(server, name, {"main": real(f"failures/{failure}")})
            result = poll(ctx, name)
            assert result.status == "quarantined" and reason in result.reason, (failure, result.reason)
            assert stored_count(ctx, name) == baseline.record_count
        assert changes_of(ctx, name) == []
        serve_version(server, name, {"main": spec["paths"]["main"]})
        assert poll(ctx, name).status == "unchanged", "the good list again is the last accepted one"
    with Session(ctx.engine) as s:
        statuses = [sn.status for sn in s.execute(select(Snapshot).order_by(Snapshot.id)).scalars()]
    assert statuses == ["accepted"] + ["quarantined"] * len(failures_for(name)) + ["unchanged"]


# --- placeholders in source URLs -------------------------------------------------------------------------------

XML = "ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"


def test_date_placeholder_is_todays_utc_date(make_ctx, monkeypatch):
    monkeypatch.setattr(config_module, "utcnow", lambda: datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    with LocalServer() as server:
        server.serve("/versioner/2026-03-01/list.xml", real(XML).read_bytes())
        ctx = make_ctx({"us_ofac_cons": {"url": server.url("/versioner/{date}/list.xml")}})
        result = poll(ctx, "us_ofac_cons")
    assert result.status == "accepted" and result.record_count == 443
    assert [path for path, _ in server.requests] == ["/versioner/2026-03-01/list.xml"]


def test_environment_placeholder_is_filled_in_and_never_stored_or_logged(make_ctx, monkeypatch, caplog):
    secret = "k3y-for-the-test-81f0"
    monkeypatch.setenv("NOTIFIER_TEST_FEED_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with LocalServer() as server:
        server.serve(f"/feeds/{secret}/list.xml", b"<html><body>Service unavailable</body></html>")
        ctx = make_ctx({"us_ofac_cons": {"url": server.url("/feeds/${NOTIFIER_TEST_FEED_KEY}/list.xml")}})
        refused = poll(ctx, "us_ofac_cons")  # a quarantine reason and a log line both mention the part
        server.serve(f"/feeds/{secret}/list.xml", real(XML).read_bytes())
        result = poll(ctx, "us_ofac_cons")
    assert refused.status == "quarantined" and result.status == "accepted" and result.record_count == 443
    assert [path for path, _ in server.requests] == [f"/feeds/{secret}/list.xml"] * 2
    with Session(ctx.engine) as s:
        snapshots = list(s.execute(select(Snapshot).order_by(Snapshot.id)).scalars())
        stored = [json.dumps([sn.parts, sn.reason]) for sn in snapshots] + [
            s.get(SourceState, "us_ofac_cons").validators
        ]
    logged = [KeyValueFormatter().format(record) for record in caplog.records]  # what the service's handler writes
    assert any("/feeds/" in line for line in logged), "urllib3 logs the request line at DEBUG"
    assert secret not in "\n".join(stored + logged)
    assert json.loads(snapshots[-1].parts)["main"]["url"] == "***"


def test_a_missing_variable_of_an_enabled_source_fails_at_start_naming_file_source_and_key(make_ctx, monkeypatch):
    monkeypatch.delenv("NOTIFIER_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError) as err:
        make_ctx(
            {
                "us_ofac_sdn": {
                    "url": "https://example.org/sdn.csv",
                    "parts": {"alt": "https://x.org/a?t=${NOTIFIER_TEST_TOKEN}"},
                }
            }
        )
    assert "sources.yaml: sources.us_ofac_sdn.parts.alt: environment variable NOTIFIER_TEST_TOKEN is not set" in str(
        err.value
    )


def test_a_disabled_source_without_its_variable_loads_and_fails_only_when_polled(make_ctx, monkeypatch):
    monkeypatch.delenv("NOTIFIER_TEST_TOKEN", raising=False)
    ctx = make_ctx({"eu_fsf": {"url": "https://example.org/fsf?token=${NOTIFIER_TEST_TOKEN}", "enabled": False}})
    with pytest.raises(ConfigError, match=r"sources.eu_fsf.url: environment variable NOTIFIER_TEST_TOKEN is not set"):
        poll(ctx, "eu_fsf")
    fixture = load_fixture("eu_fsf")["paths"]["main"]
    assert poll(ctx, "eu_fsf", {"main": str(fixture)}).status == "accepted", "--url needs no token"


# --- config/sources.yaml as shipped ----------------------------------------------------------------------------

SHIPPED = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))["sources"]


def test_shipped_sources_cover_every_adapter_with_a_title_and_an_official_url():
    used = {body.get("adapter", sid) for sid, body in SHIPPED.items()}
    ours = {name for name, cls in ADAPTERS.items() if cls.__module__.startswith("sources.")}
    assert ours <= used <= set(ADAPTERS), "every adapter of this repo has its entry in config/sources.yaml"
    for sid, body in SHIPPED.items():
        assert body.get("title"), f"{sid}: a short title for alerts"
        assert body["url"].startswith("https://"), sid


def test_shipped_enabled_sources_poll_data_files_that_need_nothing_filled_in():
    """A fresh machine polls only what can work: no token or date to fill in; a landing page only with the rule
    that finds its file there (tests/test_discovery_served.py polls those through served copies)."""
    for sid, body in SHIPPED.items():
        if body.get("enabled", True):
            url = body["url"]
            assert "${" not in url and "{date}" not in url, sid
            assert body.get("discover") or not url.split("?")[0].endswith((".html", ".htm", ".pdf")), sid
    enabled = {sid for sid, body in SHIPPED.items() if body.get("enabled", True)}
    assert {"jp_mof", "jp_meti_eul", "us_bis_ecfr"} <= enabled
    assert {sid for sid in SHIPPED if sid.startswith("jp_meti_parties_")} <= enabled
    assert "eu_fsf" not in enabled, "the EU FSF stays behind its token"


def test_notifier_sources_lists_every_shipped_source_with_its_url(tmp_path):
    (tmp_path / "config").mkdir()
    for name in ("sources.yaml", "subscriptions.yaml"):
        (tmp_path / "config" / name).write_bytes((REPO / "config" / name).read_bytes())
    notifier = Path(sys.executable).parent / "notifier"
    env = {**os.environ, "NOTIFIER_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    env.pop("EU_FSF_TOKEN", None)
    table = subprocess.run([str(notifier), "sources"], cwd=tmp_path, capture_output=True, text=True, env=env)
    listing = subprocess.run(
        [str(notifier), "sources", "--json"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert table.returncode == listing.returncode == 0, table.stderr + listing.stderr
    rows = {r["source"]: r for r in map(json.loads, listing.stdout.splitlines())}
    assert set(rows) == set(SHIPPED)
    for sid, body in SHIPPED.items():
        assert sid in table.stdout
        assert rows[sid]["enabled"] == body.get("enabled", True)
        written = body["url"].replace("${EU_FSF_TOKEN}", "***")
        assert rows[sid]["url"] == written, sid
    assert rows["eu_fsf"]["url"].endswith("token=***")
