"""Hostile inputs made from the real publications: every broken download is quarantined, alerts nobody but ops
(once per content), and the next good publication gives exactly its real changes.

The damaged files are built here from ../shared/data/real (tests/support/hostile.py), the way real downloads
break: columns swapped, records re-keyed, files cut at several fractions with and without the end byte, an old
publication served again, letters lost to '?' or U+FFFD, an element renamed, one part of a set truncated, a
manual poll of one part of a multi-part source. SQLite throughout (the sequences parse 15,000-record files many
times); the review flow runs once on PostgreSQL too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.ingest.quarantine import ReviewError, accept, describe, list_quarantined, reject
from notifier.store.models import Change, Delivery, QuarantineDecision, Snapshot
from tests.conftest import real
from tests.support import hostile

SDN = "ofac/sdn_csv/{}_sdn.csv"
CONS = "ofac/consolidated_xml/{}_CONSOLIDATED.XML"
SUBS = {
    "subscribers": [
        {"name": "analysts", "channels": [{"url": "json://127.0.0.1:9/analysts"}]},
        {"name": "ops", "tags": ["ops"], "channels": [{"url": "json://127.0.0.1:9/ops"}]},
    ]
}


@pytest.fixture
def db_url(request, tmp_path):
    """SQLite unless a test asks for PostgreSQL (the review flow does), see the module docstring."""
    if getattr(request, "param", "sqlite") == "postgres":
        yield request.getfixturevalue("pg_url")
        return
    yield f"sqlite:///{tmp_path / 'notifier.db'}"
    from notifier.store.db import dispose_engines

    dispose_engines()


class Ledger:
    """What subscribers and ops were sent, and what change events exist, for one source."""

    def __init__(self, ctx, source: str) -> None:
        self.ctx, self.source = ctx, source

    def events(self) -> list[tuple[str, str]]:
        with Session(self.ctx.engine) as s:
            rows = s.execute(select(Change.change, Change.key).where(Change.source == self.source)).all()
        return sorted((c, k) for c, k in rows)

    def deliveries(self, ops: bool) -> int:
        with Session(self.ctx.engine) as s:
            stmt = select(func.count()).select_from(Delivery).where(Delivery.subscriber == ("ops" if ops else
                                                                                           "analysts"))
            return s.scalar(stmt) or 0

    def ops_bodies(self) -> list[str]:
        with Session(self.ctx.engine) as s:
            return [b or "" for b in s.execute(select(Delivery.body).where(Delivery.subscriber == "ops")).scalars()]


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def assert_quarantined_silently(ctx, ledger: Ledger, source: str, main: str, why: str, urls: dict | None = None):
    before = (ledger.events(), ledger.deliveries(ops=False), ledger.deliveries(ops=True))
    result = poll(ctx, source, {"main": main, **(urls or {})})
    assert result.status == "quarantined", f"{Path(main).name}: {result.summary()}"
    assert why in result.reason, result.reason
    assert ledger.events() == before[0], "no change event"
    assert ledger.deliveries(ops=False) == before[1], "no subscriber message"
    assert ledger.deliveries(ops=True) == before[2] + 1, "one ops alert"
    return result


def test_sdn_csv_broken_downloads_alert_nobody_and_the_next_publication_gives_its_real_changes(make_ctx, tmp_path):
    a, b, c = (real(SDN.format(d)) for d in ("2024-02-20", "2024-02-23", "2024-05-03"))
    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}}, SUBS)
    ledger = Ledger(ctx, "us_ofac_sdn")
    assert poll(ctx, "us_ofac_sdn", {"main": str(a)}).baseline
    good = poll(ctx, "us_ofac_sdn", {"main": str(b)})
    assert (good.status, good.added, good.removed, good.amended) == ("accepted", 553, 0, 8)
    known = ledger.events()
    data = b.read_bytes()
    cases = [
        ("swap-type-program.csv", hostile.swap_columns(data, 2, 3), "format change"),
        ("swap-title-remarks.csv", hostile.swap_columns(data, 4, 11), "format change"),
        ("rekeyed.csv", hostile.rekey_csv(data, 100000), "renumbered"),
        ("rekeyed-by-one.csv", hostile.rekey_csv(data, 1), "renumbered"),
        ("cut97.csv", hostile.truncate_rows(data, 0.97, marker=True), "truncated"),
        ("cut92.csv", hostile.truncate_rows(data, 0.92, marker=True), "truncated"),
        ("cut97-no-marker.csv", hostile.truncate_rows(data, 0.97, marker=False), "truncated"),
        ("cut99-no-marker.csv", hostile.truncate_rows(data, 0.99, marker=False), "end-of-file byte"),
        ("stale.csv", a.read_bytes(), "stale"),
    ]
    for name, body, why in cases:
        assert_quarantined_silently(ctx, ledger, "us_ofac_sdn", write(tmp_path, name, body), why)
    assert ledger.events() == known

    after = poll(ctx, "us_ofac_sdn", {"main": str(c)})
    assert (after.status, after.added, after.removed, after.amended) == ("accepted", 587, 106, 31)
    new_events = sorted(set(ledger.events()) - set(known))
    assert len(new_events) == 587 + 106 + 31, "exactly the real changes of 2024-05-03, diffed against 02-23"
    assert ledger.deliveries(ops=False) == 2, "one message per real publication"


def test_un_damaged_copies_alert_nobody_and_the_next_day_gives_its_one_removal(make_ctx, tmp_path):
    day1, day2 = real("un/2025-12-09_consolidated.xml"), real("un/2025-12-10_consolidated.xml")
    ctx = make_ctx({"un_sc": {"url": "unused", "guard": {"min_records": 500}}}, SUBS)
    ledger = Ledger(ctx, "un_sc")
    poll(ctx, "un_sc", {"main": str(day1)})
    data = day1.read_bytes()
    for name, body, why in [
        ("rekeyed.xml", hostile.rekey_xml(data, b"DATAID", 7), "renumbered"),
        ("question-marks.xml", hostile.lossy_question_marks(data), "lossy text"),
        ("replacement-chars.xml", hostile.lossy_replacement_chars(data), "lossy text"),
        ("cut97.xml", hostile.keep_xml_entries(data, b"INDIVIDUAL", 0.97), "truncated"),
        ("renamed.xml", hostile.rename_element(data, b"NATIONALITY", b"CITIZENSHIP"), "format change"),
    ]:
        assert_quarantined_silently(ctx, ledger, "un_sc", write(tmp_path, name, body), why)
    result = poll(ctx, "un_sc", {"main": str(day2)})
    assert (result.status, result.added, result.removed, result.amended) == ("accepted", 0, 1, 0)
    assert ledger.events() == [("removed", "6908121")]


def test_ofac_xml_damage_stale_dates_utf16_and_padded_keys(make_ctx, tmp_path):
    old, new = real(CONS.format("2025-10-22")), real(CONS.format("2025-12-18"))
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}}, SUBS)
    ledger = Ledger(ctx, "us_ofac_cons")
    poll(ctx, "us_ofac_cons", {"main": str(old)})
    data = old.read_bytes()
    for name, body, why in [
        ("renamed.xml", hostile.rename_element(data, b"program", b"sanctionsProgram"), "field 'programs'"),
        ("cut-two.xml", hostile.keep_xml_entries(data, b"sdnEntry", 0.996), "header declares 443"),
    ]:
        assert_quarantined_silently(ctx, ledger, "us_ofac_cons", write(tmp_path, name, body), why)

    text = new.read_text(encoding="utf-8").replace('<?xml version="1.0" standalone="yes"?>',
                                                    '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>')
    utf16 = poll(ctx, "us_ofac_cons", {"main": write(tmp_path, "utf16.xml", text.encode("utf-16"))})
    assert (utf16.status, utf16.added, utf16.removed, utf16.amended) == ("accepted", 0, 1, 0), utf16.summary()
    assert ledger.events() == [("removed", "26182")]

    padded = new.read_bytes().replace(b"<uid>", b"<uid>00")  # `036` for `36`: the same records
    same = poll(ctx, "us_ofac_cons", {"main": write(tmp_path, "padded.xml", padded)})
    assert (same.status, same.added, same.removed, same.amended) == ("accepted", 0, 0, 0), same.summary()

    older_date = data.replace(b"  <sdnEntry>", b"\n  <sdnEntry>", 1)  # other bytes, same old publication date
    assert_quarantined_silently(ctx, ledger, "us_ofac_cons", write(tmp_path, "old-date.xml", older_date), "stale")
    assert ledger.events() == [("removed", "26182")]


def test_a_truncated_part_and_a_manual_poll_of_one_part_never_diff_a_partial_set(make_ctx, tmp_path):
    folder = "ofac/csv_sets/2023-12-28"
    parts = {p: real(f"{folder}/{p}.csv") for p in ("sdn", "alt", "add")}
    cfg = {"url": str(parts["sdn"]), "parts": {"alt": str(parts["alt"]), "add": str(parts["add"])},
           "guard": {"min_records": 5000}}
    ctx = make_ctx({"us_ofac_sdn": cfg}, SUBS)
    ledger = Ledger(ctx, "us_ofac_sdn")
    assert poll(ctx, "us_ofac_sdn").baseline
    alt_rows = hostile.sdn_rows(parts["alt"].read_bytes())
    cut_alt = write(tmp_path, "alt-cut.csv", hostile.sdn_join(alt_rows[: int(len(alt_rows) * 0.95)]))
    result = poll(ctx, "us_ofac_sdn", {"alt": cut_alt})
    assert result.status == "quarantined" and "part 'alt'" in result.reason, result.summary()
    assert ledger.events() == [] and ledger.deliveries(ops=False) == 0

    # One real-looking delisting in sdn.csv, polled by hand without the other parts: the stored alt/add are used.
    rows = hostile.sdn_rows(parts["sdn"].read_bytes())
    delisted = rows[100].split(b",", 1)[0].decode()
    one_less = write(tmp_path, "sdn-one-less.csv", hostile.sdn_join(rows[:100] + rows[101:]))
    manual = poll(ctx, "us_ofac_sdn", {"main": one_less})
    assert (manual.status, manual.added, manual.removed, manual.amended) == ("accepted", 0, 1, 0), manual.summary()
    assert ledger.events() == [("removed", delisted)]
    with Session(ctx.engine) as s:
        latest = s.execute(select(Snapshot).order_by(Snapshot.id.desc())).scalars().first()
    assert set(json.loads(latest.parts)) == {"main", "alt", "add"}, "the stored parts are part of the snapshot"

    # Without a stored copy to use, the manual poll is refused, saying what to do.
    for info in json.loads(latest.parts).values():
        if info["sha256"] != json.loads(latest.parts)["main"]["sha256"]:
            Path(info["archive"]).unlink()
    refused = poll(ctx, "us_ofac_sdn", {"main": str(parts["sdn"])})
    assert refused.status == "failed" and "--part" in refused.reason, refused.summary()
    assert ledger.events() == [("removed", delisted)]


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_same_quarantined_bytes_alert_ops_once_and_review_releases_or_keeps_out(make_ctx, tmp_path):
    old, new = real(CONS.format("2025-10-22")), real(CONS.format("2025-12-18"))
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}}, SUBS)
    ledger = Ledger(ctx, "us_ofac_cons")
    poll(ctx, "us_ofac_cons", {"main": str(old)})
    renumbered = write(tmp_path, "renumbered.xml", hostile.rekey_xml(new.read_bytes(), b"uid", 500000))
    first = assert_quarantined_silently(ctx, ledger, "us_ofac_cons", renumbered, "renumbered")
    again = poll(ctx, "us_ofac_cons", {"main": renumbered})
    assert (again.status, again.snapshot_id) == ("quarantined", first.snapshot_id)
    assert ledger.deliveries(ops=True) == 1, "the same bytes alert ops once"
    [body] = ledger.ops_bodies()
    assert f"notifier quarantine accept {first.snapshot_id}" in body and "renumbered" in body
    assert [q.id for q in list_quarantined(ctx.engine)] == [first.snapshot_id]

    desc = describe(ctx.engine, first.snapshot_id, ctx.sources)
    assert (desc.added, desc.removed, desc.amended, desc.moved) == (0, 1, 0, 442)
    assert {item["change"] for item in desc.sample} == {"removed", "moved"}

    with pytest.raises(ReviewError, match="--reason"):
        accept(ctx, first.snapshot_id, "alice", "")
    released = accept(ctx, first.snapshot_id, "alice", "OFAC renumbered its uids (notice of 2025-12-18)")
    assert (released.status, released.moved, released.removed) == ("accepted", 442, 1)
    assert ledger.events() == [("removed", "26182")], "a renumbering alerts nobody; the real removal does"
    assert list_quarantined(ctx.engine) == []

    renamed = hostile.rename_element(Path(renumbered).read_bytes(), b"program", b"prog")
    swapped = write(tmp_path, "renamed.xml", renamed)
    bad = assert_quarantined_silently(ctx, ledger, "us_ofac_cons", swapped, "format change")
    reject(ctx.engine, bad.snapshot_id, "bob", "a broken export")
    ignored = poll(ctx, "us_ofac_cons", {"main": swapped})
    assert ignored.status == "quarantined" and "rejected" in ignored.reason
    assert ledger.deliveries(ops=True) == 3, "two quarantines and the note of the released renumbering"
    assert ledger.deliveries(ops=False) == 1, "the one real removal"
    with Session(ctx.engine) as s:
        decisions = [(d.decision, d.actor, d.snapshot_id) for d in s.execute(select(QuarantineDecision)).scalars()]
    assert decisions == [("accepted", "alice", first.snapshot_id), ("rejected", "bob", bad.snapshot_id)]
    with pytest.raises(ReviewError, match="not quarantined"):
        reject(ctx.engine, bad.snapshot_id, "bob", "again")
