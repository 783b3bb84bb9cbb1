"""JapanMetiEndUserList against the real METI End User List (XLSX 2025-09-29, HTML 2025-01-31)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from sources.jp_meti_eul import JapanMetiEndUserList
from tests.conftest import real

XLSX = "jp/meti_end_user_list_2025-09-29.xlsx"
HTML = "jp/meti_end_user_list_2025-01-31.html"

# Checked by hand against both files: 3 entries deleted from the list (DAE India, Sho'a' Aviation, SIG,
# Beijing StarNeto), the rest renamed in 2025-09 (Chinese name or acronym added, "Ltd" -> "Limited",
# "Severniy Press JSC" -> "Joint Stock Company Severniy Press"), so they come back under a new key.
REMOVED_SINCE_2025_01 = {
    "india:directorate-of-purchase-and-stores-dae",
    "islamic-republic-of-iran:sho-a-aviation",
    "islamic-republic-of-iran:special-industries-group-sig",
    "islamic-republic-of-pakistan:link-lines-pvt-ltd",
    "people-s-republic-of-china:academy-of-military-medical-sciences-institute-of-microbiology-and-epidemiology"
    "-軍事医学研究院微生物流行病研究所",
    "people-s-republic-of-china:beijing-starneto-technology-co-ltd",
    "people-s-republic-of-china:dandong-rich-earth-trading-co-ltd",
    "people-s-republic-of-china:mingzheng-international-trading-limited",
    "people-s-republic-of-china:northwestern-polytechnical-university-西北工業大学",
    "russian-federation:severniy-press-jsc",
}


def parse(path: Path) -> dict:
    records = list(JapanMetiEndUserList().parse({"main": path}))
    for r in records:
        r.validate()
    keyed = {r.key: r for r in records}
    assert len(keyed) == len(records)
    return keyed


@pytest.fixture(scope="module")
def xlsx() -> dict:
    return parse(real(XLSX))


@pytest.fixture(scope="module")
def html() -> dict:
    return parse(real(HTML))


def test_xlsx_has_835_entries(xlsx):
    assert len(xlsx) == 835
    assert all(r.entity_type == "organization" for r in xlsx.values())


def test_html_version_has_748_entries(html):
    assert len(html) == 748


def test_known_entry_fields(xlsx):
    r = xlsx["islamic-republic-of-afghanistan:al-qa-ida-islamic-army"]
    assert r.name == "Al Qa'ida/Islamic Army"
    assert r.countries == ["Islamic Republic of Afghanistan"]
    assert r.extra["country_ja"] == "アフガニスタン"
    assert r.programs == ["Biological", "Chemical", "Missile", "Nuclear", "Conventional Weapons"]
    assert "Usama Bin Laden Network" in r.aliases and len(r.aliases) == 8


def test_row_number_is_not_in_the_record(xlsx):
    r = xlsx["islamic-republic-of-afghanistan:al-qa-ida-islamic-army"]
    assert "1" not in r.payload()["extra"].values()
    assert all(":" in k and not k.split(":")[0].isdigit() for k in xlsx)


def test_layout_change_from_html_to_xlsx_is_no_mass_change(xlsx, html):
    added, removed = set(xlsx) - set(html), set(html) - set(xlsx)
    assert removed == REMOVED_SINCE_2025_01, sorted(removed)
    # 97 real additions (41 Russian, 24 Iranian, 18 Chinese... parties) plus the 6 renamed entries.
    assert len(added) == 97, sorted(added)
    assert len(added) + len(removed) < 0.15 * len(xlsx)
    assert len(set(xlsx) & set(html)) == 738


def test_html_wrapped_cjk_name_joins_without_space(html):
    assert "hong-kong:nanxigu-technology-co-limited-南溪穀科技有限公司" in html


@pytest.mark.parametrize("name", ["eu_csv_got_html_page.html", "eu_fsf_http500_2021-02-09.html",
                                  "eu_fsf_http500_2021-11-04.json", "eu_fsf_http500_2026-02-08.json",
                                  "ofac_sdn_csv_empty_download_2024-05-04.csv"])
def test_real_failure_samples_raise_parse_error(name):
    with pytest.raises(ParseError):
        list(JapanMetiEndUserList().parse({"main": real(f"failures/{name}")}))
