"""UK Sanctions List (FCDO): the only official UK list since 28 January 2026.

Formats, told apart by content, not by file name:
- XML (`Designations/Designation`, key `UniqueID`, e.g. "RUS2176");
- CSV: a `Report Date:` banner line, then a 58-column header, one row per name of a designation; the rows of one
  `Unique ID` are folded into one record;
- the former HM Treasury consolidated list CSV ("ConList", `Last Updated,<date>` then a 29-column header, one row
  per alias and address, key `Group ID`), so archived snapshots can still be read.

The generation date (`dateGenerated`, `DateGenerated`, the banner's report date) is volatile and never copied into
records; a designation's own `LastUpdated` is kept in `extra` because it only moves when FCDO edits that entry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError, sniff
from notifier.parsing import csv_rows, gender, iter_xml, local, root_tag
from notifier.publication import Publication, head_match, iso_day, publisher_date
from notifier.records import Designation, Identifier, Vessel

log = logging.getLogger(__name__)

LIST_URL = "https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.xml"
ENTITY_TYPES = {"individual": "person", "entity": "organization", "ship": "vessel", "aircraft": "aircraft"}
_DMY = re.compile(r"^(dd|\d{1,2})/(mm|\d{1,2})/(\d{4})$")


def uk_date(text: str | None) -> str | None:
    """dd/mm/yyyy as ISO; placeholders kept as precision ("dd/mm/1968" -> "1968", "dd/09/1958" -> "1958-09")."""
    if not text or not text.strip():
        return None
    text = text.strip()
    m = _DMY.match(text)
    if not m:
        return text
    day, month, year = m.groups()
    if not month.isdigit() or int(month) == 0:
        return year
    if not day.isdigit() or int(day) == 0:
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _imo(text: str) -> str:
    return re.sub(r"^IMO\s*", "", text.strip(), flags=re.I)


def _join(parts: Iterable[str | None], sep: str = ", ") -> str:
    return sep.join(p.strip() for p in parts if p and p.strip())


class _Folded:
    """Everything said about one designation, gathered from one XML element or several CSV rows."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.primary: set[str] = set()
        self.names: set[str] = set()
        self.values: dict[str, set[str]] = {}
        self.identifiers: list[Identifier] = []

    def add(self, field: str, value: str | None) -> None:
        if field == "last_updated":
            value = uk_date(value)
        if value and value.strip():
            self.values.setdefault(field, set()).add(value.strip())

    def get(self, field: str) -> list[str]:
        return sorted(self.values.get(field, ()))

    def one(self, field: str) -> str | None:
        values = self.get(field)
        return "\n".join(values) if values else None

    def record(self) -> Designation:
        primary = sorted(self.primary) or sorted(self.names)
        if not primary:
            raise ParseError(f"UK sanctions list: designation {self.key} has no name")
        name = primary[0]
        types = {t.lower() for t in self.get("type")}
        entity_type = ENTITY_TYPES.get(next(iter(types)), "unknown") if len(types) == 1 else "unknown"
        extra: dict[str, Any] = {
            k: (v[0] if len(v) == 1 else v)
            for k, v in ((f, self.get(f)) for f in sorted(self.values) if f not in _MAPPED)
        }
        return Designation(
            key=self.key,
            name=name,
            entity_type=entity_type,
            aliases=sorted((self.names | self.primary) - {name}),
            programs=self.get("regime"),
            listed_on=min((uk_date(d) for d in self.get("date_designated")), default=None),
            nationalities=self.get("nationality"),
            countries=self.get("address_country"),
            birth_dates=[d for d in (uk_date(d) for d in self.get("dob")) if d],
            birth_places=self.get("birth_place"),
            addresses=self.get("address"),
            identifiers=self.identifiers,
            remarks=self.one("other_information"),
            url=LIST_URL,
            extra=extra,
            gender=gender(self.one("gender")),
            websites=self.get("websites"),
            emails=self.get("email_addresses"),
            phones=self.get("phone_numbers"),
            vessel=self._vessel(),
        )

    def _vessel(self) -> Vessel | None:
        imo = [i.number for i in self.identifiers if i.type == "IMO"]
        vessel = Vessel(flag=self.one("current_flag"), imo=imo[0] if len(imo) == 1 else None,
                        type=self.one("type_of_ship"), tonnage=self.one("tonnage"),
                        owner=self.one("current_owner_operators"), build_year=self.one("year_built"))
        return vessel if any(getattr(vessel, f) for f in Vessel.__slots__) else None


