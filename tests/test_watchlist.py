"""Watchlists end to end: import a counterparty CSV, a real OFAC publication designates one of them, the
subscriber gets a watchlist alert written in the snapshot's transaction, apart from its regular alert."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due, pending_for_snapshot
from notifier.ingest.pipeline import poll
from notifier.screening.watchlists import WatchlistError, import_watchlist, parse_csv
from notifier.store.models import Delivery, WatchlistEntry
from tests.conftest import real
from tests.support.receivers import SmtpSink, parts

SDN = "ofac/sdn_csv"
# Real additions of 2024-02-23, written as a Russian counterparty would: Cyrillic, another legal form, one
# with only its tax number (OFAC: "Tax ID No. 7706812159"), a person without his patronymic.
WATCHLIST = """name,country,dob,identifiers,reference
ООО «Ново-Вятка»,Россия,,,CP-001
ACME Payments Ltd,,,INN:7706812159,CP-002
"Shagivaleev, Timur",RU,28.01.1978,,CP-003
Рога и копыта,RU,,,CP-004
,RU,,,CP-005
Bad Date Ltd,RU,31/31/31,,CP-006
"""


def deliveries(svc, purpose: str | None = None) -> list[Delivery]:
    with Session(svc.engine) as s:
        q = select(Delivery).order_by(Delivery.id)
        if purpose:
            q = q.where(Delivery.purpose == purpose)
        return list(s.execute(q).scalars())


def test_bad_rows_are_reported_by_line_and_the_rest_is_kept():
    parsed = parse_csv(WATCHLIST.encode(), "cp.csv")
    assert [e["reference"] for e in parsed.entries] == ["CP-001", "CP-002", "CP-003", "CP-004"]
    assert parsed.problems == [
        "cp.csv: line 6: no name",
        "cp.csv: line 7: date '31/31/31' is not a date (use YYYY-MM-DD, DD.MM.YYYY, 12 Mar 1970 or YYYY)",
    ]
    assert parsed.entries[1]["identifiers"] == [["INN", "7706812159"]]


def test_a_file_without_a_name_column_or_any_valid_row_is_refused_and_the_previous_list_kept(make_ctx, hook):
    svc = make_ctx({}, {"subscribers": [{"name": "acme", "channels": [{"url": hook.url()}]}]})
    [sub] = svc.subscribers
    import_watchlist(svc.engine, sub, b"name\nOOO Romashka\n")
    with pytest.raises(WatchlistError, match="no `name` column"):
        import_watchlist(svc.engine, sub, b"company;country\nX;RU\n")
    with pytest.raises(WatchlistError, match="line 2: no name"):
        import_watchlist(svc.engine, sub, b"name,country\n,RU\n")
    with Session(svc.engine) as s:
        assert [e.name for e in s.execute(select(WatchlistEntry)).scalars()] == ["OOO Romashka"]


def test_semicolon_separated_excel_file_with_identifier_columns_is_read():
    data = "Name;Country;IMO;Ref\nALIREZA 1;Russia;6703769;V-1\n".encode("cp1252")
    [entry] = parse_csv(data).entries
    assert entry["identifiers"] == [["IMO", "6703769"]] and entry["reference"] == "V-1"


def test_a_real_designation_of_a_counterparty_written_in_cyrillic_sends_a_watchlist_alert(make_ctx, hook):
    with SmtpSink() as smtp:
        subs = {
            "subscribers": [
                {"name": "acme", "channels": [{"url": hook.url()}, {"url": smtp.url()}], "filters": {"kinds": ["news"]}}
            ]
        }
        svc = make_ctx({"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}}, subs)
        [sub] = svc.subscribers
        poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
        result = import_watchlist(svc.engine, sub, WATCHLIST.encode(), label="cp.csv")
        assert (result.entries, result.hits) == (4, 0), "nobody on the list is designated yet"
        assert len(deliveries(svc, "watchlist_report")) == 2

        polled = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
        assert polled.added == 553
        rows = deliveries(svc, "watchlist")
        assert deliveries(svc, "changes") == [], "the subscriber's filters take no designation: only hits come"
        hits = {r.title.split(" ~ ")[0]: json.loads(r.body)["hits"] for r in rows if r.channel_type == "json"}
        assert set(hits) == {
            "WATCHLIST MATCH: ООО «Ново-Вятка» [CP-001]",
            "WATCHLIST MATCH: ACME Payments Ltd [CP-002]",
            "WATCHLIST MATCH: Shagivaleev, Timur [CP-003]",
        }
        [novo] = hits["WATCHLIST MATCH: ООО «Ново-Вятка» [CP-001]"]
        assert novo["designation"]["key"] == "18795" and novo["score"] >= 0.88
        [acme] = hits["WATCHLIST MATCH: ACME Payments Ltd [CP-002]"]
        assert "identifier Tax ID No. 7706812159" in acme["agreed"]
        [timur] = hits["WATCHLIST MATCH: Shagivaleev, Timur [CP-003]"]
        assert "date 1978-01-28" in timur["agreed"] and "country RU" in timur["agreed"]
        assert all(r.snapshot_id == polled.snapshot_id for r in rows)
        assert set(pending_for_snapshot(svc.engine, polled.snapshot_id)) >= {r.id for r in rows}

        assert set(deliver_all(svc)) == {"sent"}
        posted = hook.wait(3 + 1)
        alert = next(p for p in posted if "Ново-Вятка" in p["title"])
        assert "OTKRYTOE AKTSIONERNOE OBSHCHESTVO NOVO-VYATKA" in alert["message"]
        assert "us_ofac_sdn 18795" in alert["message"]
        mails = smtp.wait(4)
        html = next(parts(m)["text/html"] for m in mails if "Shagivaleev" in str(m["Subject"]))
        assert "SHAGIVALEEV, Timur Nailevich" in html and "Agrees: " in html


def test_an_amendment_alerts_only_for_counterparties_it_newly_matches(make_ctx, hook):
    from notifier.store.changes import Change
    from notifier.timeutil import utcnow

    subs = {"subscribers": [{"name": "acme", "channels": [{"url": hook.url()}]}]}
    svc = make_ctx({"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}}, subs)
    [sub] = svc.subscribers
    import_watchlist(svc.engine, sub, b"name,reference\nOOO Romashka,R1\nGlobal Petro Trading,R2\n")
    before = {"kind": "designation", "key": "1", "name": "ROMASHKA LLC", "entity_type": "organization"}
    after = {**before, "aliases": ["GLOBAL PETRO TRADING FZE"]}
    change = Change(
        7, "1", "amended", "designation", "ROMASHKA LLC", before, after, [], source="us_ofac_sdn", snapshot_id=1
    )
    from notifier.screening.watchlists import watchlist_rows

    with Session(svc.engine) as session:
        rows = watchlist_rows(session, svc.subscribers, [change], 1, utcnow())
    [row] = rows
    [hit] = json.loads(row["body"])["hits"]
    assert hit["entry"]["reference"] == "R2" and hit["matched_name"] == "GLOBAL PETRO TRADING FZE"


def test_a_changed_watchlist_file_is_imported_at_start_and_an_unchanged_one_is_not(make_ctx, tmp_path, hook):
    (tmp_path / "cp.csv").write_text("name\nOOO Romashka\n")
    subs = {"subscribers": [{"name": "acme", "channels": [{"url": hook.url()}], "watchlist": "cp.csv"}]}
    make_ctx({}, subs)
    svc = make_ctx({}, subs)
    assert len(deliveries(svc, "watchlist_report")) == 1, "the second start found the same file"
    (tmp_path / "cp.csv").write_text("name\nOOO Romashka\nZAO Lyutik\n")
    svc = make_ctx({}, subs)
    assert len(deliveries(svc, "watchlist_report")) == 2
    with Session(svc.engine) as s:
        assert {e.name for e in s.execute(select(WatchlistEntry)).scalars()} == {"OOO Romashka", "ZAO Lyutik"}


def deliver_all(svc) -> list[str]:
    return [deliver_one(svc, i).status for i in due(svc.engine)]
