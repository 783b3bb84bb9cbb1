"""The UN Security Council Consolidated List (consolidated.xml): individuals and entities of every UN regime.

Key is DATAID, the UN's stable record id (REFERENCE_NUMBER such as "QDi.001" is kept in extra: it is what
analysts quote). The `dateGenerated` header changes every day and is never part of a record; VERSIONNUM and
LAST_DAY_UPDATED are kept because they change only when the record itself is amended.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from lxml import etree

from notifier.adapter import Adapter, ParseError
from notifier.parsing import child_text, children, expect_root, gender, iter_xml
from notifier.publication import Publication, head_match, iso_day
from notifier.records import Designation, Identifier

LIST_URL = "https://main.un.org/securitycouncil/en/content/un-sc-consolidated-list"
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def _date(text: str | None) -> str | None:
    """An xs:date ("2001-10-06", or with a zone, "2001-10-06-04:00") as a plain ISO date."""
    if not text:
        return None
    match = _ISO_DATE.match(text)
    return match.group(1) if match else text


def _values(el: etree._Element, name: str) -> list[str]:
    """The VALUE texts of every <name><VALUE>...</VALUE></name> child (NATIONALITY, TITLE, DESIGNATION...)."""
    return [v for c in children(el, name) for item in children(c, "VALUE") if (v := (item.text or "").strip())]


def _join(el: etree._Element, tags: tuple[str, ...], sep: str = ", ") -> str | None:
    text = sep.join(filter(None, (child_text(el, t) for t in tags)))
    note = child_text(el, "NOTE")
    if note:
        text = f"{text} ({note})" if text else note
    return text or None


def birth_date(el: etree._Element) -> str | None:
    """One INDIVIDUAL_DATE_OF_BIRTH as published: ISO when exact, "approximately 1966", "between 1973 and 1974"."""
    kind = (child_text(el, "TYPE_OF_DATE") or "").upper()
    year, date = child_text(el, "YEAR"), _date(child_text(el, "DATE"))
    lo, hi = child_text(el, "FROM_YEAR"), child_text(el, "TO_YEAR")
    if kind == "BETWEEN" or (lo and hi):
        text = f"between {lo} and {hi}" if lo and hi else (lo or hi)
    elif kind.startswith("APPROX"):
        text = f"approximately {date or year}" if (date or year) else None
    else:
        text = date or year
    note = child_text(el, "NOTE")
    if note:
        text = f"{text} ({note})" if text else note
    return text


def _document(el: etree._Element) -> Identifier | None:
    doc_type = child_text(el, "TYPE_OF_DOCUMENT")
    doc_type2 = child_text(el, "TYPE_OF_DOCUMENT2")
    number = child_text(el, "NUMBER")
    issued = _date(child_text(el, "DATE_OF_ISSUE"))
    note = "; ".join(filter(None, (
        f"issued {issued}" if issued else None,
        f"in {child_text(el, 'CITY_OF_ISSUE')}" if child_text(el, "CITY_OF_ISSUE") else None,
        child_text(el, "NOTE"),
    )))
    if not (doc_type or number or note):
        return None
    full_type = f"{doc_type} ({doc_type2})" if doc_type and doc_type2 else (doc_type or doc_type2 or "Document")
    country = child_text(el, "ISSUING_COUNTRY") or child_text(el, "COUNTRY_OF_ISSUE")
    return Identifier(full_type, number or "", country, note or None)


def _record(el: etree._Element) -> Designation:
    individual = etree.QName(el).localname == "INDIVIDUAL"
    prefix = "INDIVIDUAL" if individual else "ENTITY"
    key = child_text(el, "DATAID")
    if not key:
        raise ParseError(f"{prefix} without DATAID")
    name = " ".join(filter(None, (child_text(el, t) for t in (_NAME_PARTS if individual else _NAME_PARTS[:1]))))
    if not name:
        raise ParseError(f"{prefix} {key} has no name")
    aliases, alias_details = [], []
    original = child_text(el, "NAME_ORIGINAL_SCRIPT")
    if original:
        aliases.append(original)
    for alias in children(el, f"{prefix}_ALIAS"):
        alias_name = child_text(alias, "ALIAS_NAME")
        if not alias_name:
            continue
        aliases.append(alias_name)
        alias_details.append({
            "name": alias_name,
            "quality": child_text(alias, "QUALITY"),
            "note": child_text(alias, "NOTE"),
            "date_of_birth": _date(child_text(alias, "DATE_OF_BIRTH")),
            "city_of_birth": child_text(alias, "CITY_OF_BIRTH"),
            "country_of_birth": child_text(alias, "COUNTRY_OF_BIRTH"),
        })
    addresses, countries = [], []
    for adr in children(el, f"{prefix}_ADDRESS"):
        text = _join(adr, ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY"))
        if text:
            addresses.append(text)
        if child_text(adr, "COUNTRY"):
            countries.append(child_text(adr, "COUNTRY"))
    extra: dict[str, Any] = {
        "reference_number": child_text(el, "REFERENCE_NUMBER"),
        "version": child_text(el, "VERSIONNUM"),
        "last_day_updated": [_date(v) for v in _values(el, "LAST_DAY_UPDATED")],
        "list_type": _values(el, "LIST_TYPE"),
        "title": _values(el, "TITLE"),
        "designation": _values(el, "DESIGNATION"),
        "alias_details": alias_details,
    }
    return Designation(
        key=key,
        name=name,
        entity_type="person" if individual else "organization",
        aliases=aliases,
        programs=[p for p in [child_text(el, "UN_LIST_TYPE")] if p],
        listed_on=_date(child_text(el, "LISTED_ON")),
        nationalities=_values(el, "NATIONALITY"),
        countries=list(dict.fromkeys(countries)),
        birth_dates=[d for d in map(birth_date, children(el, "INDIVIDUAL_DATE_OF_BIRTH")) if d],
        birth_places=[p for p in (_join(b, ("STREET", "CITY", "STATE_PROVINCE", "COUNTRY"))
                                  for b in children(el, "INDIVIDUAL_PLACE_OF_BIRTH")) if p],
        addresses=addresses,
        identifiers=[d for d in map(_document, children(el, "INDIVIDUAL_DOCUMENT")) if d],
        remarks=child_text(el, "COMMENTS1"),
        gender=gender(child_text(el, "GENDER")),
        url=LIST_URL,
        extra={k: v for k, v in extra.items() if v},
    )


class UnSecurityCouncil(Adapter):
    """UN Security Council Consolidated List, consolidated.xml (CONSOLIDATED_LIST/INDIVIDUALS, ENTITIES)."""

    title: ClassVar[str] = "UN Security Council Consolidated List"
    publisher: ClassVar[str] = "United Nations Security Council"
    jurisdiction: ClassVar[str] = "UN"
    kind: ClassVar[str] = "designation"
    formats: ClassVar[tuple[str, ...]] = ("xml",)
    parts: ClassVar[tuple[str, ...]] = ("main",)
    parser_version: ClassVar[str] = "2"  # 2: gender a field of its own

    def publication(self, parts: Mapping[str, Path]) -> Publication:
        """The root's dateGenerated (it moves every day, even when no record does)."""
        generated = head_match(Path(parts["main"]), r'<CONSOLIDATED_LIST\b[^>]*?\sdateGenerated="([^"]+)"')
        return Publication(date=iso_day(generated))

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        main = self.main(parts)
        expect_root(main, "CONSOLIDATED_LIST", "UN consolidated list")
        count = 0
        for el in iter_xml(main, {"INDIVIDUAL", "ENTITY"}):
            count += 1
            yield _record(el)
        if not count:
            raise ParseError("CONSOLIDATED_LIST without any INDIVIDUAL or ENTITY")
