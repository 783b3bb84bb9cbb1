"""Australia DFAT Consolidated List (XLSX).

DFAT publishes one row per name: the main row carries the numeric `Reference` (e.g. 101), further names of
the same party come as rows `101a`, `101b`, `34c1`... Those alias rows are folded into their main record, so
one listed party is one record keyed by its reference number. Two layouts exist, told apart by the header row:
the old 12-column sheet (Reference ... Committees, Control Date) and the 19-column sheet from 2025 that adds
Alias Strength, IMO Number, Instrument of Designation and the four measure flags.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier import parsing as h
from notifier.adapter import Adapter, ParseError, sniff
from notifier.parsing import cell, xlsx_sheets
from notifier.records import Designation, Identifier, Vessel

URL = "https://www.dfat.gov.au/international-relations/security/sanctions/consolidated-list"

# Header text -> field name; the old layout has the first twelve, the new one all of them.
COLUMNS = {
    "reference": "reference",
    "name of individual or entity": "name",
    "type": "type",
    "name type": "name_type",
    "alias strength": "alias_strength",
    "date of birth": "dob",
    "place of birth": "pob",
    "citizenship": "citizenship",
    "address": "address",
    "additional information": "info",
    "listing information": "listing",
    "imo number": "imo",
    "committees": "committees",
    "control date": "control_date",
    "instrument of designation": "instrument",
    "targeted financial sanction": "m_targeted_financial_sanction",
    "travel ban": "m_travel_ban",
    "arms embargo": "m_arms_embargo",
    "maritime restriction": "m_maritime_restriction",
}
OLD_LAYOUT = {"reference", "name", "type", "name_type", "dob", "pob", "citizenship", "address", "info", "listing",
              "committees", "control_date"}
NEW_ONLY = {"alias_strength", "imo", "instrument", "m_targeted_financial_sanction", "m_travel_ban", "m_arms_embargo",
            "m_maritime_restriction"}
ENTITY_TYPES = {"individual": "person", "entity": "organization", "vessel": "vessel", "aircraft": "aircraft"}
_REF = re.compile(r"(\d+)([a-z][a-z0-9]*)?", re.I)
_ENUM = re.compile(r"(?:^|\s)\(?[a-z]\)\s+")
_LISTED = re.compile(r"\bon\s*(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})")
_NOT_GIVEN = {"na", "n/a", "-", "none"}


def detect_layout(header: tuple) -> dict[int, str]:
    """Column index -> field for a header row; ParseError unless it is one of DFAT's two layouts."""
    index: dict[int, str] = {}
    for i, value in enumerate(header):
        text = re.sub(r"\s+", " ", cell(value) or "").lower()
        if text in COLUMNS:
            index[i] = COLUMNS[text]
    fields = set(index.values())
    if not OLD_LAYOUT <= fields:
        raise ParseError(f"not a DFAT consolidated list: header lacks {sorted(OLD_LAYOUT - fields)}")
    if fields & NEW_ONLY and not NEW_ONLY <= fields:
        raise ParseError(f"unknown DFAT layout: new-layout header lacks {sorted(NEW_ONLY - fields)}")
    return index


def _text(value: object) -> str | None:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    text = cell(value)
    if text is None:
        return None
    text = text.replace("_x000D_", "").strip()  # Excel's escaped carriage return
    return None if not text or text.lower() in _NOT_GIVEN else text


def _split_enum(text: str | None) -> list[str]:
    """'a) X b) Y' -> ['X', 'Y']; anything else is one value."""
    if not text:
        return []
    parts = [p.strip(" ;,") for p in _ENUM.split(" " + text)]
    parts = [p for p in parts if p]
    return parts if len(parts) > 1 or _ENUM.match(" " + text) else [text]


def _listed_on(listing: str | None) -> str | None:
    if not listing:
        return None
    m = _LISTED.search(listing)
    if not m:
        return None
    return h.iso_date(f"{m.group(1)} {m.group(2)[:3]} {m.group(3)}", "%d %b %Y", keep=False)


