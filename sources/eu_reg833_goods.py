"""Goods annexes of Council Regulation (EU) No 833/2014 (Russia), from EUR-Lex's Formex 4 XML.

EUR-Lex publishes the regulation (and its consolidated versions) in Formex: an annex is ANNEX (in an act) or
CONS.ANNEX (in a consolidated text) with TITLE/TI (e.g. "ANNEX XXIII") and STI (what it lists and under which
Article), and its list as TBL/CORPUS/ROW/CELL (CELL COL="n"). Goods annexes are the annex tables with a column
of CN/HS codes; annexes of entities or vessels (no code column) yield nothing.

Key = "<annex number>|<code digits>" (e.g. "XXIII|28011000"); item_code the code as published ("2801 10 00"),
code_type "CN" for 8-digit codes, "HS" for headings and subheadings. measure: export_ban, or import_ban for the
import annexes (the STI says "imported"/"Article 3i"/"3g"). origin "EU", target_countries from option
`target_countries` (default ["RU"]). Cells are read by their COL attribute, never by document position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError
from notifier.parsing import iter_xml, local
from notifier.records import ExportControl

EURLEX_BASE = "https://eur-lex.europa.eu/eli/reg/2014/833/oj"
_CODE = re.compile(r"^(?:ex\s+)?(\d{2}\s?\d{2})(?:\s?\d{2}){0,3}$", re.I)
_ANNEX = re.compile(r"ANNEX\s+([IVXLC]+[a-z]?|\d+)", re.I)
_WS = re.compile(r"\s+")
_IMPORT = re.compile(r"\bimport|\bArticle\s+3(?:g|i|m|n)\b", re.I)


def _text(el: etree._Element) -> str:
    return _WS.sub(" ", "".join(el.itertext())).strip()


def _first(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el.iter() if local(c.tag) == name), None)


def _col(cell: etree._Element) -> int:
    value = cell.get("COL") or "0"
    return int(value) if value.isdigit() else 0


def annex_records(annex: etree._Element, targets: list[str]) -> Iterator[ExportControl]:
    title_el = _first(annex, "TITLE")
    ti = _first(title_el, "TI") if title_el is not None else None
    sti = _first(title_el, "STI") if title_el is not None else None
    heading = _text(ti) if ti is not None else ""
    m = _ANNEX.search(heading)
    if not m:
        return
    number = m.group(1).upper()
    subject = _text(sti) if sti is not None else ""
    measure = "import_ban" if _IMPORT.search(subject) else "export_ban"
    for row in annex.iter():
        if local(row.tag) != "ROW" or (row.get("TYPE") or "").upper() == "HEADER":
            continue
        cells = sorted((c for c in row if local(c.tag) == "CELL"), key=_col)
        texts = [_text(c) for c in cells]
        codes = [t for t in texts if _CODE.match(t)]
        if len(codes) != 1:
            continue  # a heading row ("Part A"), a note, or a row without one code
        code = codes[0]
        digits = re.sub(r"\D", "", code)
        description = " ".join(t for t in texts if t and t != code)
        extra: dict[str, Any] = {"annex": f"Annex {number}"}
        if subject:
            extra["annex_subject"] = subject
        if code.lower().startswith("ex"):
            extra["ex_code"] = True  # only part of the code's goods are listed
        yield ExportControl(
            key=f"{number}|{digits}",
            item_code=code,
            code_type="CN" if len(digits) == 8 else "HS",
            description=description,
            measure=measure,
            origin="EU",
            target_countries=targets,
            legal_basis=f"Council Regulation (EU) No 833/2014, Annex {number}",
            url=EURLEX_BASE,
            extra=extra,
        )


class EuRegulation833Goods(Adapter):
    """Formex XML of Regulation 833/2014 (or an amending act's annexes) -> ExportControl records per CN/HS code."""

    title = "Regulation (EU) No 833/2014 goods annexes"
    publisher = "Publications Office of the EU (EUR-Lex), Council of the EU"
    jurisdiction = "EU"
    kind = "export_control"

    def parse(self, parts: Mapping[str, Path]) -> Iterator[ExportControl]:
        path = self.main(parts)
        targets = list(self.options.get("target_countries") or ["RU"])
        found: dict[str, ExportControl] = {}
        for annex in iter_xml(path, {"ANNEX", "CONS.ANNEX"}):
            for record in annex_records(annex, targets):
                first = found.get(record.key)
                if first is None:
                    found[record.key] = record
                else:  # one code on two rows of an annex (two parts of it): one record, both descriptions
                    first.description = "; ".join(sorted({first.description, record.description}))
        if not found:
            raise ParseError("Reg. 833/2014: no annex with a CN/HS code table found")
        yield from found.values()
