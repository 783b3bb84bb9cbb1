"""METI's Russia export-ban goods lists (HS codes), as CSV or XLSX in METI's table columns."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.jp_meti_goods import JapanMetiRussiaGoodsBan, iso_date
from tests.conftest import real

# Both CSVs are written by us: METI publishes these lists only as Excel/PDF; the columns follow METI's tables
# (HSコード, 品名, Description, 適用日, 備考); dates are illustrative.
FIXTURES = Path(__file__).parent / "fixtures" / "jp_meti_goods"
V1 = FIXTURES / "russia_export_ban_goods_2022-05-20.csv"
V2 = FIXTURES / "russia_export_ban_goods_2023-02-03.csv"
CHEMICALS = {"280110", "290511", "291411", "290121", "282890"}


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in JapanMetiRussiaGoodsBan(options).parse({"main": path})}


def hashes(records: dict) -> dict[str, str]:
    return {k: content_hash(canonical(r.payload())) for k, r in records.items()}


def test_rows_become_hs_export_bans_to_russia():
    recs = parse(V2)
    assert len(recs) == 10
    chlorine = recs["280110"]
    assert chlorine.item_code == "2801.10" and chlorine.code_type == "HS"
    assert chlorine.description == "塩素" and chlorine.extra["description_en"] == "Chlorine"
    assert chlorine.measure == "export_ban" and chlorine.origin == "JP" and chlorine.target_countries == ["RU"]
    assert chlorine.effective_date == "2023-02-03"
    assert recs["854231"].effective_date == "2022-05-20"
    for r in recs.values():
        r.validate()


def test_version_pair_adds_exactly_the_chemicals():
    before, after = hashes(parse(V1)), hashes(parse(V2))
    assert after.keys() - before.keys() == CHEMICALS
    assert not before.keys() - after.keys()
    assert all(before[k] == after[k] for k in before)


def test_legal_basis_from_option_or_column(tmp_path):
    assert parse(V2, legal_basis="輸出貿易管理令 別表第二の三")["280110"].legal_basis == "輸出貿易管理令 別表第二の三"
    f = tmp_path / "with_basis.csv"
    f.write_text("HSコード,品名,適用日,根拠\n2801.10,塩素,令和5年2月3日,経済産業省告示第八号\n", encoding="utf-8")
    rec = parse(f)["280110"]
    assert rec.legal_basis == "経済産業省告示第八号" and rec.effective_date == "2023-02-03"


def test_xlsx_with_title_rows_reads_like_the_csv(tmp_path):
    import csv

    wb = openpyxl.Workbook()
    wb.active.title = "表紙"
    wb.active.append(["ロシア向け輸出禁止措置（テスト用）"])
    ws = wb.create_sheet("対象品目")
    rows = list(csv.reader(V2.open(encoding="utf-8")))
    ws.append(rows[0][:1])
    for row in rows[1:]:
        ws.append([v or None for v in row])
    xlsx = tmp_path / "list.xlsx"
    wb.save(xlsx)
    assert hashes(parse(xlsx)) == hashes(parse(V2))


def test_code_punctuation_is_not_a_change(tmp_path):
    f = tmp_path / "digits.csv"
    f.write_text(V2.read_text(encoding="utf-8").replace("2801.10,", "280110,"), encoding="utf-8")
    assert set(parse(f)) == set(parse(V2))


def test_dates():
    assert iso_date("2023/2/3") == "2023-02-03"
    assert iso_date("令和5年2月3日") == "2023-02-03"
    assert iso_date("令和元年5月1日") == "2019-05-01"
    assert iso_date("2022-05-20") == "2022-05-20"


def test_row_without_an_hs_code_is_a_parse_error(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("HSコード,品名\nchlorine,塩素\n", encoding="utf-8")
    with pytest.raises(ParseError, match="not an HS code"):
        list(JapanMetiRussiaGoodsBan().parse({"main": f}))


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html",
             "jp/meti_end_user_list_2025-09-29.xlsx", "csl/2019_csl_old_format.csv"]
)
def test_other_files_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(JapanMetiRussiaGoodsBan().parse({"main": real(name)}))
