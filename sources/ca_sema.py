"""Canada: Consolidated Canadian Autonomous Sanctions List (SEMA / JVCFOA), `sema-lmes.xml`.

Flat `data-set/record` XML. Neither the older schema (Country, Entity, LastName, GivenName, Title, Aliases,
DateOfBirth, Schedule, Item) nor the current one (adds EntityOrShip, TitleOrShip, DateOfBirthOrShipBuildDate,
ShipIMONumber, DateOfListing; some exports suffix tags with their French name, "Country-Pays") has an id, so the
key is built from what Global Affairs Canada numbers entries by: "<country or regulation, English part>|<schedule>
|<item>", e.g. "Russia|1, Part 2|12". "N/A" and a missing schedule are the same (""). Should the same key ever occur
twice, the entries are told apart deterministically by content ("...|12#2"), never by file position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError
from notifier.ingest.canonical import canonical, dumps
from notifier.parsing import expect_root, iter_xml, local
from notifier.records import Designation, Identifier, Vessel

LIST_URL = ("https://www.international.gc.ca/world-monde/international_relations-relations_internationales/"
            "sanctions/consolidated-consolide.aspx?lang=eng")
_WS = re.compile(r"\s+")


def _fold(text: str | None) -> str:
    return _WS.sub(" ", (text or "").replace("\xa0", " ")).strip()


def _fields(el: etree._Element) -> dict[str, str]:
    """Child texts by English tag name ("EntityOrShip-EntiteOuNavire" -> "EntityOrShip")."""
    out: dict[str, str] = {}
    for child in el:
        name = local(child.tag).split("-", 1)[0]
        text = _fold(child.text)
        if name and text:
            out[name] = text
    return out


def record_key(f: Mapping[str, str]) -> str:
    country = _fold(f.get("Country", "").split(" / ", 1)[0])
    schedule = f.get("Schedule", "")
    schedule = "" if schedule.upper() in ("N/A", "S/O") else schedule
    item = f.get("Item", "")
    if not country or not item:
        raise ParseError(f"Canada SEMA: record without Country or Item: {dict(f)}")
    return f"{country}|{schedule}|{item}"


def _split_aliases(text: str | None) -> list[str]:
    return [a for a in (_fold(x) for x in re.split(r"[;,]", text or "")) if a]


def build_record(f: Mapping[str, str], key: str) -> Designation:
    entity = f.get("EntityOrShip") or f.get("Entity")
    person = " ".join(x for x in (f.get("GivenName"), f.get("LastName")) if x)
    imo = f.get("ShipIMONumber")
    is_ship = bool(imo)
    imo_number = re.sub(r"^IMO\s*", "", imo, flags=re.I) if imo else None
    if entity:
        entity_type = "vessel" if is_ship else "organization"
    elif person:
        entity_type = "person"
    else:
        raise ParseError(f"Canada SEMA: record {key} has no name")
    born = f.get("DateOfBirthOrShipBuildDate") or f.get("DateOfBirth")
    title = f.get("TitleOrShip") or f.get("TitleOrShipType") or f.get("Title")
    extra: dict[str, Any] = {
        "country": f.get("Country"),
        "schedule": f.get("Schedule"),
        "item": f.get("Item"),
        "title": None if is_ship else title,
        "last_name": f.get("LastName"),
        "given_name": f.get("GivenName"),
    }
    known = {"Country", "Schedule", "Item", "Entity", "EntityOrShip", "GivenName", "LastName", "Aliases",
             "DateOfBirth", "DateOfBirthOrShipBuildDate", "Title", "TitleOrShip", "TitleOrShipType",
             "ShipIMONumber", "DateOfListing"}
    extra.update({k: v for k, v in sorted(f.items()) if k not in known})  # fields added to the schema later
    return Designation(
        key=key,
        name=entity or person,
        entity_type=entity_type,
        aliases=_split_aliases(f.get("Aliases")),
        programs=[_fold(f.get("Country", "").split(" / ", 1)[0])],
        listed_on=f.get("DateOfListing"),
        birth_dates=[born] if born and not is_ship else [],
        identifiers=[Identifier("IMO", imo_number)] if imo_number else [],
        url=LIST_URL,
        extra=extra,
        vessel=Vessel(imo=imo_number, type=title, build_year=born) if is_ship else None,
    )


class CanadaSema(Adapter):
    """Consolidated Canadian Autonomous Sanctions List (SEMA and JVCFOA regulations)."""

    title = "Canada Consolidated Autonomous Sanctions List (SEMA/JVCFOA)"
    publisher = "Global Affairs Canada"
    jurisdiction = "CA"
    kind = "designation"
    parser_version = "2"  # 2: ship type, build date and IMO as the vessel field

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        expect_root(path, "data-set", "Canada SEMA")
        by_key: dict[str, list[dict[str, str]]] = {}
        for el in iter_xml(path, "record"):
            f = _fields(el)
            by_key.setdefault(record_key(f), []).append(f)
        if not by_key:
            raise ParseError("Canada SEMA: the file holds no record")
        for key, group in by_key.items():
            group.sort(key=lambda f: dumps(canonical(f)))
            for n, f in enumerate(group, start=1):
                yield build_record(f, key if n == 1 else f"{key}#{n}")
