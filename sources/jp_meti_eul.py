"""Japan METI End User List (外国ユーザーリスト), as XLSX or as METI's HTML rendering of the PDF.

The list's "No." column is only a row number (an insertion shifts every later row), so records are keyed by
content: the English country name plus the normalized company name, e.g. "iran:7th-of-tir". Normalization
(NFKC, lower case, every run of non-word characters -> "-") makes the XLSX and HTML renderings of one entry
produce the same key. Should one country ever list the same normalized name twice, the rows are merged into
one record (aliases and concerns united), which is order-independent, rather than numbered apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from notifier.adapter import Adapter, ParseError, looks_like_html, sniff
from notifier.parsing import cell, xlsx_sheets
from notifier.records import Designation

URL = "https://www.meti.go.jp/policy/anpo/law05.html#user-list"

# Concern columns as published: Japanese word and its one-letter code.
CONCERNS = (
    ("生物", "B", "Biological"), ("化学", "C", "Chemical"), ("ミサイル", "M", "Missile"), ("核", "N", "Nuclear"),
)
CONVENTIONAL = "Conventional Weapons"
_NONWORD = re.compile(r"[\W_]+")
_CJK = "\u3000-\u30ff\u3400-\u9fff\uff00-\uffef"
_CJK_BREAK = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def join_lines(lines: Iterable[str]) -> str:
    """Lines of one cell as one string; a line break inside CJK text is no space (PDF wrapping)."""
    text = " ".join(x.strip() for x in lines if x and x.strip())
    return _CJK_BREAK.sub("", text)


def slug(text: str) -> str:
    """Normalized form used in keys: NFKC, lower case, non-word runs -> '-'."""
    return _NONWORD.sub("-", unicodedata.normalize("NFKC", text).lower()).strip("-")


def split_country(text: str) -> tuple[str | None, str | None]:
    """'イラン\\nIslamic Republic of Iran' -> ('イラン', 'Islamic Republic of Iran')."""
    text = re.sub(r"\s+", " ", text).strip()
    m = re.search(r"[A-Za-z]", text)
    if not m:
        return text or None, None
    ja, en = text[: m.start()].strip(), text[m.start():].strip()
    return ja or None, en or None


def concerns(wmd: str | None, conventional: str | None) -> list[str]:
    """Programs from the WMD and conventional-weapons cells ('ミサイル、核\\nM,N' -> Missile, Nuclear)."""
    text = unicodedata.normalize("NFKC", wmd or "")
    codes = set(re.findall(r"\b[BCMN]\b", text.replace("、", ",")))
    out = [en for ja, code, en in CONCERNS if ja in text or code in codes]
    if conventional and ("通常兵器" in conventional or "CW" in conventional):
        out.append(CONVENTIONAL)
    return out


def fold_aliases(lines: Iterable[str]) -> list[str]:
    """Bulleted lines ('・X') are one alias each; a line without a bullet continues the previous alias."""
    out: list[str] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.startswith("・") or not out:
            out.append(line.lstrip("・").strip())
        else:
            out[-1] = join_lines([out[-1], line])
    return [a for a in out if a]


class JapanMetiEndUserList(Adapter):
    """METI End User List: one Designation per listed company/organization, keyed by country + name."""

    title = "Japan METI End User List"
    publisher = "Ministry of Economy, Trade and Industry (METI)"
    jurisdiction = "JP"
    kind = "designation"
    formats = ("xlsx", "html")

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        if sniff(path, 4).startswith(b"pk"):
            rows = self._xlsx_rows(path)
        elif looks_like_html(path):
            rows = self._html_rows(path)
        else:
            raise ParseError("METI End User List: neither an XLSX workbook nor an HTML page")
        merged: dict[str, Designation] = {}
        for row in rows:
            record = self._record(row)
            if record.key in merged:
                known = merged[record.key]
                known.aliases = sorted(set(known.aliases) | set(record.aliases))
                known.programs = [p for p in (*CONCERNS_ORDER, CONVENTIONAL)
                                  if p in set(known.programs) | set(record.programs)]
            else:
                merged[record.key] = record
        if not merged:
            raise ParseError("METI End User List: header found but no entries")
        yield from merged.values()

    @staticmethod
    def _check_header(cells: list[str]) -> dict[str, int]:
        index: dict[str, int] = {}
        for i, text in enumerate(cells):
            t = text.lower()
            if "country" in t or "国名" in t:
                index.setdefault("country", i)
            elif "company" in t or "企業名" in t:
                index.setdefault("name", i)
            elif "also known" in t or "別名" in t:
                index.setdefault("aliases", i)
            elif "wmd" in t or "懸念区分" in t:
                index.setdefault("wmd", i)
            elif "conventional" in t or "通常兵器" in t:
                index.setdefault("conventional", i)
        missing = {"country", "name", "aliases", "wmd"} - set(index)
        if missing:
            raise ParseError(f"not the METI End User List: header lacks {sorted(missing)}")
        return index

    def _xlsx_rows(self, path: Path) -> Iterator[dict[str, Any]]:
        for _title, rows in xlsx_sheets(path):
            index = None
            for n, row in enumerate(rows, start=1):
                cells = [cell(v) or "" for v in row]
                if index is None:
                    if any("Company or Organization" in c or "企業名" in c for c in cells):
                        index = self._check_header(cells)
                    elif n > 10:
                        break
                    continue
                if not any(cells):
                    continue
                yield {f: (cells[i].splitlines() if i < len(cells) else []) for f, i in index.items()} | {"_row": n}
            if index is not None:
                return
        raise ParseError("not the METI End User List: no sheet with its header row")

    def _html_rows(self, path: Path) -> Iterator[dict[str, Any]]:
        parser = lxml_html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
        try:
            root = lxml_html.parse(str(path), parser).getroot()
        except (OSError, ValueError) as exc:
            raise ParseError(f"unreadable HTML: {exc}") from exc
        if root is None:
            raise ParseError("empty HTML document")
        index = None
        for n, tr in enumerate(root.iter("tr"), start=1):
            cells = []
            for td in tr.findall("td") + tr.findall("th"):
                paras = td.findall(".//p") or [td]
                cells.append([re.sub(r"\s+", " ", p.text_content()).strip() for p in paras])
            flat = [" ".join(c).strip() for c in cells]
            if index is None:
                if any("Company or Organization" in c for c in flat):
                    index = self._check_header(flat)
                continue
            if not any(flat) or any("Company or Organization" in c for c in flat):
                continue  # blank row or the header repeated on a new page
            yield {f: (cells[i] if i < len(cells) else []) for f, i in index.items()} | {"_row": n}
        if index is None:
            raise ParseError("not the METI End User List: no table with its header row")

    def _record(self, row: dict[str, Any]) -> Designation:
        name = join_lines(row["name"]).lstrip("・").strip()
        country_ja, country_en = split_country(join_lines(row["country"]))
        if not name or not (country_en or country_ja):
            raise ParseError(f"METI End User List row {row['_row']}: no company name or no country")
        key = f"{slug(country_en or country_ja or '')}:{slug(name)}"
        if key.endswith(":"):
            raise ParseError(f"METI End User List row {row['_row']}: company name {name!r} has no letters")
        return Designation(
            key=key,
            name=name,
            entity_type="organization",
            aliases=fold_aliases(row["aliases"]),
            programs=concerns(" ".join(row["wmd"]), " ".join(row.get("conventional") or [])),
            countries=[country_en or country_ja or ""],
            url=URL,
            extra={"country_ja": country_ja},
        )


CONCERNS_ORDER = tuple(en for _ja, _code, en in CONCERNS)
