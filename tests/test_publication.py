"""The publication's own date and id: read from each publisher's file, else from its name; on snapshots and events."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.adapter import Adapter
from notifier.ingest.pipeline import poll
from notifier.ingest.publication import read_publication
from notifier.publication import Publication, date_in_name, iso_day, publisher_date
from notifier.store.models import Change, Snapshot
from sources.ch_seco import SecoSanctions
from sources.eu_fsf import EuFinancialSanctions
from sources.gb_fcdo import UkSanctionsList
from sources.un_sc import UnSecurityCouncil
from sources.us_ofac import OfacConsolidated, OfacSdn
from tests.conftest import real


@pytest.mark.parametrize(
    ("adapter", "relative", "expected"),
    [
        (OfacConsolidated, "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML", Publication("2025-12-18")),
        (OfacSdn, "ofac/sdn_xml/excerpt_2020-10-29_sdn.xml", Publication("2020-10-29")),  # older namespace
        (OfacSdn, "ofac/sdn_csv/2024-02-23_sdn.csv", Publication()),  # sdn.csv carries no date
        (UnSecurityCouncil, "un/2025-12-10_consolidated.xml", Publication("2025-12-10")),
        (
            EuFinancialSanctions,
            "eu/excerpt_2026-08-05_a_xmlFullSanctionsList_1_1.xml",
            Publication("2026-08-05", "184961"),  # generationDate and globalFileId
        ),
        (UkSanctionsList, "uk/excerpt_2026-08-14_UK-Sanctions-List.xml", Publication("2026-08-14")),
        (UkSanctionsList, "uk/excerpt_2026-10-08_UK-Sanctions-List.csv", Publication("2026-10-08")),
        (UkSanctionsList, "uk/hmt_consolidated_2014-04-02_ConList.csv", Publication("2014-04-02")),
        (SecoSanctions, "ch/excerpt_2026-08-15_targets.xml", Publication("2026-08-15")),
    ],
)
def test_each_publisher_date_is_read_from_the_real_file_not_from_a_comment_or_the_clock(adapter, relative, expected):
    assert adapter().publication({"main": real(relative)}) == expected


def test_a_date_in_the_file_name_stands_in_when_the_file_has_none(tmp_path):
    path = real("ofac/sdn_csv/2024-02-23_sdn.csv")
    assert read_publication(OfacSdn, None, {"main": path}, str(path)) == Publication("2024-02-23")
    mof = "https://www.mof.go.jp/policy/international_policy/gaitame_kawase/gaitame/economic_sanctions/shisantouketsu20260305.xlsx"
    assert date_in_name(mof) == "2026-03-05"
    # the file's own date wins over its name
    xml = real("ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML")
    assert read_publication(OfacConsolidated, None, {"main": xml}, "/x/2020-01-01_cons.xml").date == "2025-12-18"


@pytest.mark.parametrize(
    "name",
    [
        "SDN.XML",
        "https://example.org/2024/sdn.csv",
        "list-20241399.csv",
        "a_2024-01-02_b_2024-03-04.csv",
        "v12345678.xml",
        None,
        "",
    ],
)
def test_no_date_is_made_up_from_a_name_without_exactly_one_real_date(name):
    assert date_in_name(name) is None


def test_dates_are_strict_a_wrong_date_is_worse_than_none():
    assert publisher_date("12/18/2025", ("%m/%d/%Y",)) == "2025-12-18"
    assert publisher_date("18/12/2025", ("%m/%d/%Y",)) is None
    assert iso_day("2025-12-10T00:00:06.263Z") == "2025-12-10"
    assert iso_day("2026-08-05T16:47:04.449+02:00") == "2026-08-05"  # the publisher's own day, not UTC's
    assert iso_day("10/12/2025") is None and iso_day(None) is None


class _Broken(Adapter):
    def publication(self, parts):
        raise ValueError("header unreadable")

    def parse(self, parts):
        return iter(())


def test_an_unreadable_header_never_fails_the_poll(tmp_path):
    path = tmp_path / "list_2025-01-31.xml"
    path.write_text("<x/>")
    assert read_publication(_Broken, None, {"main": path}, str(path)) == Publication("2025-01-31")


def test_replayed_sdn_csv_events_carry_the_files_publication_date_not_the_replay_time(make_ctx):
    paths = [real(f"ofac/sdn_csv/{d}_sdn.csv") for d in ("2024-02-20", "2024-02-23")]
    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}})
    poll(ctx, "us_ofac_sdn", {"main": str(paths[0])})
    result = poll(ctx, "us_ofac_sdn", {"main": str(paths[1])})
    assert result.added == 553 and {c.published_on for c in result.changes} == {"2024-02-23"}
    with Session(ctx.engine) as session:
        snaps = session.execute(select(Snapshot.published_on).order_by(Snapshot.id)).scalars().all()
        stored = set(session.execute(select(Change.published_on)).scalars())
    assert snaps == ["2024-02-20", "2024-02-23"] and stored == {"2024-02-23"}


def test_xml_publication_reaches_the_change_events(make_ctx):
    ctx = make_ctx({"us_ofac_cons": {"url": "unused"}})
    poll(ctx, "us_ofac_cons", {"main": str(real("ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"))})
    result = poll(ctx, "us_ofac_cons", {"main": str(real("ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML"))})
    [removal] = result.changes
    assert removal.published_on == "2025-12-18"
