"""OFAC SDN and Consolidated adapters against the real published files (classic sdnList XML and the legacy CSV set)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from notifier.records import Vessel
from sources.us_ofac import OfacConsolidated, OfacSdn
from tests.conftest import FIXTURES, real

CONS = "ofac/consolidated_xml/{}_CONSOLIDATED.XML"


def parse(parts: dict[str, Path], cls: type = OfacSdn) -> dict:
    return {r.key: r for r in cls().parse(parts)}


def hashes(parts: dict[str, Path], cls: type = OfacSdn) -> dict[str, str]:
    return {key: content_hash(canonical(r.payload())) for key, r in parse(parts, cls).items()}


def diff(old: dict[str, str], new: dict[str, str]) -> tuple[set, set, set]:
    added, removed = set(new) - set(old), set(old) - set(new)
    amended = {k for k in set(old) & set(new) if old[k] != new[k]}
    return added, removed, amended


def raw_csv_rows(path: Path) -> dict[str, tuple[str, ...]]:
    """sdn.csv read independently of the adapter: ent_num -> the row's columns."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {row[0]: tuple(row) for row in csv.reader(fh) if len(row) > 1}


# --- Consolidated (non-SDN) list, sdnList XML ------------------------------------------------------------------


def test_consolidated_2025_10_22_has_443_records():
    records = parse({"main": real(CONS.format("2025-10-22"))}, OfacConsolidated)
    assert len(records) == 443
    haniya = records["9639"]
    assert haniya.name == "HANIYA, Ismail Abdul Salah"
    assert haniya.entity_type == "person"
    assert haniya.programs == ["NS-PLC"]
    assert "HANIYYA, Ismaeel" in haniya.aliases
    assert haniya.url.endswith("id=9639")


def test_consolidated_2025_12_18_removes_exactly_uid_26182():
    old = hashes({"main": real(CONS.format("2025-10-22"))}, OfacConsolidated)
    new = hashes({"main": real(CONS.format("2025-12-18"))}, OfacConsolidated)
    assert diff(old, new) == (set(), {"26182"}, set())


def test_consolidated_downloaded_again_with_reordered_elements_hashes_identically():
    first = real(CONS.format("2025-12-18"))
    again = real(CONS.format("2025-12-18_downloaded-again"))
    assert first.read_bytes() != again.read_bytes()  # OFAC re-orders child elements between downloads
    assert hashes({"main": first}, OfacConsolidated) == hashes({"main": again}, OfacConsolidated)


def test_xml_ids_split_into_identifiers_and_facts():
    records = parse({"main": real(CONS.format("2025-10-22"))}, OfacConsolidated)
    vankorneft = records["18274"]
    assert {(i.type, i.number, i.country) for i in vankorneft.identifiers} == {
        ("Registration Number", "1042400920077", "Russia"),
        ("Tax ID No.", "2437261631", "Russia"),
    }
    assert "info@vankoroil.ru" in vankorneft.emails  # an e-mail is a field of its own, not an identifier
    assert vankorneft.addresses and all(a.endswith(", Russia") for a in vankorneft.addresses)
    assert vankorneft.countries == ["Russia"]
    removed = records["26182"]
    assert removed.name == "KAYAKIRAN, Evren"
    assert removed.gender == "male"
    assert [(i.type, i.number, i.country) for i in removed.identifiers] == [("Passport", "U00242309", "Turkey")]
    assert removed.birth_dates == ["1980-02-08"]
    assert removed.nationalities == ["Turkey"]


def test_volatile_publish_header_is_not_in_records(tmp_path):
    src = real(CONS.format("2025-10-22"))
    edited = tmp_path / "edited.xml"
    edited.write_bytes(src.read_bytes().replace(b"<Publish_Date>10/22/2025<", b"<Publish_Date>01/01/2030<", 1)
                       .replace(b"<Record_Count>443<", b"<Record_Count>999<", 1))
    assert hashes({"main": src}) == hashes({"main": edited})


# --- SDN list, legacy sdn.csv -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "counts"), [
    ("2024-02-20", "2024-02-23", (553, 0, 8)),
    ("2024-02-23", "2024-05-03", (587, 106, 31)),
])
def test_sdn_csv_diff_matches_the_raw_rows(old, new, counts):
    old_path, new_path = real(f"ofac/sdn_csv/{old}_sdn.csv"), real(f"ofac/sdn_csv/{new}_sdn.csv")
    old_rows, new_rows = raw_csv_rows(old_path), raw_csv_rows(new_path)
    expected = (
        set(new_rows) - set(old_rows),
        set(old_rows) - set(new_rows),
        {k for k in set(old_rows) & set(new_rows) if old_rows[k] != new_rows[k]},
    )
    got = diff(hashes({"main": old_path}), hashes({"main": new_path}))
    assert tuple(len(s) for s in expected) == counts
    assert got == expected


