"""Japan MOF asset-freeze list (経済制裁措置及び対象者リスト): the multi-sheet XLSX and the 2026 CSV.

The XLSX has an index sheet (一覧, skipped: it only lists the categories) and one sheet per regime, named
"N.<regime>", each with a title, sometimes notes, then a header row (告示日付, 告示番号, 日本語表記, 英語表記,
...) whose columns differ per sheet; columns are mapped by their header text. Rows without a 告示番号 continue
the record above (long remarks split over rows); rows without a name are deleted entries (…削除) and skipped.
The CSV (UTF-8 with BOM, 32 columns) carries the same facts with one fixed header and the key 番号 = category
(区分, the sheet number) + the number within it, e.g. "002-000166"; for the XLSX the same key is built from the
sheet number and 告示番号.

MOF renumbers a whole category when it inserts an entry, so the adapter sets `match_moved_by_content` and keeps
the number out of the content: it is only in `key` (告示番号 is dropped, the "１．" prefix of the notice text is
stripped). Cross-listing marks next to a number ("1(*186)": also listed as Taliban No. 186) stay in extra.
Latin names become `name` (analysts read them), Japanese names stay as aliases; 不明 (unknown) is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier import parsing as h
from notifier.adapter import Adapter, ParseError, sniff
from notifier.parsing import cell, csv_rows, xlsx_sheets
from notifier.records import Designation, Identifier

URL = "https://www.mof.go.jp/policy/international_policy/gaitame_kawase/gaitame/economic_sanctions/list.html"

# Category (区分 = sheet number) -> regime name, as the sheets of the 2026-03-05 workbook name them; the CSV gives
# only the number. XLSX records use their own sheet's name.
CATEGORIES = {
    1: "ミロシェビッチ前ユーゴ大統領関係者", 2: "タリバーン関係者等", 3: "テロリスト等 (1)", 4: "テロリスト等 (2)",
    5: "イラク前政権関係者等（Ⅰ）", 6: "イラク前政権関係者等 (Ⅱ)", 7: "イラク前政権関係者等 (Ⅲ)", 8: "【解除】リベリア",
    9: "コンゴ民主共和国（個人）", 10: "コンゴ民主共和国 (団体)", 11: "【解除】コートジボワール", 12: "スーダン",
    13: "北朝鮮(決議1695号)", 14: "北朝鮮(決議1718号等；団体)", 15: "北朝鮮(決議1718号等；個人)",
    16: "北朝鮮(協調；団体)", 17: "北朝鮮(協調；個人)", 18: "【解除】イラン", 19: "イラン（個人）", 20: "イラン (団体)",
    21: "ソマリア", 22: "リビア(Ⅰ)", 23: "リビア (Ⅱ)", 24: "シリア（個人）", 25: "シリア（団体）",
    26: "クリミア等（個人）", 27: "クリミア等 (団体)", 28: "ロシア連邦(団体(特定銀行を除く))", 29: "ロシア連邦(個人)",
    30: "ロシア連邦(特定銀行）", 31: "ベラルーシ(個人)", 32: "ベラルーシ(団体(特定銀行を除く))",
    33: "ベラルーシ(特定銀行)", 34: "ロシア及びベラルーシ以外（団体(特定銀行を除く)）",
    35: "ロシア及びベラルーシ以外（個人）", 36: "ロシア及びベラルーシ以外（特定銀行)",
    37: "中央アフリカ共和国（個人）", 38: "中央アフリカ共和国（団体）", 39: "イエメン共和国", 40: "南スーダン",
    41: "マリ共和国", 42: "ハイチ共和国（個人）", 43: "イスラエル", 44: "ハイチ共和国（団体）",
}

UNKNOWN = {"不明", "-", "－", "―", "なし"}
_SHEET = re.compile(r"\s*(\d+)\s*[.．]\s*(.*?)\s*$")
_NUMBER = re.compile(r"^\s*([*＊#＃]?)\s*(\d+)\s*(.*)$", re.S)
_NOTICE_DATE = re.compile(r"(\d{4})\s*[.．]\s*(\d{1,2})\s*[.．]\s*(\d{1,2})")
_ENUM = re.compile(r"[(（]\s*[a-zａ-ｚ]{1,2}\s*[)）]")
_LABEL = re.compile(r"[（(](?:別称|旧称|別名)[）)]")
_HAS_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_KEY = re.compile(r"^\d{3}-\d{6}$")


def _field(header: str) -> str:
    """Normalized XLSX header -> field name (unknown headers keep their own text)."""
    h = re.sub(r"\s+", "", header)
    exact = {
        "告示日付": "notice_dates", "告示番号": "number", "日本語表記": "name_ja", "英語表記": "name_en",
        "称号": "title", "役職": "position", "肩書": "position", "肩書等": "position",
        "生年月日": "dob", "生年月日・出生地": "dob_pob", "国籍": "nationality", "旅券番号": "passport",
        "ID番号": "id_number", "身分登録番号": "id_number", "身分証番号": "id_number",
        "国連参照番号": "un_reference", "その他の情報": "remarks", "詳細": "remarks",
        "指定の根拠": "basis", "決議1483上の根拠": "basis", "電話": "phone", "電話番号": "phone", "FAX": "fax",
        "国連制裁員会による指定日": "un_listed_on", "国連制裁委員会による指定日": "un_listed_on",
        "リスト掲載日": "un_listed_on",
    }
    if h in exact:
        return exact[h]
    if "確定に十分でない" in h:
        return "weak_aliases"
    if h in ("旧称", "旧称・以前の呼称", "以前の別名", "過去の別名"):
        return "former_names"
    if "別名" in h or "別称" in h:
        return "aliases"
    if h.startswith("出生地"):
        return "pob"
    if "住所" in h or "所在地" in h:
        return "address"
    return h


def _value(value: object, date: bool = False) -> str | None:
    """Cell text; 不明 is None; date columns turn datetimes and Excel serial numbers into ISO dates."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    if date and isinstance(value, (int, float)) and 1000 < value < 80000:
        return (dt.date(1899, 12, 30) + dt.timedelta(days=int(value))).isoformat()
    text = cell(value)
    if text is None or text.strip() in UNKNOWN:
        return None
    return text


