"""UN Security Council Consolidated List adapter against the real consolidated.xml files."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.un_sc import UnSecurityCouncil
from tests.conftest import real


def parse(path: Path) -> dict:
    return {r.key: r for r in UnSecurityCouncil().parse({"main": path})}


def hashes(path: Path) -> dict[str, str]:
    return {key: content_hash(canonical(r.payload())) for key, r in parse(path).items()}


def test_2025_12_09_has_727_individuals_and_273_entities():
    records = parse(real("un/2025-12-09_consolidated.xml"))
    assert len(records) == 1000
    assert Counter(r.entity_type for r in records.values()) == {"person": 727, "organization": 273}


def test_2025_12_10_removes_exactly_dataid_6908121():
    old = hashes(real("un/2025-12-09_consolidated.xml"))
    new = hashes(real("un/2025-12-10_consolidated.xml"))
    assert set(old) - set(new) == {"6908121"}
    assert set(new) - set(old) == set()
    assert {k for k in old.keys() & new.keys() if old[k] != new[k]} == set()


def test_2024_11_30_parses_every_dataid():
    path = real("un/2024-11-30_consolidated.xml")
    dataids = set(re.findall(rb"<DATAID>(\d+)</DATAID>", path.read_bytes()))
    records = parse(path)
    assert len(records) == len(dataids) == 879
    assert all(r.name and r.programs and r.extra.get("reference_number") for r in records.values())


def test_known_individual_fields():
    munir = parse(real("un/2025-12-09_consolidated.xml"))["6908121"]
    assert munir.name == "MUNIR AL QUBAYSI"
    assert munir.entity_type == "person"
    assert munir.programs == ["Iraq"]
    assert munir.listed_on == "2004-04-26"
    assert munir.extra["reference_number"] == "IQi.074"
    assert set(munir.aliases) == {"منير القبيسي", "Muneer Al-Kubaisi", "Munir A Mamduh. Awad", "Munir Al-Kubaysi",
                                  "Munir Awad"}
    assert munir.nationalities == ["Iraq"]
    assert munir.birth_dates == ["1966"]
    assert munir.birth_places == ["Heet, Iraq"]
    assert munir.countries == ["Syrian Arab Republic"]


def test_birth_date_kinds_documents_and_entities():
    records = parse(real("un/2025-12-09_consolidated.xml"))
    assert records["6908643"].birth_dates == ["between 1967 and 1969"]
    assert "approximately 1966" in {d for r in records.values() for d in r.birth_dates}
    exact = [d for r in records.values() for d in r.birth_dates if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)]
    assert len(exact) > 300
    tanzania = [i for r in records.values() for i in r.identifiers if i.number == "AB850901"]
    assert len(tanzania) == 1
    assert (tanzania[0].type, tanzania[0].country) == ("Passport", "United Republic of Tanzania")
    assert "Expiration date: 2026-12-11." in tanzania[0].note
    fardc = [i for r in records.values() for i in r.identifiers if i.number == "1-78-09-44621-80"]
    assert fardc and fardc[0].type == "National Identification Number (FARDC ID)"
    aiai = records["113457"]
    assert aiai.entity_type == "organization"
    assert aiai.name == "AL-ITIHAAD AL-ISLAMIYA / AIAI"
    assert aiai.aliases == ["الاتحاد الاسلامي"]
    assert aiai.extra["last_day_updated"][-1] == "2020-11-24"
    assert aiai.listed_on == "2001-10-06"


def test_empty_alias_elements_are_skipped():
    badege = parse(real("un/2025-12-09_consolidated.xml"))["6907993"]
    assert badege.aliases == []
    assert badege.addresses == ["Rwanda (as of early 2016)"]
    assert badege.gender == "male" and "gender" not in badege.extra


def test_date_generated_header_is_not_in_records(tmp_path):
    src = real("un/2025-12-10_consolidated.xml")
    edited = tmp_path / "consolidated.xml"
    data = re.sub(rb'dateGenerated="[^"]*"', b'dateGenerated="2030-01-01T00:00:00.000Z"', src.read_bytes(), count=1)
    assert data != src.read_bytes()
    edited.write_bytes(data)
    assert hashes(src) == hashes(edited)


def test_truncated_xml_is_refused(tmp_path):
    data = real("un/2025-12-10_consolidated.xml").read_bytes()
    cut = tmp_path / "consolidated.xml"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ParseError, match="not well-formed"):
        list(UnSecurityCouncil().parse({"main": cut}))


@pytest.mark.parametrize("failure", ["eu_csv_got_html_page.html", "eu_fsf_http500_2021-02-09.html",
                                     "eu_fsf_http500_2026-02-08.json", "ofac_sdn_csv_empty_download_2024-05-04.csv"])
def test_error_pages_and_empty_downloads_are_refused(tmp_path, failure):
    page = tmp_path / "consolidated.xml"
    shutil.copy(real(f"failures/{failure}"), page)
    with pytest.raises(ParseError):
        list(UnSecurityCouncil().parse({"main": page}))


def test_other_xml_is_refused():
    with pytest.raises(ParseError, match="CONSOLIDATED_LIST"):
        list(UnSecurityCouncil().parse({"main": real("ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML")}))
