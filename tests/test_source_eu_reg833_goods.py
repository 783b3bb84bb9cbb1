"""EU Regulation 833/2014 goods annexes (CN/HS codes) from Formex XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.eu_reg833_goods import EuRegulation833Goods
from tests.conftest import real

# Written by us in EUR-Lex's Formex 4 format (CONS.ANNEX/TBL/ROW/CELL): no real goods-annex sample was available
# (export_control/eu_reg833_2014_entity_annexes_transcribed.csv holds the entity annexes, not goods).
FIXTURE = Path(__file__).parent / "fixtures" / "eu_reg833_goods" / "reg833_goods_annexes_formex.xml"


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in EuRegulation833Goods(options).parse({"main": path})}


def hashes(records: dict) -> dict[str, str]:
    return {k: content_hash(canonical(r.payload())) for k, r in records.items()}


def test_annex_rows_become_records_keyed_by_annex_and_code():
    recs = parse(FIXTURE)
    assert set(recs) == {
        "XVIII|03011100", "XVIII|220830", "XVIII|7113", "XXI|2208", "XXI|7208",
        "XXIII|28011000", "XXIII|29051100", "XXIII|29141100", "XXIII|854110",
    }
    chlorine = recs["XXIII|28011000"]
    assert chlorine.item_code == "2801 10 00" and chlorine.code_type == "CN"
    assert chlorine.description == "Chlorine" and chlorine.measure == "export_ban"
    assert chlorine.origin == "EU" and chlorine.target_countries == ["RU"]
    assert chlorine.legal_basis == "Council Regulation (EU) No 833/2014, Annex XXIII"
    assert recs["XXIII|854110"].code_type == "HS"
    assert recs["XVIII|7113"].extra["ex_code"] is True
    for r in recs.values():
        r.validate()


def test_import_annex_is_an_import_ban_and_entity_annex_yields_nothing():
    recs = parse(FIXTURE)
    assert {r.measure for k, r in recs.items() if k.startswith("XXI|")} == {"import_ban"}
    assert not any(k.startswith("IV|") for k in recs)


def test_an_added_code_is_one_addition(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8")
    row = '<ROW><CELL COL="1"><P>2901 21 00</P></CELL><CELL COL="2"><P>Ethylene</P></CELL></ROW>\n'
    changed = tmp_path / "amended.xml"
    changed.write_text(text.replace("<ROW><CELL COL=\"1\"><P>2801 10 00", row + "<ROW><CELL COL=\"1\"><P>2801 10 00"),
                       encoding="utf-8")
    before, after = hashes(parse(FIXTURE)), hashes(parse(changed))
    assert after.keys() - before.keys() == {"XXIII|29012100"}
    assert all(before[k] == after[k] for k in before)


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html",
             "export_control/eu_reg833_2014_entity_annexes_transcribed.csv",
             "export_control/ecfr_bulk_xml_title1_sample.xml"]
)
def test_other_files_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(EuRegulation833Goods().parse({"main": real(name)}))
