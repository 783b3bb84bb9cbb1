"""trade.gov Consolidated Screening List: current CSV (_id), old CSV (no _id) and the API's JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.us_csl import ConsolidatedScreeningList, source_code
from tests.conftest import real

FIXTURES = Path(__file__).parent / "fixtures" / "us_csl"
FAILURES = (
    "failures/eu_fsf_http500_2021-11-04.json",
    "failures/eu_fsf_http500_2021-02-09.html",
    "failures/eu_csv_got_html_page.html",
    "failures/ofac_sdn_csv_empty_download_2024-05-04.csv",
)


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in ConsolidatedScreeningList(options).parse({"main": path})}


def hashes(records: dict) -> dict[str, str]:
    return {k: content_hash(canonical(r.payload())) for k, r in records.items()}


def test_current_csv_is_keyed_by_id_with_sublist_as_program():
    recs = parse(real("csl/excerpt_2025-06_consolidated.csv"))
    assert len(recs) == 13
    rim = recs["52291"]
    assert rim.name == "RIM, Ryong Nam" and rim.entity_type == "person"
    assert rim.programs == ["Specially Designated Nationals (SDN) - Treasury Department", "NPWMD"]
    assert rim.extra["source_code"] == "SDN"
    assert rim.nationalities == ["KP"] and rim.birth_dates == ["1978-12-05"]
    assert rim.addresses == ["Shenyang, CN", "Pyongyang, KP"] and rim.countries == ["CN", "KP"]
    assert [(i.type, i.number, i.country) for i in rim.identifiers] == [("Passport", "836238033", "KP")]
    assert rim.gender == "male" and "gender" not in rim.extra
    assert any(s.startswith("Secondary sanctions risk:") for s in rim.extra["sanctions_information"])
    el = recs["99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be"]
    assert el.extra["source_code"] == "EL" and el.entity_type == "unknown"
    sme = recs["18283"]
    assert sme.name == "SME BANK" and sme.programs[-1] == "UKRAINE-EO13662"
    assert ("SWIFT/BIC", "RUDVRUMM") in {(i.type, i.number) for i in sme.identifiers}
    assert {r.extra["source_code"] for r in recs.values()} == {
        "ISN", "UVL", "MEU", "PLC", "SDN", "DTC", "DPL", "SSI", "FSE", "EL"
    }
    plc = recs["9673"]
    assert plc.aliases == ["Mohammad Mutlaq ABU JHESHEH", "Mohammed ABU JEHEISHA"]
    assert plc.birth_places == ["Izna, Hebron"] and plc.birth_dates == ["1955"]
    sino = recs["233a4d725770c81fb561ffe3842c14010c2201971d6be62eca1e613b"]
    assert sino.name.startswith("Sinobright Import and Export Company; and any successor")  # name is not split
    assert sino.listed_on == "2023-07-19" and sino.extra["federal_register_notice"] == "Vol. 88, No. 151, 08/08/2023"


def test_old_format_keys_by_entity_number_or_content():
    recs = parse(real("csl/2019_csl_old_format.csv"))
    assert len(recs) == 115
    psa = recs["20264"]
    assert psa.name == "200G PSA HOLDINGS LLC" and psa.entity_type == "organization"
    assert [(i.type, i.number, i.country) for i in psa.identifiers] == [("Tax ID No.", "80-0890696", "US")]
    assert recs["8124"].aliases == ["CARIBE SOL", "HAVANTUR CANADA INC."]
    group = [r for r in recs.values() if r.name == "32 Group China Ltd."]
    assert len(group) == 1 and group[0].key.startswith("EL:")
    assert len(group[0].addresses) == 2 and group[0].countries == ["HK", "HK"]
    assert group[0].extra["license_policy"] == "Presumption of denial."
    vessel = recs["23156"]
    assert vessel.entity_type == "vessel"
    assert vessel.identifiers[0].number == "IMO 8898831"
    assert sum(r.key.startswith("EL:") for r in recs.values()) == 22


def test_old_format_content_key_is_stable_and_an_amended_remark_is_an_amendment(tmp_path):
    src = real("csl/2019_csl_old_format.csv")
    before = hashes(parse(src))
    assert before == hashes(parse(src))
    text = src.read_text(encoding="utf-8")
    changed = tmp_path / "csl.csv"
    changed.write_text(text.replace("FR NOTICE ADDED", "FR NOTICE ADDED; AMENDED", 1), encoding="utf-8")
    after = hashes(parse(changed))
    assert after.keys() == before.keys()
    assert [k for k in before if before[k] != after[k]] == [
        r.key for r in parse(changed).values() if r.name.strip() == "ADRIAN MANUEL HERNANDEZ"
    ]


def test_api_json_fixture_written_by_us_in_the_api_format():
    # csl_api_search.json is ours: the CSL API's {"results": [...]} shape, no real sample was available.
    recs = parse(FIXTURES / "csl_api_search.json")
    assert set(recs) == {
        "52291", "99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be",
        "b601cbf2841d0aaedfe63661581ffbc3d54b6ba39d7e3a9027cff50e",
    }
    rim = recs["52291"]
    assert rim.addresses == ["Shenyang, CN", "Pyongyang, KP"] and rim.identifiers[0].country == "KP"
    el = recs["99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be"]
    assert el.aliases == ["CETC 54th Research Institute", "Communication, Telemetry and Telecontrol Research Institute"]
    assert "search_performed_at" not in str(canonical(el.payload()))


def test_same_row_in_csv_and_json_gives_the_same_content():
    csv_rec = parse(real("csl/excerpt_2025-06_consolidated.csv"))["52291"]
    json_rec = parse(FIXTURES / "csl_api_search.json")["52291"]
    for field in ("name", "entity_type", "programs", "nationalities", "birth_dates", "addresses", "countries"):
        assert getattr(csv_rec, field) == getattr(json_rec, field), field


def test_source_code_of_sublist_names():
    assert source_code("Entity List (EL) - Bureau of Industry and Security") == "EL"
    assert source_code("Military End User (MEU) List - Bureau of Industry and Security") == "MEU"


def test_row_with_wrong_column_count_is_a_parse_error(tmp_path):
    lines = (FIXTURES / "csl_excerpt.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], lines[1], lines[2].rsplit(",", 3)[0]]) + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match="columns"):
        list(ConsolidatedScreeningList().parse({"main": bad}))


def test_other_csv_is_a_parse_error():
    with pytest.raises(ParseError, match="header"):
        list(ConsolidatedScreeningList().parse({"main": real("ofac/sdn_csv/2024-02-20_sdn.csv")}))


@pytest.mark.parametrize("name", FAILURES)
def test_real_failure_downloads_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(ConsolidatedScreeningList().parse({"main": real(name)}))
