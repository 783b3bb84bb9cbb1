"""UK Sanctions List (FCDO) adapter against the real XML/CSV excerpts and the former HM Treasury ConList."""

from __future__ import annotations

import pytest

from notifier.adapter import ParseError
from sources.gb_fcdo import UkSanctionsList, uk_date
from tests.conftest import real

XML = "uk/excerpt_2026-08-14_UK-Sanctions-List.xml"
CSV = "uk/excerpt_2026-10-08_UK-Sanctions-List.csv"
CONLIST = "uk/hmt_consolidated_2014-04-02_ConList.csv"


def parse(path) -> dict:
    return {r.key: r for r in UkSanctionsList().parse({"main": path})}


def test_xml_yields_the_four_real_designations_and_skips_the_one_without_unique_id():
    records = parse(real(XML))
    assert sorted(records) == ["AFG0011", "AQD0128", "AQD0377", "DPR0075"]
    for r in records.values():
        r.validate()


def test_xml_names_types_programs_and_dates():
    records = parse(real(XML))
    mansur = records["AFG0011"]
    assert mansur.name == "ABDUL LATIF MANSUR" and mansur.entity_type == "person"
    assert {"Abdul Latif MANSOOR", "Wali MOHAMMAD", "عبد اللطيف منصور"} == set(mansur.aliases)
    assert mansur.programs == ["The Afghanistan (Sanctions) (EU Exit) Regulations 2020"]
    assert mansur.listed_on == "2001-01-31"
    assert sorted(mansur.birth_dates) == ["1967-11-12", "1968"]  # placeholder dd/mm kept as year, duplicate folded
    assert {i.number for i in mansur.identifiers} == {"D0009720", "D0010442"}  # leading space of the real data gone
    assert mansur.extra["un_reference_number"] == "TAi.007" and mansur.extra["last_updated"] == "2026-04-29"
    assert records["AQD0128"].name == "AKRAM TURKI HISHAN AL-MAZIDIH"  # "Primary name" in lower case
    assert records["AQD0128"].identifiers[0].number == "0075258"  # leading zero kept
    assert "1958-09" in records["AQD0128"].birth_dates
    assert records["AQD0377"].entity_type == "organization"
    assert records["AQD0377"].remarks.startswith("Khatiba al-Tawhid wal-Jihad (formerly known as Jannat Oshiklari)")


def test_xml_ship_has_imo_identifier_and_ship_facts():
    ship = parse(real(XML))["DPR0075"]
    assert ship.entity_type == "vessel" and ship.name == "Petrel 8"
    assert [(i.type, i.number) for i in ship.identifiers] == [("IMO", "9562233")]
    assert ship.vessel.flag == "Comoros" and ship.vessel.build_year == "2011" and ship.vessel.imo == "9562233"


def test_generation_dates_never_reach_records():
    for r in parse(real(XML)).values():
        assert "14/08/2026" not in repr(r.payload()) and "2026-08-14" not in repr(r.payload())
    (ship,) = parse(real(CSV)).values()
    assert "08-Oct-2026" not in repr(ship.payload())


def test_csv_with_report_date_banner_yields_the_ship_row():
    (ship,) = parse(real(CSV)).values()
    assert ship.key == "RUS2176" and ship.name == "KOROLEV PROSPECT" and ship.entity_type == "vessel"
    assert ship.programs == ["The Russia (Sanctions) (EU Exit) Regulations 2019"]
    assert ship.listed_on == "2024-07-31"
    assert [(i.type, i.number) for i in ship.identifiers] == [("IMO", "9826902")]
    assert ship.remarks.startswith("Shipping sanctions: a specified ship is prohibited")
    assert ship.vessel.flag == "Gabon"


def test_csv_rows_of_one_unique_id_fold_into_one_record(tmp_path):
    # The real file has one row per name; the excerpt has one row, so we add alias rows built from it.
    lines = real(CSV).read_text(encoding="utf-8-sig").splitlines()
    row = lines[2]
    alias = row.replace("KOROLEV PROSPECT,,,,,,Primary Name", "KOROLEV PROSPEKT,,,,,,Alias", 1)
    non_latin = row.replace("KOROLEV PROSPECT,,,,,,Primary Name,,,", ",,,,,,Alias,,,КОРОЛЕВ ПРОСПЕКТ", 1)
    path = tmp_path / "uk.csv"
    path.write_text("\n".join([lines[0], lines[1], alias, row, non_latin]) + "\n", encoding="utf-8")
    (ship,) = parse(path).values()
    assert ship.name == "KOROLEV PROSPECT"
    assert sorted(ship.aliases) == ["KOROLEV PROSPEKT", "КОРОЛЕВ ПРОСПЕКТ"]
    assert len(ship.identifiers) == 1


def test_csv_row_with_wrong_column_count_raises(tmp_path):
    lines = real(CSV).read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "uk.csv"
    path.write_text("\n".join([lines[0], lines[1], lines[2] + ",extra"]) + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match="columns"):
        list(UkSanctionsList().parse({"main": path}))


def test_former_hmt_conlist_folds_alias_rows_by_group_id():
    records = parse(real(CONLIST))
    assert len(records) == 2297  # distinct Group IDs in the 8,949 data rows
    abbas = records["12510"]
    assert abbas.name == "Fayssal ABBAS" and abbas.aliases == ["Faysal ABBAS"]
    assert abbas.programs == ["Syria"] and abbas.birth_dates == ["1955"] and abbas.listed_on == "2012-02-28"
    assert records["10657"].name == "3M MIZAN MACHINERY MANUFACTURING" and "3MG" in records["10657"].aliases
    assert {r.entity_type for r in records.values()} == {"person", "organization"}


@pytest.mark.parametrize(
    "rel",
    [
        "failures/eu_csv_got_html_page.html",
        "failures/eu_fsf_http500_2026-02-08.json",
        "failures/ofac_sdn_csv_empty_download_2024-05-04.csv",
        "eu/excerpt_2026-08-05_a_xmlFullSanctionsList_1_1.xml",
    ],
)
def test_files_that_are_not_the_uk_list_raise_parse_error(rel):
    with pytest.raises(ParseError):
        list(UkSanctionsList().parse({"main": real(rel)}))


def test_uk_date_keeps_placeholder_precision():
    assert uk_date("12/11/1967") == "1967-11-12"
    assert uk_date("dd/mm/1968") == "1968"
    assert uk_date("dd/09/1958") == "1958-09"
    assert uk_date("00/00/1955") == "1955"
    assert uk_date("1985") == "1985"
