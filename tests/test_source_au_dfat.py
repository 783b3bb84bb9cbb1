"""AustraliaDfat against the real DFAT consolidated lists (old 12-column and new 19-column layouts)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from notifier.adapter import ParseError
from sources.au_dfat import AustraliaDfat
from tests.conftest import real

OLD = "au/2024-11-11_regulation8_consolidated.xlsx"
NEW = "au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx"


def parse(path: Path) -> dict:
    records = {r.key: r for r in AustraliaDfat().parse({"main": path})}
    for r in records.values():
        r.validate()
    return records


@pytest.fixture(scope="module")
def old() -> dict:
    return parse(real(OLD))


@pytest.fixture(scope="module")
def new() -> dict:
    return parse(real(NEW))


def test_old_layout_folds_9560_rows_into_3062_parties(old):
    assert len(old) == 3062
    assert sum(r.entity_type == "person" for r in old.values()) == 2316
    assert sum(r.entity_type == "organization" for r in old.values()) == 746


def test_new_layout_folds_rows_into_3811_parties_with_vessels(new):
    # 3810 main rows plus one party (8495) published only as alias rows 8495a/8495b.
    assert len(new) == 3811
    assert sum(r.entity_type == "vessel" for r in new.values()) == 262


def test_alias_rows_never_become_keys(old, new):
    assert all(key.isdigit() for key in old)
    assert all(key.isdigit() for key in new)
    assert "101a" not in new and "3a" not in old


def test_known_record_with_its_alias_rows(new):
    r = new["3"]
    assert r.name == "Abdul Kabir Mohammad Jan"
    assert r.entity_type == "person"
    assert set(r.aliases) == {"A. Kabir", "عبد الکبیر محمد جان"}
    assert r.programs[0] == "1988 (Taliban)"
    assert r.nationalities[0] == "Afghanistan"
    assert r.listed_on == "2001-01-25"
    instrument = "Charter of the United Nations (Sanctions—the Taliban) Regulation 2013"
    assert r.extra["instrument_of_designation"] == instrument
    assert r.extra["measures"] == ["targeted financial sanction", "travel ban", "arms embargo"]


def test_old_layout_known_record(old):
    r = old["2"]
    assert r.name == "MOHAMMAD HASSAN AKHUND"
    assert "محمد حسن أخوند" in r.aliases
    assert r.birth_dates == ["Approximately 1955- 1958", "Approximately 1945-1950"]
    assert r.extra["control_date"] == "2014-12-15"


def test_party_without_main_row_is_named_by_its_first_alias_row(new):
    assert new["8495"].name == "Yahya Husseini Panjaki"
    assert "_x000D_" not in (new["8495"].remarks or "")


def test_vessels_carry_imo_numbers(new):
    vessels = [r for r in new.values() if r.entity_type == "vessel"]
    assert all(any(i.type == "IMO" for i in v.identifiers) for v in vessels[:20])
    assert all(v.vessel and v.vessel.imo == v.identifiers[0].number for v in vessels[:20] if len(v.identifiers) == 1)


def test_unknown_header_is_a_parse_error(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Reference", "Name", "Something else"])
    wb.active.append([1, "X", "Y"])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    with pytest.raises(ParseError):
        list(AustraliaDfat().parse({"main": path}))


@pytest.mark.parametrize("name", ["eu_csv_got_html_page.html", "eu_fsf_http500_2021-02-09.html",
                                  "eu_fsf_http500_2021-11-04.json", "eu_fsf_http500_2026-02-08.json",
                                  "ofac_sdn_csv_empty_download_2024-05-04.csv"])
def test_real_failure_samples_raise_parse_error(name):
    with pytest.raises(ParseError):
        list(AustraliaDfat().parse({"main": real(f"failures/{name}")}))