def iso_date(text: str) -> str:
    """'1941年8月20日' or '1941/8/20' -> '1941-08-20'; anything less exact stays as published."""
    return h.iso_date(text, "%Y年%m月%d日", "%Y/%m/%d")


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += 1 if ch in "(（" else -1 if ch in ")）" else 0
        if depth < 0:
            return False
    return depth == 0


def split_items(text: str | None) -> list[str]:
    """A names/dates/addresses cell into items: '(a)X(b)Y', 'X; Y', 'X、Y' (Japanese), one per line."""
    if not text:
        return []
    out: list[str] = []
    for line in _LABEL.sub("\n", text).splitlines():
        line = line.strip()
        m = re.fullmatch(r"[（(]\s*(?:a\.k\.a\.?:?)?\s*(.*?)\s*[)）]", line, re.S)
        if m and _balanced(m.group(1)):
            line = m.group(1)  # the whole line wrapped: "(a.k.a.: ...)" or "（...）"
        line = re.sub(r"^a\.k\.a\.?:?\s*", "", line).strip()
        if not line:
            continue
        if _ENUM.search(line):
            parts = _ENUM.split(line)
        elif re.search(r"[;；]", line):
            parts = re.split(r"[;；]", line)
        elif _HAS_JA.search(line) and "、" in line:
            parts = line.split("、")
        else:
            parts = [line]
        for p in parts:
            p = p.strip(" 、,，;")
            if p.endswith((")", "）")) and not _balanced(p):
                p = p[:-1].strip()  # the closing paren of a wrapper that opened on another line
            if p:
                out.append(p)
    return out


def split_names(text: str | None) -> list[str]:
    """Alias items, with 'カナ（Latin）' given as two names."""
    out: list[str] = []
    for item in split_items(text):
        m = re.fullmatch(r"(.+?)\s*[（(]([^（）()]*[A-Za-z][^（）()]*)[）)]", item)
        if m and _HAS_JA.search(m.group(1)) and not _HAS_JA.search(m.group(2)):
            out += [m.group(1).strip(), m.group(2).strip()]
        else:
            out.append(item)
    return out


def split_latin_name(text: str | None) -> tuple[str | None, list[str]]:
    """'NAME\\n(original script: ...)' -> ('NAME', ['...'])."""
    if not text:
        return None, []
    extra: list[str] = []
    m = re.search(r"[(（]\s*original script\s*[:：]\s*(.*?)\s*[)）]", text, re.I | re.S)
    if m:
        extra.append(m.group(1))
        text = text[: m.start()] + text[m.end():]
    return (" ".join(text.split()) or None), extra


def strip_own_number(text: str | None) -> str | None:
    """The notice text without its leading '１．' enumerator (the number that MOF renumbers)."""
    if not text:
        return None
    return re.sub(r"^\s*[0-9０-９]+\s*[.．]\s*", "", text)