class AustraliaDfat(Adapter):
    """DFAT Consolidated List; key = the main `Reference`, alias rows folded in as aliases."""

    title = "Australia DFAT Consolidated List"
    publisher = "Department of Foreign Affairs and Trade (DFAT)"
    jurisdiction = "AU"
    kind = "designation"
    formats = ("xlsx",)
    parser_version = "2"  # 2: a vessel's IMO also as the vessel field

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        if not sniff(path, 4).startswith(b"pk"):
            raise ParseError("not an XLSX workbook (no ZIP signature): DFAT publishes the list as .xlsx")
        groups: dict[str, list[dict[str, Any]]] = {}
        found = False
        for _title, rows in xlsx_sheets(path):
            header = next(rows, None)
            if header is None:
                continue
            index = detect_layout(header)
            found = True
            for n, row in enumerate(rows, start=2):
                values = {f: row[i] for i, f in index.items() if i < len(row)}
                if all(_text(v) is None for v in values.values()):
                    continue
                ref = cell(values.get("reference"))
                m = _REF.fullmatch(ref or "")
                if not m:
                    raise ParseError(f"DFAT row {n}: reference {ref!r} is not a number (with alias suffix)")
                values["_alias"] = bool(m.group(2))
                values["_ref"] = ref
                groups.setdefault(m.group(1), []).append(values)
            break
        if not found:
            raise ParseError("workbook has no sheet with a DFAT header row")
        for ref, rows in groups.items():
            yield self._record(ref, rows)

    def _record(self, ref: str, rows: list[dict[str, Any]]) -> Designation:
        mains = [r for r in rows if not r["_alias"]]
        # A party whose main row is missing (only 8495a, 8495b...) is named by its first alias row.
        main = mains[0] if mains else min(rows, key=lambda r: r["_ref"])
        aliases: list[str] = []
        weak: list[str] = []
        for r in rows:
            name = _text(r.get("name"))
            if r is main or not name:
                continue
            aliases.append(name)
            if (_text(r.get("alias_strength")) or "").lower() == "weak":
                weak.append(name)
        for extra_main in mains[1:]:
            aliases.append(_text(extra_main.get("name")) or "")

        def union(field: str, split: bool = True) -> list[str]:
            out: list[str] = []
            for r in rows:
                value = _text(r.get(field))
                for item in _split_enum(value) if split else ([value] if value else []):
                    if item not in out:  # alias rows repeat the main row's details
                        out.append(item)
            return out

        kind = (_text(main.get("type")) or "").lower()
        identifiers = [Identifier("IMO", imo) for imo in union("imo", split=False)]
        listing = _text(main.get("listing"))
        extra: dict[str, Any] = {
            "name_type": _text(main.get("name_type")),
            "listing_information": listing,
            "control_date": _text(main.get("control_date")),
            "instrument_of_designation": _text(main.get("instrument")),
            "weak_aliases": weak,
            "alias_name_types": sorted({t for r in rows if r is not main and (t := _text(r.get("name_type")))}),
            "measures": [f[2:].replace("_", " ") for f in (
                "m_targeted_financial_sanction", "m_travel_ban", "m_arms_embargo", "m_maritime_restriction")
                if main.get(f) in (True, "TRUE", "True", "true", 1)],
        }
        return Designation(
            key=ref,
            name=_text(main.get("name")) or "",
            entity_type=ENTITY_TYPES.get(kind, "unknown"),
            aliases=aliases,
            programs=union("committees", split=False),
            listed_on=_listed_on(listing),
            nationalities=union("citizenship"),
            birth_dates=union("dob"),
            birth_places=union("pob"),
            addresses=union("address"),
            identifiers=identifiers,
            remarks=_text(main.get("info")),
            url=URL,
            extra=extra,
            vessel=Vessel(imo=identifiers[0].number) if len(identifiers) == 1 else None,
        )
