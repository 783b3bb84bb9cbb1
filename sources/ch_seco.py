"""Switzerland SECO sanctions list (`swiss-sanctions-list`, whole-list XML).

The file keeps de-listed targets together with their modification history (listed / amended / de-listed). A target
whose latest modification is a de-listing is not yielded, so the core reports it as removed although it is still in
the file. Programmes (`sanctions-program` with its `sanctions-set`s) and places (`place`) are declared once in the
file and referenced by id from targets; they are resolved to text here. In the real file places come after the
targets, so targets are gathered first and resolved at the end (they are small). The root's `date` is volatile and
never copied into records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError
from notifier.parsing import child_text, children, expect_root, gender, iter_xml, local
from notifier.publication import Publication, head_match, iso_day
from notifier.records import Designation, Identifier, Vessel

LIST_URL = "https://www.sesam.search.admin.ch/sesam-search-web/pages/search.xhtml"
OBJECT_TYPES = {"vessel": "vessel", "ship": "vessel", "aircraft": "aircraft"}
_IMO = re.compile(r"\bIMO(?:\s*(?:Number|No\.?|number))?\s*:?\s*(\d{7})\b", re.I)


def _eng(el: etree._Element, name: str) -> str | None:
    """Text of the English child with this name, else of the first one."""
    found = children(el, name)
    for c in found:
        if c.get("lang") == "eng" and (c.text or "").strip():
            return c.text.strip()
    return next(((c.text or "").strip() for c in found if (c.text or "").strip()), None)


def _place_country(el: etree._Element) -> str | None:
    country = next(iter(children(el, "country")), None)
    return (country.get("iso-code") or (country.text or "").strip() or None) if country is not None else None


def _place_text(el: etree._Element) -> str:
    country = next(iter(children(el, "country")), None)
    parts = [child_text(el, "location"), child_text(el, "area"),
             (country.text or "").strip() if country is not None else None]
    variants = [(c.text or "").strip() for c in el if local(c.tag).endswith("-variant")]
    text = ", ".join(p for p in parts if p)
    variants = [v for v in variants if v]
    return f"{text} ({', '.join(sorted(variants))})" if variants and text else text


def _date(el: etree._Element) -> str | None:
    year, month, day = el.get("year"), el.get("month"), el.get("day")
    if not year:
        return None
    text = year + (f"-{int(month):02d}" if month else "") + (f"-{int(day):02d}" if month and day else "")
    calendar = (el.get("calendar") or "Gregorian").strip()
    return text if calendar.lower() == "gregorian" else f"{text} ({calendar})"


def _names(name: etree._Element) -> tuple[str, list[str]]:
    """The name as published (parts in their `order`) and its spelling variants per language and script."""
    parts = sorted(children(name, "name-part"), key=lambda p: int(p.get("order") or 0))
    values = [child_text(p, "value") or "" for p in parts]
    groups = sorted({(v.get("lang") or "", v.get("script") or "")
                     for p in parts for v in children(p, "spelling-variant")})
    variants = []
    for lang, script in groups:
        words = []
        for part, value in zip(parts, values, strict=True):
            match = [(v.text or "").strip() for v in children(part, "spelling-variant")
                     if (v.get("lang") or "", v.get("script") or "") == (lang, script)]
            words.append(min(match) if match else value)
        variants.append(" ".join(w for w in words if w))
    return " ".join(v for v in values if v), variants


def _modifications(target: etree._Element) -> list[dict[str, str | None]]:
    return [
        {"type": m.get("modification-type"), "effective_date": m.get("effective-date"),
         "publication_date": m.get("publication-date"), "enactment_date": m.get("enactment-date")}
        for m in children(target, "modification")
    ]


_ORDER = {"listed": 0, "amended": 1, "de-listed": 2}


def latest_modification(mods: list[dict[str, str | None]]) -> dict[str, str | None] | None:
    """The newest modification by date; undated ones (old "listed" entries) count as oldest."""
    def when(m: dict[str, str | None]) -> tuple[str, int]:
        return (m["effective_date"] or m["publication_date"] or m["enactment_date"] or "", _ORDER.get(m["type"], 1))
    return max(mods, key=when) if mods else None


class _Target:
    """A target read from the file, with programme and place references still unresolved."""

    def __init__(self, el: etree._Element) -> None:
        self.key = (el.get("ssid") or "").strip()
        if not self.key:
            raise ParseError("SECO: target without ssid")
        self.set_ids = [(s.text or "").strip() for s in children(el, "sanctions-set-id") if (s.text or "").strip()]
        self.modifications = _modifications(el)
        body = next((c for c in el if local(c.tag) in ("individual", "entity", "object")), None)
        if body is None:
            raise ParseError(f"SECO: target {self.key} has no individual, entity or object")
        self.kind = local(body.tag)
        self.sex = body.get("sex")
        self.object_type = (body.get("object-type") or "").lower()
        self.name: str | None = None
        self.aliases: list[str] = []
        self.birth_dates: list[str] = []
        self.birth_place_ids: list[str] = []
        self.nationalities: list[str] = []
        self.addresses: list[tuple[str | None, list[str]]] = []
        self.identifiers: list[Identifier] = []
        self.name_types: dict[str, list[str]] = {}
        identities = sorted(children(body, "identity"),
                            key=lambda i: (i.get("main") != "true", int(i.get("ssid") or 0)))
        for identity in identities:
            names = sorted(children(identity, "name"), key=lambda n: (n.get("name-type") != "primary-name",
                                                                       int(n.get("ssid") or 0)))
            for name in names:
                text, variants = _names(name)
                if self.name is None and text:
                    self.name = text
                elif text:
                    self.aliases.append(text)
                    self.name_types.setdefault(name.get("name-type") or "alias", []).append(text)
                self.aliases.extend(variants)
            for d in children(identity, "day-month-year"):
                if _date(d):
                    self.birth_dates.append(_date(d))
            for p in children(identity, "place-of-birth"):
                self.birth_place_ids.append(p.get("place-id") or "")
            for n in children(identity, "nationality"):
                for c in children(n, "country"):
                    self.nationalities.append(c.get("iso-code") or (c.text or "").strip())
            for a in children(identity, "address"):
                lines = [child_text(a, t) for t in ("c-o", "address-details", "p-o-box", "zip-code", "remark")]
                self.addresses.append((a.get("place-id"), [x for x in lines if x]))
            for doc in children(identity, "identification-document"):
                number = child_text(doc, "number")
                if not number:
                    continue
                issuer = next(iter(children(doc, "issuer")), None)
                note = "; ".join(x for x in (child_text(doc, "date-of-issue"), child_text(doc, "expiry-date"),
                                             child_text(doc, "remark")) if x)
                self.identifiers.append(Identifier(doc.get("document-type") or "document", number,
                                                   issuer.get("code") if issuer is not None else None, note or None))
        notes = sorted(children(body, "justification") + children(body, "other-information"),
                       key=lambda n: int(n.get("ssid") or 0))
        self.remarks = "\n".join((n.text or "").strip() for n in notes if (n.text or "").strip())
        for n in children(body, "other-information"):
            self.identifiers.extend(Identifier("IMO", m) for m in _IMO.findall(n.text or ""))
        self.relations = [{"target_id": r.get("target-id"), "type": r.get("relation-type")}
                          for r in children(body, "relation")]

    def record(self, programs: dict[str, dict[str, str | None]], places: dict[str, str],
               place_countries: dict[str, str | None]) -> Designation:
        if not self.name:
            raise ParseError(f"SECO: target {self.key} has no name")
        sets = [programs.get(s) for s in self.set_ids]
        entity_type = {"individual": "person", "entity": "organization"}.get(
            self.kind, OBJECT_TYPES.get(self.object_type, "unknown"))
        addresses, countries = [], []
        for place_id, lines in self.addresses:
            place = places.get(place_id or "", "")
            addresses.append(", ".join([*lines, place] if place else lines))
            if place_countries.get(place_id or ""):
                countries.append(place_countries[place_id or ""])
        listed = [m for m in self.modifications if m["type"] == "listed"]
        imos = [i.number for i in self.identifiers if i.type == "IMO"]
        extra: dict[str, Any] = {
            "sanctions_set_ids": self.set_ids,
            "sanctions_sets": [s["set"] for s in sets if s and s["set"]],
            "program_names": [s["name"] for s in sets if s and s["name"]],
            "program_origin": [s["origin"] for s in sets if s and s["origin"]],
            "modifications": self.modifications,
            "relations": self.relations,
            "object_type": self.object_type or None,
            "name_types": self.name_types,
        }
        return Designation(
            key=self.key,
            name=self.name,
            entity_type=entity_type,
            aliases=[a for a in self.aliases if a != self.name],
            programs=[s["key"] if s else f"SECO sanctions set {i}" for s, i in zip(sets, self.set_ids, strict=True)],
            listed_on=next((m["effective_date"] or m["publication_date"] for m in listed), None),
            nationalities=self.nationalities,
            countries=countries,
            birth_dates=self.birth_dates,
            birth_places=[places[p] for p in self.birth_place_ids if places.get(p)],
            addresses=[a for a in addresses if a],
            identifiers=self.identifiers,
            remarks=self.remarks or None,
            url=LIST_URL,
            extra=extra,
            gender=gender(self.sex),
            vessel=Vessel(imo=imos[0]) if len(imos) == 1 else None,
        )


class SecoSanctions(Adapter):
    """Swiss SECO consolidated sanctions list (XML)."""

    title = "Switzerland SECO sanctions list"
    publisher = "State Secretariat for Economic Affairs (SECO)"
    jurisdiction = "CH"
    kind = "designation"
    parser_version = "2"  # 2: sex as the gender field, a ship's IMO as the vessel field

    def publication(self, parts: Mapping[str, Path]) -> Publication:
        """The root's `date` attribute (the day SECO issued this list)."""
        issued = head_match(Path(parts["main"]), r'<swiss-sanctions-list\b[^>]*?\sdate="([^"]+)"')
        return Publication(date=iso_day(issued))

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        expect_root(path, "swiss-sanctions-list", "SECO")
        programs: dict[str, dict[str, str | None]] = {}
        places: dict[str, str] = {}
        place_countries: dict[str, str | None] = {}
        targets: dict[str, _Target] = {}
        for el in iter_xml(path, {"target", "sanctions-program", "place"}):
            parent = el.getparent()
            if parent is None or local(parent.tag) != "swiss-sanctions-list":
                continue  # targets and places quoted inside a modification's added/removed history
            tag = local(el.tag)
            if tag == "target":
                target = _Target(el)
                if target.key in targets:
                    raise ParseError(f"SECO: target ssid {target.key} appears twice")
                targets[target.key] = target
            elif tag == "place":
                places[el.get("ssid") or ""] = _place_text(el)
                place_countries[el.get("ssid") or ""] = _place_country(el)
            else:
                for s in children(el, "sanctions-set"):
                    if s.get("lang") == "eng" or s.get("ssid") not in programs:
                        programs[s.get("ssid") or ""] = {
                            "key": _eng(el, "program-key"), "name": _eng(el, "program-name"),
                            "set": (s.text or "").strip() or None, "origin": child_text(el, "origin"),
                        }
        if not targets:
            raise ParseError("SECO: the file holds no target")
        for target in targets.values():
            latest = latest_modification(target.modifications)
            if latest is not None and latest["type"] == "de-listed":
                continue
            yield target.record(programs, places, place_countries)