_MAPPED = {
    "type", "regime", "date_designated", "nationality", "address_country", "dob", "birth_place", "address",
    "other_information", "gender", "websites", "email_addresses", "phone_numbers", "current_flag", "type_of_ship",
    "tonnage", "current_owner_operators", "year_built",
}


# --- XML ---------------------------------------------------------------------------------------------------------

def _leaf_texts(el: etree._Element, name: str) -> list[str]:
    return [t for t in ((c.text or "").strip() for c in el.iter() if local(c.tag) == name) if t]


def _first(el: etree._Element, name: str) -> str | None:
    return next(iter(_leaf_texts(el, name)), None)


_XML_EXTRA = {  # leaf element -> extra field, for facts without a normalized field
    "LastUpdated": "last_updated", "OFSIGroupID": "ofsi_group_id", "UNReferenceNumber": "un_reference_number",
    "Title": "titles", "DesignationSource": "designation_source", "UKStatementofReasons": "statement_of_reasons",
    "Position": "positions", "Gender": "gender", "TypeOfEntity": "type_of_entity", "Subsidiary": "subsidiaries",
    "ParentCompany": "parent_companies", "CurrentOwnerOperator": "current_owner_operators",
    "PreviousOwnerOperator": "previous_owner_operators", "CurrentBelievedFlagOfShip": "current_flag",
    "PreviousFlag": "previous_flags", "TypeOfShip": "type_of_ship", "TonnageOfShip": "tonnage",
    "LengthOfShip": "length", "YearBuilt": "year_built", "HullIdentificationNumber": "hull_identification_number",
    "PhoneNumber": "phone_numbers", "EmailAddress": "email_addresses", "Website": "websites",
}


def _xml_designation(el: etree._Element) -> _Folded | None:
    key = _first(el, "UniqueID")
    if not key:
        return None
    f = _Folded(key)
    for name in el.iter("Name"):
        full = _join((_first(name, f"Name{i}") for i in (1, 2, 3, 4, 5, 6)), sep=" ")
        if full:
            (f.primary if (_first(name, "NameType") or "").lower() == "primary name" else f.names).add(full)
            if (_first(name, "AliasStrength") or "").lower().startswith("low"):
                f.add("low_quality_aliases", full)
    for text in _leaf_texts(el, "NameNonLatinScript"):
        f.names.add(text)
    f.add("regime", _first(el, "RegimeName"))
    f.add("type", _first(el, "IndividualEntityShip"))
    f.add("date_designated", _first(el, "DateDesignated"))
    f.add("other_information", _first(el, "OtherInformation"))
    for sanction in (_first(el, "SanctionsImposed") or "").split("|"):
        f.add("sanctions_imposed", sanction)
    for leaf, field in _XML_EXTRA.items():
        for text in _leaf_texts(el, leaf):
            f.add(field, text)
    for address in el.iter("Address"):
        lines = [_first(address, f"AddressLine{i}") for i in range(1, 7)]
        country = _first(address, "AddressCountry")
        f.add("address", _join([*lines, _first(address, "AddressPostalCode"), country]))
        f.add("address_country", country)
    for text in _leaf_texts(el, "DOB"):
        f.add("dob", text)
    for text in _leaf_texts(el, "Nationality"):
        f.add("nationality", text)
    for loc in el.iter("Location"):
        f.add("birth_place", _join([_first(loc, "TownOfBirth"), _first(loc, "CountryOfBirth")]))
    for passport in el.iter("Passport"):
        number = _first(passport, "PassportNumber")
        if number:
            f.identifiers.append(Identifier("Passport", number, note=_first(passport, "PassportAdditionalInformation")))
    for nid in el.iter("NationalIdentifier"):
        number = _first(nid, "NationalIdentifierNumber")
        if number:
            f.identifiers.append(Identifier(
                "National identifier", number, note=_first(nid, "NationalIdentifierAdditionalInformation")))
    for text in _leaf_texts(el, "IMONumber"):
        f.identifiers.append(Identifier("IMO", _imo(text)))
    for text in _leaf_texts(el, "BusinessRegistrationNumber"):
        f.identifiers.append(Identifier("Business registration number", text))
    return f


# --- CSV (current) -----------------------------------------------------------------------------------------------

