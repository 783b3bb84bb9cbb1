"""SECO adapter against the real 2026 targets excerpt and the real programme/place declarations."""

from __future__ import annotations

import pytest

from notifier.adapter import ParseError
from sources.ch_seco import SecoSanctions, latest_modification
from tests.conftest import real

TARGETS = "ch/excerpt_2026-08-15_targets.xml"
PROGRAMS = "ch/2023-02-15_programs_and_places_only.xml"


def parse(path) -> dict:
    return {r.key: r for r in SecoSanctions().parse({"main": path})}


@pytest.fixture
def whole_file(tmp_path):
    """The real file's layout: programme headers, then targets, then places (two real files put together)."""
    programs = real(PROGRAMS).read_text(encoding="utf-8")
    targets = real(TARGETS).read_text(encoding="utf-8")
    body = targets.split('date="2026-08-15">', 1)[1].rsplit("</swiss-sanctions-list>", 1)[0]
    at = programs.index("\t<place ")
    path = tmp_path / "seco.xml"
    path.write_text(programs[:at] + body + programs[at:], encoding="utf-8")
    return path


def test_delisted_targets_are_not_yielded_although_still_in_the_file():
    records = parse(real(TARGETS))
    # 7 targets in the file; 5142, 5374 (de-listed 2016-03-01) and 5816 (de-listed 2013-12-20) are gone.
    assert sorted(records, key=int) == ["34461", "44348", "52941", "85396"]
    assert not {"5142", "5374", "5816"} & set(records)
    for r in records.values():
        r.validate()


def test_names_aliases_and_spelling_variants():
    records = parse(real(TARGETS))
    putina = records["52941"]
    assert putina.name == "Vorontsova Maria Vladimirovna" and putina.entity_type == "person"
    assert {"Putina", "Mariya Vorontsova", "Maria Faassen", "ВОРОНЦОВА Мария Владимировна"} == set(putina.aliases)
    assert putina.nationalities == ["RU"] and putina.birth_dates == ["1985-04-28"]
    assert putina.listed_on == "2022-04-13"
    mzkt = records["44348"]
    assert mzkt.entity_type == "organization" and "МЗКТ - Минский завод колёсных тягачей" in mzkt.aliases
    assert mzkt.listed_on == "2021-03-22"  # the "listed" modification, not the 2026 amendment
    assert "Registration number: 100534485" in mzkt.remarks


def test_object_vessel_and_identity_documents():
    records = parse(real(TARGETS))
    ship = records["34461"]
    assert (ship.name, ship.entity_type, ship.aliases) == ("Hui Chon", "vessel", ["Hwang Gum San 2"])
    assert [(i.type, i.number) for i in ship.identifiers] == [("IMO", "8405270")]
    assert ship.vessel.imo == "8405270" and ship.gender is None
    assert {r.gender for r in records.values()} >= {"male", "female"}  # SECO's sex attribute
    docs = {(i.type, i.number, i.country) for i in records["85396"].identifiers}
    assert docs == {("passport", "BM2229283", "BY"), ("id-card", "3070574E057PB8", "BY")}


def test_programme_and_place_references_resolve_to_text(whole_file):
    records = parse(whole_file)
    assert sorted(records, key=int) == ["34461", "44348", "52941", "85396"]
    mzkt = records["44348"]
    assert mzkt.programs == ["Belarus"]
    assert mzkt.extra["program_names"] == [
        "Ordinance of 16 March 2022 on measures against Belarus (SR 946.231.116.9), annex 5, 13, 14 and 15"]
    assert mzkt.extra["sanctions_sets"] == ["article 12 (Financial sanctions) and 25 para. 1 (Travelban), annexe 13"]
    assert mzkt.addresses == ["150 Partizansky Ave., 220021, Minsk, Belarus"] and mzkt.countries == ["BY"]
    assert records["34461"].programs == ["North Korea"]
    assert records["52941"].programs == ["Situation in Ukraine"]


def test_unresolved_sanctions_set_keeps_its_id():
    assert parse(real(TARGETS))["44348"].programs == ["SECO sanctions set 4387"]


def test_list_date_never_reaches_records():
    for r in parse(real(TARGETS)).values():
        assert "2026-08-15" not in repr(r.payload())


def test_relisting_after_delisting_counts_as_listed():
    mods = [{"type": "listed", "effective_date": None, "publication_date": None, "enactment_date": None},
            {"type": "de-listed", "effective_date": "2016-03-01", "publication_date": None, "enactment_date": None},
            {"type": "listed", "effective_date": "2022-03-16", "publication_date": None, "enactment_date": None}]
    assert latest_modification(mods)["type"] == "listed"
    assert latest_modification(mods[:2])["type"] == "de-listed"


@pytest.mark.parametrize(
    "rel",
    ["failures/eu_fsf_http500_2021-02-09.html", "failures/eu_fsf_http500_2026-02-08.json",
     "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "eu/excerpt_2026-08-05_a_xmlFullSanctionsList_1_1.xml",
     PROGRAMS],
)
def test_files_that_are_not_a_seco_target_list_raise_parse_error(rel):
    with pytest.raises(ParseError):
        list(SecoSanctions().parse({"main": real(rel)}))
