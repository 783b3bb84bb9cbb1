"""15 CFR part 746 supplements (HS codes) from eCFR XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.us_bis_ecfr import BisEcfrPart746
from tests.conftest import real

# The part 746 files are written by us in the eCFR XML format of export_control/ecfr_bulk_xml_title1_sample.xml
# (DIV5/DIV8/DIV9, gpotbl TABLE); no real part 746 sample was available.
FIXTURES = Path(__file__).parent / "fixtures" / "us_bis_ecfr"
V1, V2 = FIXTURES / "part746_2024-01-01.xml", FIXTURES / "part746_2024-06-01.xml"


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in BisEcfrPart746(options).parse({"main": path})}


def hashes(records: dict) -> dict[str, str]:
    return {k: content_hash(canonical(r.payload())) for k, r in records.items()}


def test_supplement_rows_become_hs_licence_requirements():
    recs = parse(V1)
    assert set(recs) == {"4|8402.11", "4|8402.12", "4|8413.50", "4|8419.40", "5|2203.00", "5|3303.00", "5|7113.11"}
    rec = recs["4|8419.40"]
    assert rec.item_code == "8419.40" and rec.code_type == "HS"
    assert rec.description == "Distilling or rectifying plant"
    assert rec.measure == "licence_requirement" and rec.origin == "US"
    assert sorted(rec.target_countries) == ["BY", "RU"]
    assert rec.legal_basis == "15 CFR 746 Supplement No. 4"
    for r in recs.values():
        r.validate()


def test_version_pair_diff_is_one_code_added_and_one_lifted():
    before, after = hashes(parse(V1)), hashes(parse(V2))
    assert after.keys() - before.keys() == {"4|8479.89"}
    assert before.keys() - after.keys() == {"5|2203.00"}
    # the supplement's amendment citation changed too: history, not content
    assert all(before[k] == after[k] for k in before.keys() & after.keys())


def test_gpotable_layout_reads_the_same(tmp_path):
    doc = tmp_path / "gpo.xml"
    doc.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<DIV5 N="746" TYPE="PART"><DIV9 N="Supplement No. 4 to Part 746" TYPE="APPENDIX">
<HEAD>Supplement No. 4 to Part 746—Russian and Belarusian Industry Sector Sanctions</HEAD>
<GPOTABLE COLS="2" OPTS="L2"><BOXHD><CHED H="1">HTS code</CHED><CHED H="1">Description</CHED></BOXHD>
<ROW><ENT I="01">8419.40</ENT><ENT>Distilling or rectifying plant</ENT></ROW></GPOTABLE></DIV9></DIV5>""",
        encoding="utf-8",
    )
    rec = parse(doc)["4|8419.40"]
    gpo = canonical(rec.payload())
    html = canonical(parse(V1)["4|8419.40"].payload())
    for field in ("item_code", "code_type", "description", "measure", "target_countries", "legal_basis"):
        assert gpo[field] == html[field], field


def test_title_without_part_746_tables_is_a_parse_error():
    with pytest.raises(ParseError, match="no HS code tables found"):
        list(BisEcfrPart746().parse({"main": real("export_control/ecfr_bulk_xml_title1_sample.xml")}))


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html"]
)
def test_real_failure_downloads_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(BisEcfrPart746().parse({"main": real(name)}))


def test_truncated_xml_is_a_parse_error(tmp_path):
    cut = tmp_path / "cut.xml"
    cut.write_bytes(V1.read_bytes()[:2500])
    with pytest.raises(ParseError):
        list(BisEcfrPart746().parse({"main": cut}))
