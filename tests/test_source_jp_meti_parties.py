"""JapanMetiExportBanParties against the real METI lists (pdftotext output of the PDFs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.jp_meti_parties import JapanMetiExportBanParties
from tests.conftest import real

DIR = "jp/meti_export_ban_parties/"
RU_OLD = DIR + "meti_list_russia_tokutei_2025-07-25_f7184a2e2.txt"
RU_NEW = DIR + "meti_list_russia_tokutei_2025-09-12_926dd5660.txt"
THIRD_OLD = DIR + "meti_list_daisangoku_tokutei_2025-07-25_f7184a2e2.txt"
THIRD_NEW = DIR + "meti_list_daisangoku_tokutei_2025-09-12_926dd5660.txt"
BELARUS = DIR + "meti_list_belarus_tokutei_2025-07-25_f7184a2e2.txt"


def parse(path: Path, **options) -> dict:
    records = {r.key: r for r in JapanMetiExportBanParties(options).parse({"main": path})}
    for r in records.values():
        r.validate()
    return records


def hashes(records: dict) -> dict[str, str]:
    return {k: content_hash(canonical(r.payload())) for k, r in records.items()}


def test_russia_list_adds_exactly_560_and_561_and_changes_nothing_else():
    old, new = hashes(parse(real(RU_OLD))), hashes(parse(real(RU_NEW)))
    assert len(old) == 559 and len(new) == 561
    assert set(new) - set(old) == {"russia-560", "russia-561"}
    assert set(old) - set(new) == set()
    assert [k for k in old if old[k] != new[k]] == []


def test_added_russian_entries_have_their_names_aliases_and_address():
    new = parse(real(RU_NEW))
    alfa, vnesh = new["russia-560"], new["russia-561"]
    assert alfa.name == "Alfa Machinery Group"
    expected = {"アルファ・マシナリー・グループ", "AMG社", "有限会社AMG", "LLC Company AMG", "Kompaniya AMG"}
    assert set(alfa.aliases) == expected
    assert alfa.addresses == ["ul. Kuskovskaya, d. 20A, pom. XIIA, komn. 114, Moscow 111141, Russia"]
    assert alfa.countries == ["Russia"]
    assert alfa.programs == ["JP-EXPORT-BAN-RU"]
    assert vnesh.name == "LLC Vneshekostil"
    assert set(vnesh.aliases) == {"OOO Vneshekostil", "有限会社ヴネシュエコスティル"}


def test_entry_number_glued_to_previous_line_starts_a_new_entry():
    new = parse(real(RU_NEW))
    # "...Moscow 127055RU.10 対外諜報庁" and "...Russia.560 アルファ..." in the text
    assert new["russia-9"].addresses == ["22, Sushchevskaya UI, Moscow 127055RU"]
    assert new["russia-10"].name == "Foreign Intelligence Service (SVR)"
    assert new["russia-559"].addresses[-1] == "Dirizhabelnaya Str., 15a, Dolgoprudny, Moscow Oblast, 141700, Russia"


def test_aka_aliases_and_japanese_aliases():
    new = parse(real(RU_NEW))
    fsb = new["russia-6"]
    assert fsb.name == "Federal Security Service (FSB)"
    assert set(fsb.aliases) == {"Federalnaya Sluzhba Bezopasnosti", "連邦保安庁"}
    assert len(fsb.addresses) == 2
    gru = new["russia-22"]
    assert gru.name == "Main Intelligence Directorate"
    assert {"GRU", "Main Intelligence Department", "参謀本部情報総局", "情報総局"} <= set(gru.aliases)


def test_third_country_list_47_to_56_entries():
    old, new = hashes(parse(real(THIRD_OLD))), hashes(parse(real(THIRD_NEW)))
    assert len(old) == 47 and len(new) == 56
    assert set(new) - set(old) == {f"third-country-{n}" for n in range(48, 57)}
    assert set(old) - set(new) == set()
    assert [k for k in old if old[k] != new[k]] == []


def test_third_country_entries_have_countries_and_cjk_aliases():
    new = parse(real(THIRD_NEW))
    assert new["third-country-1"].name == "Tako LLC"
    assert new["third-country-1"].countries == ["Armenia"]
    qisu = new["third-country-53"]  # Japanese name glued to the English one in the PDF text
    assert qisu.name == "Hong Kong Qisu Electronic Technology Co Ltd"
    assert "香港旗速電子有限公司" in qisu.aliases
    assert new["third-country-56"].countries == ["United Arab Emirates"]
    assert all(r.programs == ["JP-EXPORT-BAN-THIRD"] for r in new.values())


def test_belarus_list_parses():
    by = parse(real(BELARUS))
    assert len(by) == 27
    assert by["belarus-2"].name == "JSC Integral"
    assert "OAO Integral" in by["belarus-2"].aliases
    assert by["belarus-1"].countries == ["Belarus"]
    assert all(r.programs == ["JP-EXPORT-BAN-BY"] for r in by.values())


def test_list_variant_comes_from_the_title_not_the_file_name(tmp_path):
    renamed = tmp_path / "meti_list_belarus_tokutei.txt"
    renamed.write_bytes(real(THIRD_NEW).read_bytes())
    assert next(iter(parse(renamed))).startswith("third-country-")
    forced = parse(renamed, list="belarus")
    assert "belarus-1" in forced


@pytest.mark.parametrize("name", ["eu_csv_got_html_page.html", "eu_fsf_http500_2021-02-09.html",
                                  "eu_fsf_http500_2021-11-04.json", "eu_fsf_http500_2026-02-08.json",
                                  "ofac_sdn_csv_empty_download_2024-05-04.csv"])
def test_real_failure_samples_raise_parse_error(name):
    with pytest.raises(ParseError):
        list(JapanMetiExportBanParties().parse({"main": real(f"failures/{name}")}))
