"""JapanMofAssetFreeze against the real MOF workbook (2026-03-05) and the 2026 CSV excerpt."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import openpyxl
import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.jp_mof import JapanMofAssetFreeze
from tests.conftest import FIXTURES, real

XLSX = "jp/mof_shisantouketsu20260305.xlsx"
CSV = "jp/mof_shisantouketsu20260828_excerpt.csv"


def parse(path: Path) -> list:
    records = list(JapanMofAssetFreeze().parse({"main": path}))
    for r in records:
        r.validate()
    return records


def hashes(records: list) -> dict[str, str]:
    return {r.key: content_hash(canonical(r.payload())) for r in records}


@pytest.fixture(scope="module")
def xlsx() -> dict:
    records = parse(real(XLSX))
    keyed = {r.key: r for r in records}
    assert len(keyed) == len(records)
    return keyed


def test_workbook_record_counts_per_sheet(xlsx):
    per = collections.Counter(k[:3] for k in xlsx)
    # named rows of each sheet (deleted entries, which keep only their number, are skipped)
    assert per["001"] == 10 and per["002"] == 480 and per["003"] == 12 and per["004"] == 59
    assert per["028"] == 369 and per["029"] == 752 and per["030"] == 16
    assert "008" not in per and "011" not in per and "018" not in per  # lifted regimes: no table
    assert len(xlsx) == 2862


def test_known_record_fields(xlsx):
    r = xlsx["002-000005"]
    assert r.name == "MUHAMMAD TAHER ANWARI"
    assert "ムハンマド・ターヘル・アヌワリー" in r.aliases and "Haji Mudir" in r.aliases
    assert r.programs == ["タリバーン関係者等"]
    assert r.listed_on == "2001-09-22"
    assert r.extra["notice_dates"] == ["2001.9.22", "2008.6.25改訂", "2012.3.27改訂"]
    assert r.nationalities == ["アフガニスタン"]
    putin = xlsx["029-000001"]
    assert (putin.name, putin.entity_type, putin.birth_dates) == ("Vladimir Putin", "person", ["1952-10-07"])
    assert putin.aliases == ["ウラジーミル・プーチン"]
    assert xlsx["025-000005"].phones == ["963-112110059", "963-112110043"] and "phone" not in xlsx["025-000005"].extra


def test_cross_listing_mark_stays_out_of_the_key(xlsx):
    r = xlsx["003-000001"]
    assert r.name == "AL RASHID TRUST"
    assert r.extra["cross_listing"] == "(*186)"


def test_continuation_rows_join_their_record(xlsx):
    shabaab = xlsx["021-000001"]
    assert shabaab.name == "AL-SHABAAB"
    assert "ボイス・オブ・アメリカ" in shabaab.remarks


def test_csv_excerpt_three_records():
    records = {r.key: r for r in parse(real(CSV))}
    assert set(records) == {"001-000001", "001-000002", "002-000005"}
    r = records["001-000001"]
    assert r.name == "Milosevic Slobodan" and r.aliases == ["ミロシェヴィッチ・スロボダン"]
    assert r.birth_dates == ["1941-08-20"] and r.entity_type == "person"
    assert r.programs == ["ミロシェビッチ前ユーゴ大統領関係者"]
    assert not r.extra["notice_text"].startswith("１")  # the number is only in the key
    anwari = records["002-000005"]
    assert "Haji Mudir" in anwari.aliases and anwari.extra["title"] == ["ムラー", "Mullah"]


def test_renumbered_category_keeps_content_hashes(tmp_path):
    original = FIXTURES / "jp_mof" / "shisantouketsu.xlsx"
    moved = tmp_path / "renumbered.xlsx"
    shutil.copy(original, moved)
    wb = openpyxl.load_workbook(moved)
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("29."))
    for row in ws.iter_rows(min_row=3):
        row[1].value = str(int(row[1].value) + 1)  # MOF inserted an entry before them
    wb.save(moved)
    before = {k: h for k, h in hashes(parse(original)).items() if k.startswith("029-")}
    after = {k: h for k, h in hashes(parse(moved)).items() if k.startswith("029-")}
    assert len(before) == 3
    assert sorted(before.values()) == sorted(after.values())
    assert set(before) != set(after)
    assert JapanMofAssetFreeze.match_moved_by_content


def test_csv_with_a_short_row_is_a_parse_error(tmp_path):
    bad = tmp_path / "bad.csv"
    text = real(CSV).read_text(encoding="utf-8-sig").splitlines()
    bad.write_text("\n".join([text[0], "1,001-000001,2002.3.1"]), encoding="utf-8-sig")
    with pytest.raises(ParseError):
        list(JapanMofAssetFreeze().parse({"main": bad}))


@pytest.mark.parametrize("name", ["eu_csv_got_html_page.html", "eu_fsf_http500_2021-02-09.html",
                                  "eu_fsf_http500_2021-11-04.json", "eu_fsf_http500_2026-02-08.json",
                                  "ofac_sdn_csv_empty_download_2024-05-04.csv"])
def test_real_failure_samples_raise_parse_error(name):
    with pytest.raises(ParseError):
        list(JapanMofAssetFreeze().parse({"main": real(f"failures/{name}")}))