def test_sdn_csv_alone_maps_columns():
    records = parse({"main": real("ofac/sdn_csv/2024-05-03_sdn.csv")})
    assert len(records) == 14965
    ibrahim = records["9758"]
    assert ibrahim.name == "IBRAHIM, Dawood"
    assert ibrahim.entity_type == "person"
    assert sorted(ibrahim.programs) == ["SDGT", "SDNTK"]
    assert ibrahim.birth_dates[0] == "1955-12-26"  # read from the remarks
    assert ibrahim.aliases == [] and ibrahim.addresses == []
    assert records["4632"].entity_type == "organization"
    assert sorted(records["4632"].programs) == ["IFSR", "IRAN", "IRGC", "SDGT"]
    vessel = records["4238"]
    assert vessel.entity_type == "vessel"
    assert vessel.vessel == Vessel(call_sign="CL2192", type="Tug", gross_tonnage="212", flag="Cuba",
                                   owner="Samir de Navegacion S.A.")
    assert records["15431"].entity_type == "aircraft"
    assert records["2674"].extra["title"] == "Director of PALESTINE LIBERATION FRONT - ABU ABBAS FACTION"


def test_csv_set_2023_12_28_merges_aliases_and_addresses_onto_their_records():
    base = real("ofac/csv_sets/2023-12-28/sdn.csv").parent
    records = parse({"main": base / "sdn.csv", "alt": base / "alt.csv", "add": base / "add.csv"})
    assert len(records) == 13821
    ibrahim = records["9758"]
    assert {"KASKAR, Dawood Ibrahim", "EBRAHIM, Dawood", "SETH, Iqbal"} <= set(ibrahim.aliases)
    assert len(ibrahim.aliases) == 13
    assert "White House, Al-Wassal Road, Jumeira, Dubai, United Arab Emirates" in ibrahim.addresses
    assert set(ibrahim.countries) == {"Pakistan", "United Arab Emirates", "India"}
    bank = records["306"]
    assert bank.aliases == ["NATIONAL BANK OF CUBA", "BNC"]  # BNC: an a.k.a. of the remarks that alt.csv lacks
    assert "Zweierstrasse 35, Zurich CH-8022, Switzerland" in bank.addresses
    assert {"Spain", "Switzerland", "Japan"} <= set(bank.countries)
    assert records["36"].addresses == ["Havana, Cuba"]
    assert records["2674"].addresses == []  # its add.csv row is all -0-
    assert records["2674"].aliases == ["ZAYDAN, Muhammad"]


def test_alt_and_add_rows_of_unknown_ent_nums_are_ignored(tmp_path):
    src = FIXTURES / "us_ofac_sdn"
    alt, add = tmp_path / "alt.csv", tmp_path / "add.csv"
    alt.write_bytes((src / "alt.csv").read_bytes() + b'99999999,1,"aka","NOBODY",-0- \r\n')
    add.write_bytes((src / "add.csv").read_bytes() + b'99999999,1,"Somewhere","Nowhere","Atlantis",-0- \r\n')
    with_orphans = parse({"main": src / "sdn.csv", "alt": alt, "add": add})
    assert "99999999" not in with_orphans
    assert hashes({"main": src / "sdn.csv", "alt": alt, "add": add}) == hashes(
        {"main": src / "sdn.csv", "alt": src / "alt.csv", "add": src / "add.csv"})


def test_sdn_comments_continue_the_remarks_of_2021_07_07():
    base = real("ofac/csv_sets/2021-07-07/sdn.csv").parent
    parts = {"main": base / "sdn.csv", "alt": base / "alt.csv", "add": base / "add.csv",
             "comments": base / "sdn_comments.csv"}
    records = parse(parts)
    assert len(records) == 8976
    assert records["28263"].linked_to == ["LAZARUS GROUP"] and "snowsjohn" in records["28263"].aliases
    assert "PROMO RAIZ S.A.S." in records["12300"].linked_to
    without = parse({k: v for k, v in parts.items() if k != "comments"})
    assert "remarks_cut" in without["28263"].extra and not without["28263"].linked_to


# --- sdnList XML excerpts and XML/CSV agreement -----------------------------------------------------------------


def test_sdn_xml_excerpts_parse_in_both_namespaces():
    current = parse({"main": real("ofac/sdn_xml/excerpt_2026-08-07_SDN.XML")})
    older = parse({"main": real("ofac/sdn_xml/excerpt_2020-10-29_sdn.xml")})
    assert len(current) == 5 and set(older) == {"36", "173"}
    assert older["173"].addresses == ["Ibex House, The Minories, London EC3N 1DY, United Kingdom"]
    assert current["4238"].vessel == Vessel(call_sign="CL2192", type="Tug", flag="Cuba")
    ibrahim = current["9758"]
    assert ibrahim.nationalities == ["India", "Pakistan", "United Arab Emirates"]
    assert ibrahim.birth_dates == ["1955-12-26"]
    assert ibrahim.birth_places == ["Ratnagiri, Maharashtra, India"]
    assert [(i.type, i.number, i.country) for i in ibrahim.identifiers] == [("Passport", "M-110522", "India")]


