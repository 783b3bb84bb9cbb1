"""The `notifier` command as a user runs it: a subprocess in a fresh folder, output read from its streams."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, real

CONS = "ofac/consolidated_xml"
NOTIFIER = Path(sys.executable).parent / "notifier"


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "NOTIFIER_LOG_LEVEL": "WARNING", **(env or {})}
    return subprocess.run([str(NOTIFIER), *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=120)


@pytest.fixture
def workdir(tmp_path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


def test_replay_then_changes_json_shows_the_one_real_removal(workdir):
    files = [
        str(real(f"{CONS}/{n}"))
        for n in (
            "2025-10-22_CONSOLIDATED.XML",
            "2025-12-18_CONSOLIDATED.XML",
            "2025-12-18_downloaded-again_CONSOLIDATED.XML",
        )
    ]
    replay = run(workdir, "replay", "us_ofac_cons", *files)
    assert replay.returncode == 0, replay.stderr
    lines = replay.stdout.strip().splitlines()
    assert lines[0].endswith("baseline: 443 records stored (the first snapshot makes no change events)")
    assert "0 added, 1 removed, 0 amended" in lines[1] and "0 added, 0 removed, 0 amended" in lines[2]
    out = run(workdir, "changes", "--json")
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["source"], e["key"], e["change"]) for e in events] == [("us_ofac_cons", "26182", "removed")]
    assert events[0]["name"] == "KAYAKIRAN, Evren" and events[0]["snapshot_time"]
    assert events[0]["published_on"] == "2025-12-18", "the publication's own date (Publish_Date), not the replay's"
    assert (workdir / "data" / "notifier.db").exists(), "SQLite in the data folder is the default"


def test_poll_prints_what_happened_and_sources_lists_the_state(workdir):
    path = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML")
    first = run(workdir, "poll", "us_ofac_cons", "--url", str(path))
    assert first.returncode == 0 and "baseline: 443 records" in first.stdout
    again = run(workdir, "poll", "us_ofac_cons", "--url", path.as_uri())
    assert "unchanged (same sha256)" in again.stdout
    listing = run(workdir, "sources", "--json")
    rows = {r["source"]: r for r in map(json.loads, listing.stdout.splitlines())}
    assert rows["us_ofac_cons"]["records"] == 443 and rows["us_ofac_cons"]["status"] == "unchanged"
    assert rows["un_sc"]["status"] == "never polled"
    assert rows["us_ofac_sdn"]["url"].startswith("https://sanctionslistservice.ofac.treas.gov/")


@pytest.mark.parametrize(
    "args, message",
    [
        (("poll", "nope"), "unknown source 'nope'"),
        (("replay", "us_ofac_cons", "/no/such/file.xml"), "/no/such/file.xml: no such file"),
        (("changes", "--since", "yesterday"), "--since 'yesterday'"),
        (("changes", "--source", "nope"), "unknown source 'nope'"),
    ],
)
def test_user_errors_are_one_line_on_stderr_with_a_non_zero_exit(workdir, args, message):
    result = run(workdir, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_broken_config_names_the_file_the_key_and_the_fix(workdir):
    (workdir / "config" / "sources.yaml").write_text("sources:\n  un_sc:\n    url: x\n    schedul: 5m\n")
    result = run(workdir, "sources")
    assert result.returncode == 2
    assert "config/sources.yaml: sources.un_sc.schedul: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_environment_setting_names_the_variable(workdir):
    result = run(workdir, "sources", env={"NOTIFIER_READ_TIMEOUT": "soon"})
    assert result.returncode == 2 and "NOTIFIER_READ_TIMEOUT" in result.stderr


def test_replay_stops_at_a_quarantined_snapshot_and_exits_3(workdir):
    files = [
        str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML")),
        str(real("failures/eu_csv_got_html_page.html")),
        str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML")),
    ]
    replay = run(workdir, "replay", "us_ofac_cons", *files)
    assert replay.returncode == 3, (replay.stdout, replay.stderr)
    lines = replay.stdout.strip().splitlines()
    assert len(lines) == 2 and "baseline: 443 records" in lines[0] and "quarantined: " in lines[1]
    assert run(workdir, "changes", "--json").stdout.strip() == "", "nothing replayed after the quarantine"
