"""Japan's Export Trade Control Order (輸出貿易管理令) controlled-goods tables from e-Gov law XML."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.jp_etco import JapanExportTradeControlOrder
from tests.conftest import real

REAL = "export_control/jp_export_trade_control_order_2026-02-14.xml"


def parse(path: Path) -> dict:
    return {r.key: r for r in JapanExportTradeControlOrder().parse({"main": path})}


def test_real_order_counts_per_goods_table():
    recs = parse(real(REAL))
    assert len(recs) == 81
    assert Counter(r.extra["table"] for r in recs.values()) == {
        "別表第一": 17,  # 一 to 一六 with 三の二
        "別表第二": 23,  # 51 items, 28 of them 削除 (deleted)
        "別表第二の二": 36,  # North Korea luxury goods
        "別表第二の三": 5,  # Russia / Belarus
    }
    for r in recs.values():
        r.validate()


def test_known_rows_and_items():
    recs = parse(real(REAL))
    clams = recs["別表第二|三四"]
    assert clams.description == "冷凍のあさり、はまぐり及びいがい"
    assert clams.target_countries == ["US"] and clams.extra["destinations"] == "アメリカ合衆国"
    assert clams.item_code == "別表第二の三四の項" and clams.code_type == "JP-ETCO"
    assert clams.legal_basis == "輸出貿易管理令 別表第二" and clams.origin == "JP"
    assert clams.measure == "licence_requirement"
    catch_all = recs["別表第一|一六"]
    assert catch_all.target_countries == ["*"]
    assert catch_all.extra["destinations"] == "全地域（別表第三に掲げる地域を除く。）"
    arms = recs["別表第一|一"]
    assert arms.description.startswith("（一） 銃砲若しくはこれに用いる銃砲弾")
    assert "（二） 爆発物" in arms.description
    russia = recs["別表第二の三|一の二"]
    assert russia.target_countries == ["RU", "BY"] and russia.item_code == "別表第二の三第一の二号"
    assert russia.extra["subitems"][0].startswith("イ 軍用の化学製剤の原料となる物質")
    alcohol = recs["別表第二の二|四"]
    assert alcohol.description == "アルコール飲料" and alcohol.target_countries == ["KP"]


def test_deleted_items_and_destination_tables_are_no_records():
    keys = set(parse(real(REAL)))
    assert "別表第二|二" not in keys and "別表第二|四二" not in keys  # 削除
    skipped = ("別表第三", "別表第四", "別表第五", "別表第六", "別表第七", "別表第二の四")
    assert not any(k.startswith(skipped) for k in keys)


def test_ruby_readings_do_not_enter_descriptions():
    recs = parse(real(REAL))
    assert all("ヽ" not in r.description for r in recs.values())


def test_a_deleted_row_reads_as_a_removal(tmp_path):
    src = real(REAL)
    text = src.read_text(encoding="utf-8")
    changed = tmp_path / "order.xml"
    changed.write_text(text.replace("しいたけ種菌", "削除", 1), encoding="utf-8")
    before = {k: content_hash(canonical(r.payload())) for k, r in parse(src).items()}
    after = {k: content_hash(canonical(r.payload())) for k, r in parse(changed).items()}
    assert before.keys() - after.keys() == {"別表第二|三〇"}
    assert all(before[k] == after[k] for k in after)


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html",
             "export_control/ecfr_bulk_xml_title1_sample.xml"]
)
def test_other_documents_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(JapanExportTradeControlOrder().parse({"main": real(name)}))
