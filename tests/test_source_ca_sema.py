"""Canada SEMA adapter: the real 2020 list (older schema) and our own current-schema fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.records import Vessel
from sources.ca_sema import CanadaSema
from tests.conftest import real

OLD = "ca/2020-04-15_sema-lmes_old_schema.xml"
# Written by us in the official current schema (no real current sample was available).
CURRENT = Path(__file__).parent / "fixtures" / "ca_sema" / "sema_current_schema.xml"


def parse(path) -> dict:
    return {r.key: r for r in CanadaSema().parse({"main": path})}


def test_old_schema_yields_every_record_with_a_unique_content_key():
    records = parse(real(OLD))
    assert len(records) == 1369  # 1,369 <record> elements, no duplicate (country, schedule, item) in the real file
    types = [r.entity_type for r in records.values()]
    assert types.count("person") == 985 and types.count("organization") == 384
    for r in records.values():
        r.validate()


def test_old_schema_keys_programs_and_fields():
    records = parse(real(OLD))
    air_bagan = records["Burma|1|1"]
    assert air_bagan.name == "Air Bagan" and air_bagan.entity_type == "organization"
    assert air_bagan.aliases == ["Air Bagan Holdings Pte. Ltd.", "Air Bagan Limited"]
    assert air_bagan.programs == ["Burma"] and air_bagan.extra["country"] == "Burma / Birmanie"
    assert records["Russia|1, Part 2|1"].name == "Aktsionerny Bank Russian Federation"
    shwe = records["Burma|2|1"]
    assert (shwe.name, shwe.entity_type, shwe.birth_dates) == ("Than Shwe", "person", ["1933-02-02"])
    mugabe = records["Zimbabwe||1"]  # "N/A" schedule
    assert mugabe.name == "Robert Gabriel Mugabe" and mugabe.birth_dates == ["1924-02-21"]
    assert records["Venezuela||55"].name == "Manuel Gregorio BERNAL MARTÍNEZ"  # no Schedule element at all
    jvcfor = records["Justice for Victims of Corrupt Foreign Officials Regulations (JVCFOR)|1|1"]
    assert jvcfor.name == "Nicolás MADURO MOROS"
    assert jvcfor.programs == ["Justice for Victims of Corrupt Foreign Officials Regulations (JVCFOR)"]
    assert records["Venezuela||1"].name == "Nicolás MADURO MOROS"  # the same person under another regime


def test_current_schema_fixture_reads_ships_listing_dates_and_titles():
    records = parse(CURRENT)
    ship = records["Russia|1, Part 3|12"]
    assert (ship.entity_type, ship.name) == ("vessel", "KOROLEV PROSPECT")
    assert [(i.type, i.number) for i in ship.identifiers] == [("IMO", "9826902")]
    assert ship.birth_dates == [] and ship.vessel == Vessel(imo="9826902", type="Oil Tanker", build_year="2019")
    assert ship.listed_on == "2024-06-13"
    person = records["Belarus|1, Part 1|1"]
    assert person.name == "Khazalbek Bakhtibekovich Atabekov" and person.listed_on == "2020-09-28"
    glazyev = records["Russia|1, Part 1|1"]
    assert glazyev.birth_dates == ["1961-01-01"] and glazyev.extra["title"] == "Dr."
    assert "Белаэронавигация" in records["Belarus|1, Part 2|1"].aliases


def test_bilingual_tag_names_are_read_like_the_english_ones(tmp_path):
    path = tmp_path / "sema.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><data-set><record><Country-Pays>Russia / Russie</Country-Pays>'
        "<EntityOrShip-EntiteOuNavire>OAO Novatek</EntityOrShip-EntiteOuNavire><Schedule-Annexe>3</Schedule-Annexe>"
        "<Item-NumeroDarticle>1</Item-NumeroDarticle><DateOfListing-DateDinscription>2014-07-24"
        "</DateOfListing-DateDinscription></record></data-set>",
        encoding="utf-8",
    )
    (novatek,) = parse(path).values()
    assert (novatek.key, novatek.name, novatek.listed_on) == ("Russia|3|1", "OAO Novatek", "2014-07-24")


def test_duplicate_keys_are_told_apart_by_content_not_position(tmp_path):
    def write(order):
        recs = "".join(f"<record><Country>Iran</Country><Entity>{n}</Entity><Schedule>1</Schedule><Item>7</Item>"
                       "</record>" for n in order)
        path = tmp_path / f"{order[0]}.xml"
        path.write_text(f"<data-set>{recs}</data-set>", encoding="utf-8")
        return {k: r.name for k, r in parse(path).items()}

    assert write(["B Co", "A Co"]) == write(["A Co", "B Co"]) == {"Iran|1|7": "A Co", "Iran|1|7#2": "B Co"}


@pytest.mark.parametrize(
    "rel",
    ["failures/eu_csv_got_html_page.html", "failures/eu_fsf_http500_2026-02-08.json",
     "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "un/2025-12-09_consolidated.xml"],
)
def test_files_that_are_not_the_canadian_list_raise_parse_error(rel):
    with pytest.raises(ParseError):
        list(CanadaSema().parse({"main": real(rel)}))