class JapanMofAssetFreeze(Adapter):
    """MOF asset-freeze list; key = MOF 番号 (category-number, e.g. '002-000166')."""

    title = "Japan MOF asset-freeze list (経済制裁措置及び対象者リスト)"
    publisher = "Ministry of Finance Japan (MOF)"
    jurisdiction = "JP"
    kind = "designation"
    formats = ("xlsx", "csv")
    match_moved_by_content = True
    parser_version = "2"  # 2: telephone numbers as the phones field

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        if sniff(path, 4).startswith(b"pk"):
            yield from self._parse_xlsx(path)
        else:
            yield from self._parse_csv(path)

    # ---- XLSX -------------------------------------------------------------------------------------------
    def _parse_xlsx(self, path: Path) -> Iterator[Designation]:
        sheets_with_header = 0
        for title, rows in xlsx_sheets(path):
            m = _SHEET.match(title)
            if not m:
                continue  # 一覧: the index of categories
            category, regime = int(m.group(1)), m.group(2)
            header: dict[int, str] | None = None
            current: dict[str, Any] | None = None
            pending: list[dict[str, Any]] = []
            for n, row in enumerate(rows, start=1):
                if header is None:
                    texts = [re.sub(r"\s+", "", cell(v) or "") for v in row]
                    if "告示番号" in texts:
                        header = {i: _field(t) for i, t in enumerate(texts) if t}
                    elif n > 15:
                        break
                    continue
                values = {f: row[i] for i, f in header.items() if i < len(row) and cell(row[i]) is not None}
                if not values:
                    continue
                if "number" not in values:
                    if current is None:
                        raise ParseError(f"MOF sheet {title!r} row {n}: continuation row before any entry")
                    for f, v in values.items():  # a long cell continued on the next row
                        current[f] = f"{cell(current[f])}\n{cell(v)}" if current.get(f) is not None else v
                    continue
                current = dict(values)
                current["_row"] = n
                pending.append(current)
            if header is None:
                continue  # 【解除】 sheets: the regime was lifted, no table
            sheets_with_header += 1
            for values in pending:
                record = self._xlsx_record(category, regime, title, values)
                if record is not None:
                    yield record
        if not sheets_with_header:
            raise ParseError("not the MOF asset-freeze workbook: no sheet with a 告示番号 header")

    def _xlsx_record(self, category: int, regime: str, sheet: str, v: dict[str, Any]) -> Designation | None:
        number = _NUMBER.match((cell(v["number"]) or "").translate(_FULLWIDTH))
        if not number:
            raise ParseError(f"MOF sheet {sheet!r} row {v['_row']}: 告示番号 {cell(v['number'])!r} is not a number")
        name_ja = _value(v.get("name_ja"))
        name_en, original = split_latin_name(_value(v.get("name_en")))
        if not (name_ja or name_en):
            return None  # a deleted entry (告示日付 "...削除") keeps its number but has no name
        mark = (number.group(1) + number.group(3)).strip() or None
        aliases = split_names(_value(v.get("aliases"))) + original
        former = split_names(_value(v.get("former_names")))
        weak = split_names(_value(v.get("weak_aliases")))
        if name_en and name_ja:
            aliases.append(name_ja)
        dob_pob = _value(v.get("dob_pob"))
        birth_dates = [iso_date(d) for d in split_items(_value(v.get("dob"), date=True))]
        if dob_pob:
            birth_dates += [iso_date(d.group(0)) for d in re.finditer(r"\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?", dob_pob)]
        identifiers = [Identifier("passport", p) for p in split_items(_value(v.get("passport")))]
        identifiers += [Identifier("id", p) for p in split_items(_value(v.get("id_number")))]
        identifiers += [Identifier("UN reference", p) for p in split_items(_value(v.get("un_reference")))]
        known = {"number", "name_ja", "name_en", "aliases", "former_names", "weak_aliases", "dob", "dob_pob", "pob",
                 "nationality", "passport", "id_number", "un_reference", "address", "remarks", "notice_dates",
                 "un_listed_on", "_row", "phone"}
        notice_dates = [x.strip() for x in (_value(v.get("notice_dates")) or "").splitlines() if x.strip()]
        extra: dict[str, Any] = {
            "notice_dates": notice_dates,
            "cross_listing": mark,
            "name_ja": name_ja,
            "former_names": former,
            "low_quality_aliases": weak,
            "birth_date_and_place": dob_pob,
            "un_listed_on": _value(v.get("un_listed_on"), date=True),
        }
        for f, raw in v.items():
            if f not in known:
                extra[f] = _value(raw)
        person = "個人" in regime or any(v.get(f) for f in ("dob", "dob_pob", "passport", "nationality", "title"))
        entity_type = "organization" if "団体" in regime or "銀行" in regime else "person" if person else "unknown"
        return Designation(
            key=f"{category:03d}-{int(number.group(2)):06d}",
            name=name_en or name_ja or "",
            entity_type=entity_type,
            aliases=aliases + former + weak,
            programs=[regime],
            listed_on=self._listed_on(notice_dates),
            nationalities=split_items(_value(v.get("nationality"))),
            birth_dates=birth_dates,
            birth_places=split_items(_value(v.get("pob"))),
            addresses=split_items(_value(v.get("address"))),
            identifiers=identifiers,
            remarks=_value(v.get("remarks")),
            url=URL,
            extra=extra,
            phones=[p.strip() for p in re.split(r"[/／]", _value(v.get("phone")) or "") if p.strip()],
        )

    @staticmethod
    def _listed_on(notice_dates: list[str]) -> str | None:
        if not notice_dates:
            return None
        m = _NOTICE_DATE.match(notice_dates[0].translate(_FULLWIDTH))
        if not m:
            return None
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None

    # ---- CSV --------------------------------------------------------------------------------------------
    CSV_COLUMNS = 32

    def _parse_csv(self, path: Path) -> Iterator[Designation]:
        rows = csv_rows(path, encodings=("utf-8-sig", "cp932"))
        header = next(rows, None)
        if not header or "番号" not in header or "区分" not in header or "氏名（英語）" not in header:
            raise ParseError("not the MOF asset-freeze CSV: header lacks 区分/番号/氏名（英語）")
        if len(header) != self.CSV_COLUMNS:
            raise ParseError(f"MOF CSV header has {len(header)} columns, expected {self.CSV_COLUMNS}")
        count = 0
        for n, row in enumerate(rows, start=2):
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ParseError(f"MOF CSV line {n}: {len(row)} columns, expected {len(header)}")
            record = self._csv_record(dict(zip(header, row, strict=True)), n)
            if record is not None:
                count += 1
                yield record
        if not count:
            raise ParseError("MOF CSV without entries")

    def _csv_record(self, r: dict[str, str], line: int) -> Designation | None:
        def g(col: str) -> str | None:
            return _value(r.get(col))

        key = (g("番号") or "").translate(_FULLWIDTH)
        if not _KEY.match(key):
            raise ParseError(f"MOF CSV line {line}: 番号 {key!r} is not like 002-000166")
        name_ja = g("氏名（日本語）")
        name_en, original = split_latin_name(g("氏名（英語）"))
        if not (name_ja or name_en):
            return None
        category = int(g("区分") or key[:3])
        aliases = [x for col in ("別名・別称（日本語）", "別名・別称（英語）") for x in split_names(g(col))] + original
        former = [x for col in ("旧称（日本語）", "旧称（英語）") for x in split_names(g(col))]
        weak_cols = ("確定に十分でない別名（日本語）", "確定に十分でない別名（英語）")
        weak = [x for col in weak_cols for x in split_names(g(col))]
        if name_en and name_ja:
            aliases.append(name_ja)
        addresses = []
        for lang in ("日本語", "英語"):
            parts = [g(f"住所・所在地（都市その他の情報）（{lang}）"), g(f"住所・所在地（国）（{lang}）")]
            joined = ", ".join(p for p in parts if p)
            if joined:
                addresses.append(joined)
        kind = g("個人・団体") or ""
        notice_dates = (g("告示日付") or "").split()
        identifiers = [Identifier("passport", p) for p in split_items(g("旅券番号"))]
        identifiers += [Identifier("id", p) for p in split_items(g("身分証番号"))]
        identifiers += [Identifier("UN reference", p) for p in split_items(g("国連参照番号"))]
        return Designation(
            key=key,
            name=name_en or name_ja or "",
            entity_type="person" if "個人" in kind else "organization" if "団体" in kind else "unknown",
            aliases=aliases + former + weak,
            programs=[CATEGORIES.get(category, f"区分 {category}")],
            listed_on=self._listed_on(notice_dates),
            nationalities=[x for col in ("国籍（日本語）", "国籍（英語）") for x in split_items(g(col))],
            birth_dates=[iso_date(d) for d in split_items(g("生年月日"))],
            birth_places=[x for col in ("出生地（日本語）", "出生地（英語）") if (x := g(col))],
            addresses=addresses,
            identifiers=identifiers,
            remarks=g("その他の情報"),
            url=URL,
            extra={
                "notice_dates": notice_dates,
                "name_ja": name_ja,
                "former_names": former,
                "low_quality_aliases": weak,
                "title": [x for col in ("称号（日本語）", "称号（英語）") if (x := g(col))],
                "position": [x for col in ("役職（日本語）", "役職（英語）") if (x := g(col))],
                "un_listed_on": g("リスト掲載日"),
                "notice_text": strip_own_number(g("外務省告示情報")),
            },
        )
