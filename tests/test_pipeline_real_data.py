"""The pipeline on real official snapshots: exactly the real changes, nothing from noise (order, headers)."""

from __future__ import annotations

import csv
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.store.models import Change, Record, Snapshot, SourceState
from tests.conftest import real

CONS = "ofac/consolidated_xml"


def changes_of(ctx, source: str) -> list[tuple[str, str]]:
    with Session(ctx.engine) as s:
        return [(c.change, c.key) for c in s.execute(select(Change).where(Change.source == source)).scalars()]


def test_ofac_consolidated_real_publications_give_exactly_the_one_real_removal(make_ctx):
    files = [real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"), real(f"{CONS}/2025-12-18_CONSOLIDATED.XML")]
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}})
    first = poll(ctx, "us_ofac_cons", {"main": str(files[0])})
    assert first.status == "accepted" and first.baseline and first.record_count == 443
    second = poll(ctx, "us_ofac_cons", {"main": str(files[1])})
    assert (second.added, second.removed, second.amended) == (0, 1, 0)
    assert changes_of(ctx, "us_ofac_cons") == [("removed", "26182")]
    [removal] = second.changes
    assert removal.name and removal.before["key"] == "26182" and removal.after is None


def test_same_publication_downloaded_again_with_reordered_children_makes_no_event(make_ctx):
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}})
    poll(ctx, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML"))})
    again = poll(ctx, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_downloaded-again_CONSOLIDATED.XML"))})
    assert again.status == "accepted" and (again.added, again.removed, again.amended) == (0, 0, 0)
    assert changes_of(ctx, "us_ofac_cons") == []


def test_un_daily_regeneration_is_no_event_and_the_real_removal_is_one(make_ctx):
    ctx = make_ctx({"un_sc": {"url": "unused"}})
    poll(ctx, "un_sc", {"main": str(real("un/2025-12-09_consolidated.xml"))})
    result = poll(ctx, "un_sc", {"main": str(real("un/2025-12-10_consolidated.xml"))})
    assert (result.added, result.removed, result.amended) == (0, 1, 0)
    assert changes_of(ctx, "un_sc") == [("removed", "6908121")]


def _raw_sdn(path) -> dict[str, list[str]]:
    with open(path, encoding="latin-1", newline="") as fh:
        return {row[0]: row for row in csv.reader(fh) if len(row) == 12}


def _expected(old_path, new_path) -> tuple[set, set, set]:
    old, new = _raw_sdn(old_path), _raw_sdn(new_path)
    return set(new) - set(old), set(old) - set(new), {k for k in set(old) & set(new) if old[k] != new[k]}


def test_sdn_csv_publications_give_the_added_removed_and_amended_sets_of_the_files(make_ctx):
    paths = [real(f"ofac/sdn_csv/{d}_sdn.csv") for d in ("2024-02-20", "2024-02-23", "2024-05-03")]
    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}})
    poll(ctx, "us_ofac_sdn", {"main": str(paths[0])})
    for old, new, counts in ((paths[0], paths[1], (553, 0, 8)), (paths[1], paths[2], (587, 106, 31))):
        result = poll(ctx, "us_ofac_sdn", {"main": str(new)})
        assert (result.added, result.removed, result.amended) == counts
        added, removed, amended = _expected(old, new)
        got = {kind: {c.key for c in result.changes if c.change == kind} for kind in ("added", "removed", "amended")}
        assert got == {"added": added, "removed": removed, "amended": amended}
        for change in result.changes:
            if change.change == "amended":
                assert change.fields, f"amendment of {change.key} says which fields changed"


def test_csv_set_merges_aliases_and_addresses_onto_their_records(make_ctx):
    folder = "ofac/csv_sets/2023-12-28"
    parts = {p: str(real(f"{folder}/{p}.csv")) for p in ("sdn", "alt", "add")}
    ctx = make_ctx({"us_ofac_sdn": {"url": parts["sdn"], "parts": {"alt": parts["alt"], "add": parts["add"]}}})
    result = poll(ctx, "us_ofac_sdn")
    assert result.status == "accepted" and result.record_count == 13821
    with Session(ctx.engine) as s:
        cuba = json.loads(s.get(Record, ("us_ofac_sdn", "36")).payload)
        bnc = json.loads(s.get(Record, ("us_ofac_sdn", "306")).payload)
    assert "AERO-CARIBBEAN" in cuba["aliases"]
    assert any("Havana" in a for a in cuba["addresses"]) and "Cuba" in cuba["countries"]
    assert "NATIONAL BANK OF CUBA" in bnc["aliases"]
    assert any("Zurich" in a for a in bnc["addresses"])


def test_failure_samples_are_quarantined_and_the_next_good_snapshot_diffs_against_the_last_accepted(make_ctx, tmp_path):
    good_old = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML")
    good_new = real(f"{CONS}/2025-12-18_CONSOLIDATED.XML")
    failures = sorted(real("failures").iterdir())
    truncated = tmp_path / "truncated.xml"
    data = good_new.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}})
    poll(ctx, "us_ofac_cons", {"main": str(good_old)})
    reasons = {}
    for bad in [*failures, truncated]:
        result = poll(ctx, "us_ofac_cons", {"main": str(bad)})
        assert result.status == "quarantined", bad.name
        reasons[bad.name] = result.reason
    assert "empty" in reasons["ofac_sdn_csv_empty_download_2024-05-04.csv"]
    assert "HTML" in reasons["eu_csv_got_html_page.html"]
    assert "not parseable" in reasons["eu_fsf_http500_2026-02-08.json"]
    assert "not parseable" in reasons["truncated.xml"]
    assert changes_of(ctx, "us_ofac_cons") == []
    result = poll(ctx, "us_ofac_cons", {"main": str(good_new)})
    assert changes_of(ctx, "us_ofac_cons") == [("removed", "26182")]
    with Session(ctx.engine) as s:
        statuses = [sn.status for sn in s.execute(select(Snapshot).order_by(Snapshot.id)).scalars()]
        state = s.get(SourceState, "us_ofac_cons")
    assert statuses == ["accepted"] + ["quarantined"] * (len(failures) + 1) + ["accepted"]
    assert state.record_count == 442 and state.consecutive_failures == 0


def test_a_drop_of_half_the_records_is_quarantined_not_a_mass_delisting(make_ctx, tmp_path):
    src = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_text(encoding="utf-8")
    head, _, rest = src.partition("<sdnEntry>")
    entries = ("<sdnEntry>" + rest).split("</sdnEntry>")
    half = tmp_path / "half.xml"
    half.write_text(head + "</sdnEntry>".join(entries[: len(entries) // 2]) + "</sdnEntry>\n</sdnList>\n")
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}})
    poll(ctx, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
    result = poll(ctx, "us_ofac_cons", {"main": str(half)})
    assert result.status == "quarantined" and "drop of 50%" in result.reason
    assert changes_of(ctx, "us_ofac_cons") == []
