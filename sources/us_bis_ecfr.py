"""15 CFR part 746 (BIS embargoes and special controls: the Russia/Belarus measures) from eCFR XML.

The eCFR versioner API serves a part as of a date (`/api/versioner/v1/full/{date}/title-15.xml?part=746`) in the
eCFR bulk XML vocabulary: DIV1..DIV9 with TYPE attributes, HEAD, P, and tables either as GPO "gpotbl" HTML
(DIV/TABLE/TR/TH/TD, as in the bulk files) or as GPOTABLE (BOXHD/CHED, ROW/ENT). The part's supplements
(DIV9 TYPE="APPENDIX", "Supplement No. N to Part 746—...") list the goods by HTS code: one record per code.

Key = "<supplement number>|<HS code as published>". Cells are recognised by content (a code, a date or text),
not by position. Amendment citations (CITA) are history, not content, and stay out of the records.
A document without any part 746 HS-code table (another title or part, an error page) is a ParseError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError
from notifier.parsing import child_text, iter_xml, local
from notifier.records import ExportControl

ECFR_PART_URL = "https://www.ecfr.gov/current/title-15/subtitle-B/chapter-VII/subchapter-C/part-746"
_SUPPLEMENT = re.compile(r"Supplement\s+No\.?\s*(\d+)\s+to\s+Part\s+(\d+)", re.I)
_HS = re.compile(r"^(?:ex\s+)?\d{4}(?:[.\s]?\d{2}){0,3}$", re.I)
_DATE = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})$"
)
_WS = re.compile(r"\s+")
_COUNTRY_WORDS = {"russia": "RU", "belarus": "BY", "crimea": "UA", "iran": "IR", "north korea": "KP"}


def _text(el: etree._Element) -> str:
    return _WS.sub(" ", "".join(el.itertext())).strip()


def _rows(table: etree._Element) -> Iterator[tuple[bool, list[str]]]:
    """(is_header, cell texts) of a gpotbl TABLE or a GPOTABLE."""
    if local(table.tag) == "GPOTABLE":
        for el in table.iter():
            name = local(el.tag)
            if name == "BOXHD":
                yield True, [_text(c) for c in el if local(c.tag) == "CHED"]
            elif name == "ROW":
                yield False, [_text(c) for c in el if local(c.tag) == "ENT"]
        return
    for tr in table.iter():
        if local(tr.tag) != "TR":
            continue
        cells = [c for c in tr if local(c.tag) in ("TH", "TD")]
        header = bool(cells) and all(local(c.tag) == "TH" for c in cells)
        yield header, [_text(c) for c in cells]


def _targets(text: str) -> list[str]:
    low = text.lower()
    found = [code for word, code in _COUNTRY_WORDS.items() if word in low]
    return sorted(set(found)) or ["RU", "BY"]


def supplement_records(div: etree._Element, part: str) -> Iterator[ExportControl]:
    """The HS-code rows of one supplement (a DIV9 appendix) of the part."""
    head = child_text(div, "HEAD") or div.get("N") or ""
    m = _SUPPLEMENT.search(head) or _SUPPLEMENT.search(div.get("N") or "")
    if not m or m.group(2) != part:
        return
    number = m.group(1)
    title = _WS.sub(" ", head).strip()
    intro = " ".join(_text(p) for p in div if local(p.tag) == "P")
    wording = f"{title} {intro}".lower()
    measure = "export_ban" if ("prohibit" in wording and "license" not in wording) else "licence_requirement"
    targets = _targets(f"{title} {intro}")
    for table in div.iter():
        if local(table.tag) not in ("TABLE", "GPOTABLE"):
            continue
        for is_header, cells in _rows(table):
            if is_header:
                continue
            codes = [c for c in cells if _HS.match(c)]
            if len(codes) != 1:
                continue  # a heading row, a note row, or a row that is not one HS code
            code = codes[0]
            dates = [c for c in cells if _DATE.match(c)]
            description = " ".join(c for c in cells if c and c != code and c not in dates)
            extra: dict[str, Any] = {"supplement": f"Supplement No. {number} to Part {part}", "supplement_title": title}
            yield ExportControl(
                key=f"{number}|{code}",
                item_code=code,
                code_type="HS",
                description=description,
                measure=measure,
                origin="US",
                target_countries=targets,
                legal_basis=f"15 CFR {part} Supplement No. {number}",
                effective_date=dates[0] if dates else None,
                url=ECFR_PART_URL,
                extra=extra,
            )


class BisEcfrPart746(Adapter):
    """eCFR XML of 15 CFR part 746 -> ExportControl records, one per HS code in its supplements."""

    title = "15 CFR part 746 supplements (HS codes)"
    publisher = "US Bureau of Industry and Security (via eCFR)"
    jurisdiction = "US"
    kind = "export_control"

    def parse(self, parts: Mapping[str, Path]) -> Iterator[ExportControl]:
        path = self.main(parts)
        part = str(self.options.get("part", "746"))
        found: dict[str, ExportControl] = {}
        for div in iter_xml(path, {"DIV9", "DIV7"}):  # appendices: DIV9 (and DIV7 in some titles)
            if div.get("TYPE", "APPENDIX").upper() != "APPENDIX":
                continue
            for record in supplement_records(div, part):
                if record.key in found:  # one code on two rows of a supplement: one record, both descriptions
                    first = found[record.key]
                    first.description = "; ".join(sorted({first.description, record.description}))
                else:
                    found[record.key] = record
        if not found:
            raise ParseError(f"eCFR: no HS code tables found in part {part} supplements")
        yield from found.values()