def test_xml_and_csv_write_names_and_aliases_the_same_way():
    xml = parse({"main": real("ofac/sdn_xml/excerpt_2026-08-07_SDN.XML")})
    base = real("ofac/csv_sets/2023-12-28/sdn.csv").parent
    csv_records = parse({"main": base / "sdn.csv", "alt": base / "alt.csv"})
    assert {"2674", "9758"} <= set(xml) & set(csv_records)
    for key in set(xml) & set(csv_records):
        assert xml[key].name == csv_records[key].name, key
        assert xml[key].entity_type == csv_records[key].entity_type, key
        assert sorted(xml[key].programs) == sorted(csv_records[key].programs), key
        assert set(xml[key].aliases) <= set(csv_records[key].aliases), key
    assert xml["2674"].name == "ABBAS, Abu"
    assert xml["2674"].aliases == ["ZAYDAN, Muhammad"]


# --- refusals ---------------------------------------------------------------------------------------------------


def test_empty_download_is_refused():
    with pytest.raises(ParseError, match="empty"):
        list(OfacSdn().parse({"main": real("failures/ofac_sdn_csv_empty_download_2024-05-04.csv")}))


@pytest.mark.parametrize("cut", [3, 7, 25, 60, -10, -1])
@pytest.mark.parametrize(("tail", "message"), [(b"", "ends mid-row"), (b"\r\n", "line 5001")])
def test_sdn_csv_cut_in_the_middle_of_a_row_is_refused(tmp_path, cut, tail, message):
    """Cut inside line 5001 (in ent_num, the name, the remarks...); also when a newline follows the cut."""
    data = real("ofac/sdn_csv/2024-02-20_sdn.csv").read_bytes()
    lines = data.split(b"\r\n")
    start = len(b"\r\n".join(lines[:5000])) + 2  # start of line 5001
    end = start + len(lines[5000])
    truncated = tmp_path / "sdn.csv"
    truncated.write_bytes(data[: (start + cut) if cut > 0 else (end + cut)] + tail)
    with pytest.raises(ParseError, match=message):
        list(OfacSdn().parse({"main": truncated}))


def test_row_with_wrong_column_count_names_the_line(tmp_path):
    rows = (FIXTURES / "us_ofac_sdn" / "sdn.csv").read_bytes().split(b"\r\n")
    rows[2] = rows[2].rsplit(b",", 1)[0]  # drop the Remarks column of the third row
    bad = tmp_path / "sdn.csv"
    bad.write_bytes(b"\r\n".join(rows))
    with pytest.raises(ParseError, match="line 3: 11 columns"):
        list(OfacSdn().parse({"main": bad}))


def test_truncated_xml_is_refused(tmp_path):
    data = real(CONS.format("2025-10-22")).read_bytes()
    cut = tmp_path / "CONSOLIDATED.XML"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match="not well-formed"):
        list(OfacConsolidated().parse({"main": cut}))


@pytest.mark.parametrize("failure", ["eu_csv_got_html_page.html", "eu_fsf_http500_2021-02-09.html",
                                     "eu_fsf_http500_2026-02-08.json"])
def test_html_and_json_error_pages_are_refused(tmp_path, failure):
    page = tmp_path / "sdn.csv"
    shutil.copy(real(f"failures/{failure}"), page)
    with pytest.raises(ParseError):
        list(OfacSdn().parse({"main": page}))


def test_other_xml_is_refused():
    with pytest.raises(ParseError, match="sdnList"):
        list(OfacSdn().parse({"main": real("un/2025-12-10_consolidated.xml")}))


def test_consolidated_csv_export_gives_the_same_names_types_and_programs_as_the_xml():
    """CONS_PRIM.csv (2025-12-19) is the sdn.csv layout; every uid agrees with CONSOLIDATED.XML of 2025-12-18."""
    csv_records = parse({"main": real("ofac/CONS_PRIM_2025-12-19.csv")}, OfacConsolidated)
    xml = parse({"main": real(CONS.format("2025-12-18"))}, OfacConsolidated)
    assert set(csv_records) == set(xml) and len(xml) == 442
    for key, record in xml.items():
        assert csv_records[key].name == record.name, key
        assert csv_records[key].entity_type == record.entity_type, key
        assert sorted(csv_records[key].programs) == sorted(record.programs), key
