"""EU FSF XML 1.1 adapter against the real excerpts in shared/data/real/eu and the real EU failure downloads."""

from __future__ import annotations

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.eu_fsf import EuFinancialSanctions
from tests.conftest import real

A = "eu/excerpt_2026-08-05_a_xmlFullSanctionsList_1_1.xml"
B = "eu/excerpt_2026-08-05_b_xmlFullSanctionsList_1_1.xml"


def parse(rel: str) -> dict:
    return {r.key: r for r in EuFinancialSanctions().parse({"main": real(rel)})}


def test_excerpt_a_yields_every_entity_keyed_by_logical_id():
    records = parse(A)
    assert sorted(records, key=int) == ["13", "191", "330", "980", "999999"]
    for r in records.values():
        r.validate()


def test_excerpt_b_yields_five_real_entities():
    assert sorted(parse(B), key=int) == ["191", "521", "3822", "6106", "6177"]


def test_primary_name_is_the_lowest_strong_alias_and_all_scripts_are_aliases():
    records = parse(B)
    asiri = records["6177"]
    assert asiri.name == "Ibrahim Hassan Tali Al-Asiri"
    assert "إبراهيم حسن طالع عسيري" in asiri.aliases
    assert "Abu Saleh" in asiri.aliases and asiri.name not in asiri.aliases
    pci = records["3822"]
    assert pci.name == "Parchin Chemical Industries (PCI)"
    assert {"صنایع شیمیایی پارچین", "Parcsini Vegyipari Vállalat", "Parchin-Militärbasis"} <= set(pci.aliases)
    assert parse(A)["330"].aliases.count("Организация за подпомагане на Ulema, Пакистан") == 1


def test_birth_dates_keep_calendar_and_approximation_as_published():
    records = parse(B)
    assert sorted(records["6177"].birth_dates) == ["1402-06-24 (ISLAMIC)", "1982-04-18", "1982-04-19"]
    assert records["521"].birth_dates == ["circa 1953-1958", "circa 1953-1958"]
    assert "between 1953 and 1958" in records["521"].extra["birth_date_remarks"]
    assert "Riyadh, SAUDI ARABIA" in records["6177"].birth_places


def test_entity_type_programs_and_regulations():
    records = parse(A)
    saddam = records["13"]
    assert (saddam.entity_type, saddam.programs, saddam.nationalities) == ("person", ["IRQ"], ["IQ"])
    assert saddam.listed_on == "2003-07-08"  # no designationDate: the earliest regulation's publication date
    assert saddam.extra["regulations"][0]["number_title"] == "1210/2003 (OJ L169)"
    assert saddam.remarks == "UNSC RESOLUTION 1483"
    assert saddam.gender == "male" and records["980"].gender is None  # nameAlias gender="M"; organizations none
    trust = records["330"]
    assert trust.entity_type == "organization" and trust.programs == ["TAQA"]
    assert trust.listed_on == "2001-10-06"  # designationDate wins
    assert len(trust.addresses) == 11 and trust.countries.count("PK") == 11
    assert "PHONE: 497 92 63" in trust.extra["contact_info"]
    numbers = {r["number_title"] for r in trust.extra["regulations"]}
    assert {"2024/328 (OJ L15012024)", "951/2002 (OJ L145)", "1102/2009 (OJ L303)"} <= numbers


def test_identity_documents_and_un_ids_become_identifiers():
    records = parse(B)
    dorda = records["6106"]
    passports = [i for i in dorda.identifiers if i.number == "FK117RK0"]
    assert passports and passports[0].country == "LY" and "valid to 2026-11-24" in passports[0].note
    assert any(i.type == "UN reference" and i.number == "LYi.006" for i in dorda.identifiers)
    expired = next(i for i in records["6177"].identifiers if i.number == "F654645")
    assert "known expired" in expired.note


def test_entity_without_any_name_keeps_its_key_with_the_reference_number_as_name():
    synthetic = parse(A)["999999"]
    assert synthetic.name == "EU.0.0" and synthetic.extra["name_missing"] is True


def test_generation_date_never_reaches_records():
    for r in parse(A).values():
        assert "2026-08-05T16:47" not in repr(r.payload())


def test_same_entity_in_both_excerpts_hashes_the_same_and_the_diff_is_the_other_keys():
    def hashes(rel):
        return {k: content_hash(canonical(r.payload())) for k, r in parse(rel).items()}

    a, b = hashes(A), hashes(B)
    assert a["191"] == b["191"]  # entity 191 is carved identically into both files (b is re-saved)
    assert set(b) - set(a) == {"521", "3822", "6106", "6177"}
    assert set(a) - set(b) == {"13", "330", "980", "999999"}


@pytest.mark.parametrize(
    "rel",
    [
        "failures/eu_fsf_http500_2021-02-09.html",
        "failures/eu_fsf_http500_2021-11-04.json",
        "failures/eu_fsf_http500_2026-02-08.json",
        "failures/eu_csv_got_html_page.html",
        "failures/ofac_sdn_csv_empty_download_2024-05-04.csv",
    ],
)
def test_real_failure_downloads_raise_parse_error(rel):
    with pytest.raises(ParseError):
        list(EuFinancialSanctions().parse({"main": real(rel)}))


def test_truncated_export_raises_parse_error(tmp_path):
    data = real(A).read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError):
        list(EuFinancialSanctions().parse({"main": cut}))


def test_other_xml_root_raises_parse_error():
    with pytest.raises(ParseError, match="expected <export>"):
        list(EuFinancialSanctions().parse({"main": real("un/2025-12-09_consolidated.xml")}))
