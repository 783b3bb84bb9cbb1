"""`notifier quarantine` and the quarantine in `notifier sources`, as an operator runs them (subprocesses)."""

from __future__ import annotations

import json

from tests.conftest import real
from tests.support import hostile
from tests.test_cli import run, workdir  # noqa: F401 - the fixture

CONS = "ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"


def test_an_operator_sees_why_reviews_and_rejects_a_quarantined_snapshot(workdir):  # noqa: F811
    good = real(CONS)
    assert run(workdir, "poll", "us_ofac_cons", "--url", str(good)).returncode == 0
    broken = workdir / "renamed.xml"
    broken.write_bytes(hostile.rename_element(good.read_bytes(), b"program", b"sanctionsProgram"))
    held = run(workdir, "poll", "us_ofac_cons", "--url", str(broken))
    assert held.returncode == 3 and "quarantined: format change: field 'programs'" in held.stdout, held.stdout

    listing = run(workdir, "quarantine", "list", "--json")
    [row] = [json.loads(line) for line in listing.stdout.splitlines()]
    snap = row["id"]
    assert row["source"] == "us_ofac_cons" and "format change" in row["reason"]

    shown = run(workdir, "quarantine", "show", str(snap))
    assert shown.returncode == 0, shown.stderr
    assert "accepting it now would make: 0 added, 0 removed, 443 amended" in shown.stdout
    assert "programs: +[] -['NS-PLC']" in shown.stdout or "programs:" in shown.stdout
    assert f"notifier quarantine accept {snap}" in shown.stdout

    sources = {r["source"]: r for r in map(json.loads, run(workdir, "sources", "--json").stdout.splitlines())}
    [pending] = sources["us_ofac_cons"]["quarantined"]
    assert pending["snapshot"] == snap and pending["review"] == f"notifier quarantine show {snap}"
    assert "format change" in pending["reason"]
    table = run(workdir, "sources", env={"COLUMNS": "400"}).stdout  # wide enough not to fold the command
    assert f"notifier quarantine show {snap}" in table

    no_reason = run(workdir, "quarantine", "reject", str(snap))
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    rejected = run(workdir, "quarantine", "reject", str(snap), "--reason", "a broken export", "--actor", "tester")
    assert rejected.returncode == 0 and "rejected" in rejected.stdout, rejected.stderr
    decided = run(workdir, "quarantine", "show", str(snap))
    assert "rejected by tester" in decided.stdout and "a broken export" in decided.stdout
    again = run(workdir, "quarantine", "accept", str(snap), "--reason", "changed my mind")
    assert again.returncode == 2 and "rejected, not quarantined" in again.stderr
    assert run(workdir, "quarantine", "list").stdout.strip() == "no quarantined snapshot awaits a decision"


def test_poll_parts_are_checked_before_anything_is_fetched(workdir):  # noqa: F811
    bad = run(workdir, "poll", "us_ofac_sdn", "--part", "alt=alt.csv")
    assert bad.returncode == 2 and "--part needs --url" in bad.stderr
    unknown = run(workdir, "poll", "us_ofac_sdn", "--url", "sdn.csv", "--part", "aliases=alt.csv")
    assert unknown.returncode == 2 and "takes the parts alt, add, comments" in unknown.stderr