_CSV_EXTRA = {
    "Last Updated": "last_updated", "OFSI Group ID": "ofsi_group_id", "UN Reference Number": "un_reference_number",
    "Title": "titles", "Designation source": "designation_source", "UK Statement of Reasons": "statement_of_reasons",
    "Phone number": "phone_numbers", "Website": "websites", "Email address": "email_addresses",
    "Position": "positions", "Gender": "gender", "Type of entity": "type_of_entity", "Subsidiaries": "subsidiaries",
    "Parent company": "parent_companies", "Current owner/operator (s)": "current_owner_operators",
    "Previous owner/operator (s)": "previous_owner_operators", "Current believed flag of ship": "current_flag",
    "Previous flags": "previous_flags", "Type of ship": "type_of_ship", "Tonnage of ship": "tonnage",
    "Length of ship": "length", "Year Built": "year_built",
    "Hull identification number (HIN)": "hull_identification_number",
    "Non-latin script type": "non_latin_script_type", "Non-latin script language": "non_latin_script_language",
}
_CSV_REQUIRED = ("Unique ID", "Name 6", "Name type", "Regime Name", "Designation Type")


def _dict_rows(rows: Iterator[list[str]], header: list[str], first_line: int) -> Iterator[tuple[int, dict[str, str]]]:
    for n, row in enumerate(rows, start=first_line):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ParseError(f"UK sanctions list CSV line {n}: {len(row)} columns, header has {len(header)}")
        yield n, dict(zip(header, (c.strip() for c in row), strict=True))


def _fold_current_csv(rows: Iterator[list[str]], header: list[str]) -> dict[str, _Folded]:
    missing = [c for c in _CSV_REQUIRED if c not in header]
    if missing:
        raise ParseError(f"UK sanctions list CSV: header lacks {missing}")
    folded: dict[str, _Folded] = {}
    for n, row in _dict_rows(rows, header, 3):
        key = row["Unique ID"]
        if not key:
            raise ParseError(f"UK sanctions list CSV line {n}: no Unique ID")
        f = folded.setdefault(key, _Folded(key))
        full = _join((row.get(f"Name {i}") for i in (1, 2, 3, 4, 5, 6)), sep=" ")
        if full:
            (f.primary if row["Name type"].lower() == "primary name" else f.names).add(full)
            if row.get("Alias strength", "").lower().startswith("low"):
                f.add("low_quality_aliases", full)
        f.names.update(x for x in [row.get("Name non-latin script")] if x)
        f.add("regime", row["Regime Name"])
        f.add("type", row["Designation Type"])
        f.add("date_designated", row.get("Date Designated"))
        f.add("other_information", row.get("Other Information"))
        for sanction in row.get("Sanctions Imposed", "").split("|"):
            f.add("sanctions_imposed", sanction)
        for column, field in _CSV_EXTRA.items():
            f.add(field, row.get(column))
        country = row.get("Address Country")
        lines = [row.get(f"Address Line {i}") for i in range(1, 7)]
        f.add("address", _join([*lines, row.get("Address Postal Code"), country]))
        f.add("address_country", country)
        f.add("dob", row.get("D.O.B"))
        f.add("nationality", row.get("Nationality(/ies)"))
        f.add("birth_place", _join([row.get("Town of birth"), row.get("Country of birth")]))
        for column, kind, note in (
            ("Passport number", "Passport", "Passport additional information"),
            ("National Identifier number", "National identifier", "National Identifier additional information"),
            ("Business registration number (s)", "Business registration number", None),
        ):
            if row.get(column):
                ident = Identifier(kind, row[column], note=row.get(note) if note else None)
                if ident not in f.identifiers:
                    f.identifiers.append(ident)
        if row.get("IMO number") and Identifier("IMO", _imo(row["IMO number"])) not in f.identifiers:
            f.identifiers.append(Identifier("IMO", _imo(row["IMO number"])))
    return folded


# --- CSV (former HM Treasury ConList) ----------------------------------------------------------------------------

