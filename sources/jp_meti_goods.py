"""METI's lists of goods banned for export to Russia (ロシア向け輸出禁止措置の対象品目), by HS code.

METI publishes these lists as Excel/PDF tables, not as a machine-readable feed. This adapter reads those tables
saved as CSV (UTF-8, or cp932 as Excel writes it in Japan) or XLSX, with METI's columns, Japanese or English
headings, in any order, below any number of title rows:
    HSコード (HS code, 6 or 9 digits: "2801.10" or "2801.10-000") | 品名 | Description (English) | 適用日
and optionally 根拠 (legal basis) and 備考 (remarks).

Key = the HS code's digits ("2801.10" -> "280110"), so a change of punctuation is no change. measure export_ban,
origin JP, target_countries from option `target_countries` (default ["RU"]), legal_basis from the 根拠 column, else
option `legal_basis`. Dates (2023/2/3, 2023-02-03, 令和5年2月3日, Excel dates) become ISO.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter, ParseError, sniff
from notifier.parsing import cell, csv_rows, xlsx_sheets
from notifier.records import ExportControl

HEADINGS: dict[str, tuple[str, ...]] = {
    "code": ("hsコード", "hs code", "hs", "統計品目番号", "hsコード（6桁）", "hsコード(6桁)"),
    "name_ja": ("品名", "品目", "品目名"),
    "name_en": ("description", "英語品名", "品名（英語）", "item"),
    "date": ("適用日", "施行日", "effective date", "effective"),
    "basis": ("根拠", "根拠法令", "legal basis"),
    "remarks": ("備考", "remarks", "note"),
}
DEFAULT_LEGAL_BASIS = "外国為替及び外国貿易法第48条第3項・輸出貿易管理令第2条（ロシア向け輸出禁止措置）"
LIST_URL = "https://www.meti.go.jp/policy/external_economy/trade_control/01_seido/04_seisai/crimea.html"
_CODE = re.compile(r"^\d{4}(?:[.\s-]?\d{2}){0,2}(?:[.\s-]?\d{3})?$")
_ERA = {"令和": 2018, "平成": 1988}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip().lower()


def iso_date(value: object) -> str | None:
    """ISO date of a cell: datetime, 2023/2/3, 2023-02-03, 2023年2月3日 or 令和5年2月3日; else the text as published."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = cell(value)
    if not text:
        return None
    m = re.match(r"^(令和|平成)?\s*(\d{1,4}|元)\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?$", text)
    if not m:
        return text
    era, year, month, day = m.groups()
    y = 1 if year == "元" else int(year)
    if era:
        y += _ERA[era]
    try:
        return dt.date(y, int(month), int(day)).isoformat()
    except ValueError:
        return text


def _columns(header: list[str | None]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for i, h in enumerate(header):
        name = _norm(h or "")
        for field, names in HEADINGS.items():
            if name in names and field not in found:
                found[field] = i
    return found if "code" in found and ("name_ja" in found or "name_en" in found) else None


def records_from_rows(
    rows: Iterable[list[Any]], options: Mapping[str, Any], where: str, need_heading: bool = True
) -> Iterator[ExportControl]:
    """Records of a METI table: finds the heading row, then one record per HS-code row."""
    cols: dict[str, int] | None = None
    width = 0
    for lineno, row in enumerate(rows, start=1):
        values = list(row)
        if cols is None:
            cols = _columns([cell(v) for v in values])
            width = len(values)
            if cols is None and lineno >= 20:
                break
            continue
        if not any(cell(v) for v in values):
            continue
        if where == "CSV" and len(values) != width:
            raise ParseError(f"METI goods list: {where} line {lineno} has {len(values)} columns, heading has {width}")

        def get(field: str, values: list[Any] = values, cols: dict[str, int] = cols) -> Any:
            i = cols.get(field)
            return values[i] if i is not None and i < len(values) else None

        code = cell(get("code"))
        if not code or not _CODE.match(code):
            raise ParseError(f"METI goods list: {where} line {lineno}: {code!r} is not an HS code")
        name_ja, name_en = cell(get("name_ja")), cell(get("name_en"))
        extra: dict[str, Any] = {}
        if name_en:
            extra["description_en"] = name_en
        if cell(get("remarks")):
            extra["remarks"] = cell(get("remarks"))
        yield ExportControl(
            key=re.sub(r"\D", "", code),
            item_code=code,
            code_type="HS",
            description=name_ja or name_en or "",
            measure="export_ban",
            origin="JP",
            target_countries=list(options.get("target_countries") or ["RU"]),
            legal_basis=cell(get("basis")) or options.get("legal_basis") or DEFAULT_LEGAL_BASIS,
            effective_date=iso_date(get("date")),
            url=options.get("url") or LIST_URL,
            extra=extra,
        )
    if cols is None and need_heading:
        raise ParseError(f"METI goods list: no heading row with HSコード and 品名 in the {where}")


class JapanMetiRussiaGoodsBan(Adapter):
    """METI's Russia export-ban goods table (CSV or XLSX) -> ExportControl records, one per HS code."""

    title = "ロシア向け輸出禁止措置の対象品目 (METI export bans to Russia, goods)"
    publisher = "Ministry of Economy, Trade and Industry (METI)"
    jurisdiction = "JP"
    kind = "export_control"
    formats = ("csv", "xlsx")

    def parse(self, parts: Mapping[str, Path]) -> Iterator[ExportControl]:
        path = self.main(parts)
        head = sniff(path, 8)
        if head.startswith(b"pk"):
            if not zipfile.is_zipfile(path):
                raise ParseError("METI goods list: truncated XLSX")
            found: Iterable[ExportControl] = (
                r
                for sheet, it in xlsx_sheets(path)
                for r in records_from_rows((list(v) for v in it), self.options, f"sheet {sheet!r}", False)
            )
        else:
            found = records_from_rows(csv_rows(path, ("utf-8-sig", "cp932")), self.options, "CSV")
        merged: dict[str, ExportControl] = {}
        for record in found:
            first = merged.get(record.key)
            if first is None:
                merged[record.key] = record
                continue
            # one code on two rows (two rounds of the ban): one record with both descriptions, the earliest date
            first.description = "; ".join(sorted({first.description, record.description}))
            dates = [d for d in (first.effective_date, record.effective_date) if d]
            first.effective_date = min(dates) if dates else None
        if not merged:
            raise ParseError("METI goods list: heading found but no HS-code rows")
        yield from merged.values()
