"""Japan's Export Trade Control Order (輸出貿易管理令, Cabinet Order No. 378 of 1949) in e-Gov law XML.

Its controlled-goods appended tables become one record per item (項 or 号):
- 別表第一 (licence under FEFTA art. 48(1), art. 1 of the Order): TableStruct rows "項番 | 貨物 | 地域";
- 別表第二 (export approval, art. 2(1)(i)): rows "項番 | 貨物 | 地域";
- 別表第二の二 (approval for North Korea, art. 2(1)(i-2)) and 別表第二の三 (approval for Russia and Belarus,
  art. 2(1)(i-3), (i-4)): Item lists (号), whose sub-items are part of the item's description.
Destination lists (別表第二の四, 第三...) and exemption tables (別表第五...) are no goods lists and are skipped.

Key = "<table>|<item number as published>" (e.g. "別表第一|一六"); item_code is the way the law cites the item
("別表第一の一六の項", "別表第二の三第一号の二"). target_countries: ["*"] for 全地域 (all destinations, exceptions
kept in extra["destinations"]), ISO codes for named countries, the sanctioned countries for 別表第二の二/三.
Items the law marks 削除 (deleted) are no records: a deletion reads as a removal. Cells and sentences are ordered
by their Num attributes or recognised by content, never by document position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError
from notifier.parsing import local, parse_xml
from notifier.records import ExportControl

LAW_URL = "https://laws.e-gov.go.jp/law/324CO0000000378"
# table -> (measure, targets when the table has no 地域 column, the article that applies it)
GOODS_TABLES: dict[str, tuple[str, list[str], str]] = {
    "別表第一": ("licence_requirement", ["*"], "第一条（輸出の許可）"),
    "別表第二": ("licence_requirement", ["*"], "第二条第一項第一号（輸出の承認）"),
    "別表第二の二": ("licence_requirement", ["KP"], "第二条第一項第一号の二（北朝鮮向け輸出の承認）"),
    "別表第二の三": (
        "licence_requirement", ["RU", "BY"], "第二条第一項第一号の三・第一号の四（ロシア・ベラルーシ向け輸出の承認）"
    ),
}
JP_COUNTRIES = {
    "アメリカ合衆国": "US", "北朝鮮": "KP", "ロシア": "RU", "ベラルーシ": "BY", "イラン": "IR", "イラク": "IQ",
    "中華人民共和国": "CN", "大韓民国": "KR",
}
_NUMERAL = re.compile(r"^[一二三四五六七八九〇十百]+(?:の[一二三四五六七八九〇十百]+)*$")
_WS = re.compile(r"\s+")
_ORDERED = ("Sentence", "Item", "Subitem1", "Subitem2", "Subitem3", "Subitem4", "Column")


def _order(el: etree._Element) -> tuple[int, int]:
    """Law order of a structural child: its title first, then its sentence, then numbered sub-items by Num."""
    name = local(el.tag)
    num = (el.get("Num") or "").split("_")[0]
    if name.endswith("Title") or name == "ParagraphNum":
        return (0, 0)
    if not num.isdigit():
        return (1, 0)
    return (2, int(num))


def law_text(el: etree._Element) -> str:
    """Text of an element without ruby readings; structural children (no text between them) in law order."""
    kids = [c for c in el if isinstance(c.tag, str)]
    structural = not (el.text or "").strip() and all(not (c.tail or "").strip() for c in kids)
    if structural:
        text = " ".join(law_text(c) for c in sorted(kids, key=_order) if local(c.tag) != "Rt")
    else:
        parts = [el.text or ""]
        for child in kids:
            if local(child.tag) != "Rt":
                parts.append(law_text(child))
            parts.append(child.tail or "")
        text = "".join(parts)
    return _WS.sub(" ", text.replace("\u3000", " ")).strip()


def _destinations(text: str) -> list[str]:
    if not text:
        return []
    if text.startswith("全地域"):
        return ["*"]
    codes = [code for name, code in JP_COUNTRIES.items() if name in text]
    return codes or [text]


def _split_row(cells: list[str]) -> tuple[str, str, str] | None:
    """(item number, goods, destinations) of a table row, told apart by content; None for the header row."""
    numbers = [c for c in cells if _NUMERAL.match(c)]
    if len(numbers) != 1:
        return None
    rest = list(cells)
    rest.remove(numbers[0])
    if len(rest) == 1:
        return numbers[0], rest[0], ""

    def is_destination(text: str) -> bool:
        return not text or text.startswith("全地域") or any(text.startswith(n) for n in JP_COUNTRIES)

    dest = [c for c in rest if is_destination(c)]
    if len(dest) != 1:
        raise ParseError(f"輸出貿易管理令: cannot tell goods from destinations in row {numbers[0]}: {rest!r:.200}")
    rest.remove(dest[0])
    return numbers[0], " ".join(rest), dest[0]


def table_records(table: etree._Element) -> Iterator[ExportControl]:
    title = law_text(next((c for c in table if local(c.tag) == "AppdxTableTitle"), table)).split(" ")[0]
    if title not in GOODS_TABLES:
        return
    measure, default_targets, article = GOODS_TABLES[title]
    rows: list[tuple[str, str, str, str]] = []  # (number, item_code, goods, destinations)
    subitems: dict[str, list[str]] = {}  # per item, its sub-items (イ, ロ...), so a diff can say which one changed
    for row in table.iter():
        if local(row.tag) == "TableRow":
            split = _split_row([law_text(c) for c in row if local(c.tag) == "TableColumn"])
            if split:
                number, goods, dest = split
                rows.append((number, f"{title}の{number}の項", goods, dest))
    for item in table:
        if local(item.tag) == "Item":
            number = law_text(next((c for c in item if local(c.tag) == "ItemTitle"), etree.Element("x")))
            body = " ".join(law_text(c) for c in sorted(item, key=_order) if local(c.tag) != "ItemTitle")
            if number:
                rows.append((number, f"{title}第{number}号", body, ""))
                subitems[number] = [law_text(c) for c in item if local(c.tag) == "Subitem1"]
    for number, code, goods, dest in rows:
        if not goods or goods == "削除":
            continue
        extra: dict[str, Any] = {"table": title, "item_number": number, "article": article}
        if dest:
            extra["destinations"] = dest
        if subitems.get(number):
            extra["subitems"] = subitems[number]
        yield ExportControl(
            key=f"{title}|{number}",
            item_code=code,
            code_type="JP-ETCO",
            description=goods,
            measure=measure,
            origin="JP",
            target_countries=_destinations(dest) or default_targets,
            legal_basis=f"輸出貿易管理令 {title}",
            url=LAW_URL,
            extra=extra,
        )


class JapanExportTradeControlOrder(Adapter):
    """e-Gov XML of 輸出貿易管理令 -> ExportControl records, one per item of its controlled-goods tables."""

    title = "輸出貿易管理令 別表 (Export Trade Control Order, controlled goods)"
    publisher = "e-Gov 法令検索 (Digital Agency); Ministry of Economy, Trade and Industry"
    jurisdiction = "JP"
    kind = "export_control"

    def parse(self, parts: Mapping[str, Path]) -> Iterator[ExportControl]:
        path = self.main(parts)
        root = parse_xml(path)
        if local(root.tag) != "Law":
            raise ParseError(f"輸出貿易管理令: root element is {local(root.tag)!r}, not e-Gov <Law>")
        title = law_text(next(root.iter("LawTitle"), etree.Element("x")))
        if "輸出貿易管理令" not in title:
            raise ParseError(f"輸出貿易管理令: the law is {title!r}")
        seen: set[str] = set()
        for table in root.iter("AppdxTable"):
            for record in table_records(table):
                if record.key in seen:
                    raise ParseError(f"輸出貿易管理令: item {record.key!r} appears twice")
                seen.add(record.key)
                yield record
        if not seen:
            raise ParseError("輸出貿易管理令: no controlled-goods tables (別表第一, 別表第二...) found")