def _fold_conlist(rows: Iterator[list[str]], header: list[str]) -> dict[str, _Folded]:
    if "Group ID" not in header or "Alias Type" not in header:
        raise ParseError("HM Treasury ConList: header lacks Group ID / Alias Type")
    folded: dict[str, _Folded] = {}
    for n, row in _dict_rows(rows, header, 3):
        key = row["Group ID"]
        if not key:
            raise ParseError(f"HM Treasury ConList line {n}: no Group ID")
        f = folded.setdefault(key, _Folded(key))
        full = _join((row.get(f"Name {i}") for i in (1, 2, 3, 4, 5, 6)), sep=" ")
        if full:
            (f.primary if row["Alias Type"].lower() == "prime alias" else f.names).add(full)
        f.add("regime", row.get("Regime"))
        f.add("type", row.get("Group Type"))
        f.add("date_designated", row.get("Listed On"))
        f.add("last_updated", row.get("Last Updated"))
        f.add("other_information", row.get("Other Information"))
        f.add("titles", row.get("Title"))
        f.add("positions", row.get("Position"))
        country = row.get("Country")
        f.add("address", _join([*(row.get(f"Address {i}") for i in range(1, 7)), row.get("Post/Zip Code"), country]))
        f.add("address_country", country)
        f.add("dob", row.get("DOB"))
        f.add("nationality", row.get("Nationality"))
        f.add("birth_place", _join([row.get("Town of Birth"), row.get("Country of Birth")]))
        for column, kind in (("Passport Details", "Passport"), ("NI Number", "National identifier")):
            if row.get(column) and Identifier(kind, row[column]) not in f.identifiers:
                f.identifiers.append(Identifier(kind, row[column]))
    return folded


class UkSanctionsList(Adapter):
    """UK Sanctions List (FCDO) in XML or CSV; also reads the former HM Treasury ConList CSV."""

    title = "UK Sanctions List"
    publisher = "Foreign, Commonwealth & Development Office (FCDO)"
    jurisdiction = "GB"
    kind = "designation"
    formats = ("xml", "csv")
    parser_version = "2"  # 2: gender, websites, e-mails, phones and ship facts as fields

    def publication(self, parts: Mapping[str, Path]) -> Publication:
        """XML: the root's dateGenerated; CSV: the "Report Date:" banner; HMT ConList: its "Last Updated" line."""
        path = Path(parts["main"])
        generated = head_match(path, r'<Designations\b[^>]*?\sdateGenerated="([^"]+)"')
        if generated:
            return Publication(date=iso_day(generated))
        report = head_match(path, r"\A\s*Report Date:\s*([^,\r\n]+)")
        if report:
            return Publication(date=publisher_date(report, ("%d-%b-%Y", "%d/%m/%Y")))
        updated = head_match(path, r"\A\s*Last Updated,\s*(\d{1,2}/\d{1,2}/\d{4})")
        return Publication(date=publisher_date(updated, ("%d/%m/%Y",)))

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        head = sniff(path)
        if head.startswith(b"<"):
            yield from self._xml(path)
        elif head.startswith(b"report date:") or head.startswith(b"last updated,unique id"):
            yield from self._csv(path, banner=head.startswith(b"report date:"), fold=_fold_current_csv)
        elif head.startswith(b"last updated,") and b"\nname 6,name 1" in head.replace(b"\r\n", b"\n"):
            yield from self._csv(path, banner=True, fold=_fold_conlist)
        else:
            raise ParseError(f"UK sanctions list: neither the XML nor a known CSV layout: {head[:80]!r}")

    def _xml(self, path: Path) -> Iterator[Designation]:
        root = root_tag(path)
        if root != "Designations":
            raise ParseError(f"UK sanctions list: root element is <{root}>, expected <Designations>")
        seen: set[str] = set()
        for el in iter_xml(path, "Designation"):
            folded = _xml_designation(el)
            if folded is None:
                log.warning("UK sanctions list: a Designation without UniqueID skipped: %.200s",
                            etree.tostring(el, encoding="unicode"))
                continue
            if folded.key in seen:
                raise ParseError(f"UK sanctions list: UniqueID {folded.key} appears twice")
            seen.add(folded.key)
            yield folded.record()
        if not seen:
            raise ParseError("UK sanctions list: no Designation with a UniqueID")

    def _csv(self, path: Path, banner: bool, fold: Any) -> Iterator[Designation]:
        rows = csv_rows(path)
        if banner:
            next(rows, None)
        header = [c.strip() for c in next(rows, [])]
        folded = fold(rows, header)
        if not folded:
            raise ParseError("UK sanctions list CSV: no data rows")
        for f in folded.values():
            yield f.record()


__all__ = ["UkSanctionsList", "uk_date"]
