"""OFAC's SDN list and its non-SDN Consolidated list, in the classic sdnList XML or the legacy CSV files.

Both lists are published in the same formats, so one parsing core serves two sources that differ only in
what they are called:
- classic sdnList XML (SDN.XML, CONSOLIDATED.XML; the current Sanctions List Service namespace and the
  older http://tempuri.org/sdnList.xsd one alike: elements are matched by local name), key `uid`;
- the legacy CSV set: sdn.csv (no header, 12 columns, `-0-` for empty, ends with a \\x1a byte), with the
  optional alt.csv (aliases), add.csv (addresses) and sdn_comments.csv (remarks continuations), key `ent_num`.
The format is told by sniffing the main part, never by its file name. Names are written as OFAC writes
them in sdn.csv ("LAST, First"), so the XML and the CSV of one list give the same names.

sdn.csv's `remarks` are taken apart into the fields the XML gives (sources/ofac_fields.py), so both formats
yield the same record for the same party. Left out on purpose: the uids of sub-elements (aka, address, id...)
and Record_Count; Publish_Date is the snapshot's publication date (Adapter.publication), not a record field.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import orjson
from lxml import etree
from xxhash import xxh3_64_intdigest

from notifier.adapter import Adapter, ParseError, Unbuilt, sniff
from notifier.parsing import child_text, children, csv_rows, decode_as, iter_xml, root_tag
from notifier.publication import Publication, head_match, publisher_date
from notifier.records import Designation, Vessel
from sources.ofac_fields import apply_id, apply_remarks, id_note, iso_date, linked_in_xml_remarks

ENTRY_URL = "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={key}"

_TYPES = {"individual": "person", "entity": "organization", "vessel": "vessel", "aircraft": "aircraft"}

_VESSEL_FIELDS = {  # sdnList vesselInfo element -> Vessel field (the CSV columns map to the same ones)
    "callSign": "call_sign",
    "vesselType": "type",
    "vesselFlag": "flag",
    "vesselOwner": "owner",
    "tonnage": "tonnage",
    "grossRegisteredTonnage": "gross_tonnage",
}

# Columns of the legacy CSV files (none has a header row).
SDN_COLUMNS = ("ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage", "GRT",
               "Vess_flag", "Vess_owner", "Remarks")
_PART_WIDTH = {"main": len(SDN_COLUMNS), "alt": 5, "add": 6, "comments": 2}
_EOF = "\x1a"
_BLANK = ("", "-0-")  # a cell that says nothing (once stripped)
_EOF_BYTE = _EOF.encode()
_LINE_SEEDS = {"utf-8": 1, "cp1252": 2}  # a line's digest names its encoding: the same bytes read otherwise differ


def ofac_name(last: str | None, first: str | None) -> str | None:
    """A name as OFAC writes it in sdn.csv and alt.csv: "LAST, First", or the one part there is."""
    if last and first:
        return f"{last}, {first}"
    return last or first


def _alias_type(text: str | None) -> str | None:
    """"a.k.a." (XML) and "aka" (CSV) are the same alias type."""
    return text.replace(".", "").strip().lower() if text else None


def _dedup(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# --- classic sdnList XML ---------------------------------------------------------------------------------------


def _xml_entry(el: etree._Element) -> Designation:
    key = child_text(el, "uid")
    if not key:
        raise ParseError("sdnEntry without uid")
    name = ofac_name(child_text(el, "lastName"), child_text(el, "firstName"))
    if not name:
        raise ParseError(f"sdnEntry {key} has no name")
    sdn_type = (child_text(el, "sdnType") or "").lower()
    extra: dict[str, Any] = {"title": child_text(el, "title")}

    def items(list_name: str, item_name: str) -> list[etree._Element]:
        return [item for lst in children(el, list_name) for item in children(lst, item_name)]

    aliases, alias_details = [], []
    for aka in items("akaList", "aka"):
        alias = ofac_name(child_text(aka, "lastName"), child_text(aka, "firstName"))
        if alias:
            aliases.append(alias)
            alias_details.append({"name": alias, "type": _alias_type(child_text(aka, "type")),
                                  "category": child_text(aka, "category")})
    addresses, countries = [], []
    for adr in items("addressList", "address"):
        place = " ".join(filter(None, (child_text(adr, t) for t in ("city", "stateOrProvince", "postalCode"))))
        country = child_text(adr, "country")
        lines = [child_text(adr, t) for t in ("address1", "address2", "address3")] + [place, country]
        addresses.append(", ".join(filter(None, lines)))
        countries.append(country)
    if alias_details:
        extra["alias_details"] = alias_details
    nationalities = [child_text(n, "country") for n in items("nationalityList", "nationality")]
    citizenships = [child_text(c, "country") for c in items("citizenshipList", "citizenship")]
    remarks, linked_to = linked_in_xml_remarks(child_text(el, "remarks"))
    record = Designation(
        key=key,
        name=name,
        entity_type=_TYPES.get(sdn_type, "unknown"),
        aliases=aliases,
        programs=[p.text.strip() for p in items("programList", "program") if p.text and p.text.strip()],
        nationalities=nationalities + citizenships,
        citizenships=citizenships,
        countries=countries,
        birth_dates=[iso_date(child_text(d, "dateOfBirth")) for d in items("dateOfBirthList", "dateOfBirthItem")],
        birth_places=[child_text(p, "placeOfBirth") for p in items("placeOfBirthList", "placeOfBirthItem")],
        addresses=addresses,
        remarks=remarks,
        linked_to=linked_to,
        url=ENTRY_URL.format(key=key),
        extra=extra,
    )
    for vessel in children(el, "vesselInfo"):
        record.vessel = Vessel(**{field: child_text(vessel, tag) for tag, field in _VESSEL_FIELDS.items()})
    for ident in items("idList", "id"):
        note = id_note(child_text(ident, "issueDate"), child_text(ident, "expirationDate"))
        apply_id(record, child_text(ident, "idType") or "", child_text(ident, "idNumber"),
                 child_text(ident, "idCountry"), note)
    return _finish(record)


def _finish(record: Designation) -> Designation:
    """What both formats do last: lists without blanks or repeats, no empty extras, no empty vessel."""
    for name in ("nationalities", "citizenships", "countries", "birth_dates", "birth_places", "addresses",
                 "linked_to", "websites", "emails", "phones", "aliases"):
        setattr(record, name, _dedup(getattr(record, name)))
    record.extra = {k: v for k, v in record.extra.items() if v}
    if record.vessel is not None and not any(getattr(record.vessel, f) for f in Vessel.__slots__):
        record.vessel = None
    return record


def parse_sdn_xml(path: Path) -> Iterator[Designation]:
    """Stream the sdnEntry elements of a classic sdnList document."""
    tag = root_tag(path)
    if tag != "sdnList":
        raise ParseError(f"XML root is <{tag}>, not OFAC's <sdnList>")
    count = 0
    for el in iter_xml(path, "sdnEntry"):
        count += 1
        yield _xml_entry(el)
    if not count:
        raise ParseError("sdnList without any sdnEntry")


# --- legacy CSV ------------------------------------------------------------------------------------------------


def _check_ends(path: Path, part: str) -> None:
    """An empty part, or one cut mid-row (a truncated download), is refused before any row is read."""
    size = path.stat().st_size
    if not sniff(path).strip(_EOF.encode()):
        raise ParseError(f"OFAC CSV part {part!r} is empty")
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 1))
        if fh.read(1) not in (b"\n", b"\r", _EOF.encode()):
            raise ParseError(f"OFAC CSV part {part!r} ends mid-row: truncated download?")


def _values(row: list[str], part: str, line: int) -> list[str | None]:
    """One CSV row, `-0-` as None; strict about width, so a truncated download is refused."""
    width = _PART_WIDTH[part]
    if len(row) != width:
        raise ParseError(f"OFAC CSV part {part!r}, line {line}: {len(row)} columns, expected {width}")
    values = [None if v == "-0- " or v.strip() in _BLANK else v for v in row]  # "-0- ": most cells, no strip
    if not values[0] or not values[0].strip().isdigit():
        raise ParseError(f"OFAC CSV part {part!r}, line {line}: ent_num {row[0]!r} is not a number")
    values[0] = values[0].strip()
    return values


def _csv_part(path: Path, part: str) -> Iterator[list[str | None]]:
    """Rows of one CSV part, `-0-` as None."""
    _check_ends(path, part)
    eof_seen = False
    for line, row in enumerate(csv_rows(path, strict=True), 1):
        if not row:
            continue
        if row == [_EOF]:
            eof_seen = True
            continue
        if eof_seen:
            raise ParseError(f"OFAC CSV part {part!r}, line {line}: data after the end-of-file byte")
        yield _values(row, part, line)


def _strip(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _csv_designation(row: list[str | None]) -> Designation:
    ent_num, name, sdn_type, program, title, *vessel, remarks = row
    if not _strip(name):
        raise ParseError(f"sdn.csv entry {ent_num} has no name")
    extra: dict[str, Any] = {"title": _strip(title)}
    csv_vessel = ("callSign", "vesselType", "tonnage", "grossRegisteredTonnage", "vesselFlag", "vesselOwner")
    vessel_fields = {_VESSEL_FIELDS[tag]: _strip(value) for tag, value in zip(csv_vessel, vessel, strict=True)}
    programs = [p.strip(" []") for p in (program or "").split("] [")]
    return Designation(
        key=ent_num,
        name=name.strip(),
        entity_type=_TYPES.get((sdn_type or "entity").strip().lower(), "unknown"),
        programs=[p for p in programs if p],
        remarks=remarks,  # kept raw until sdn_comments continuations are appended, stripped at the end
        url=ENTRY_URL.format(key=ent_num),
        extra=extra,
        vessel=Vessel(**vessel_fields),
    )


def sdn_csv_rows(parts: Mapping[str, Path]) -> Iterator[tuple[str, Any]]:
    """(ent_num, every row about it: sdn, alt, add and comments rows, and whether the comments part was given),
    in sdn.csv order; rows of unknown ent_nums are ignored. What one record is built from, and nothing else."""
    if not any(part in parts for part in ("alt", "add", "comments")):
        yield from _sdn_only_rows(Path(parts["main"]))
        return
    groups: dict[str, tuple[list[str | None], list[Any], list[Any], list[Any]]] = {}
    for row in _csv_part(Path(parts["main"]), "main"):
        if row[0] in groups:
            raise ParseError(f"sdn.csv lists ent_num {row[0]} twice")
        groups[row[0]] = (row, [], [], [])
    for index, part in ((1, "alt"), (2, "add"), (3, "comments")):
        if part in parts:
            for row in _csv_part(Path(parts[part]), part):
                group = groups.get(row[0])
                if group is not None:
                    group[index].append(row)
    if not groups:
        raise ParseError("sdn.csv has no entries")
    complete = "comments" in parts
    for ent_num, group in groups.items():
        yield ent_num, (*group, complete)


def _sdn_lines(main: Path) -> Iterator[Unbuilt] | None:
    """sdn.csv alone, read line by line: each party is one line, digested as bytes, and only a line whose digest
    moved is parsed as CSV (when built, `build_sdn_line`). A line is checked only then: one with the same bytes,
    in the same encoding, was checked when the stored record was made from it.

    None when a record may span lines (a quoted line break, a lone CR): the file is read as CSV instead."""
    _check_ends(main, "main")
    data = main.read_bytes()
    _text, encoding = decode_as(data)
    if encoding == "utf-8-sig":
        data, encoding = data.removeprefix(codecs.BOM_UTF8), "utf-8"
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if any(b"\r" in line or line.count(b'"') % 2 for line in lines):
        return None
    return _sdn_line_items(lines, encoding)


def _sdn_line_items(lines: list[bytes], encoding: str) -> Iterator[Unbuilt]:
    seed = _LINE_SEEDS[encoding]
    seen: set[str] = set()
    eof_seen = False
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        if line == _EOF_BYTE:
            eof_seen = True
            continue
        if eof_seen:
            raise ParseError(f"OFAC CSV part 'main', line {number}: data after the end-of-file byte")
        raw = (number, line, encoding)
        comma = line.find(b",")
        key = line[:comma].decode(encoding).strip() if comma > 0 else ""
        if not key.isdigit():  # quoted, or not a number: read as CSV (refused there when it is not one)
            key = _line_values(raw)[0]
        if key in seen:
            raise ParseError(f"sdn.csv lists ent_num {key} twice")
        seen.add(key)
        yield Unbuilt(key, xxh3_64_intdigest(line, seed) >> 1, raw)
    if not seen:
        raise ParseError("sdn.csv has no entries")


def _line_values(raw: tuple[int, bytes, str]) -> list[str | None]:
    number, line, encoding = raw
    try:
        rows = list(csv.reader([line.decode(encoding)], strict=True))
    except csv.Error as exc:
        raise ParseError(f"bad CSV at line {number}: {exc}") from exc
    return _values(rows[0] if rows else [], "main", number)


def build_sdn_line(raw: tuple[int, bytes, str]) -> Designation:
    """One record from its _sdn_lines item: the line read as CSV, then built as sdn_csv_rows' group of it."""
    return build_sdn_csv((_line_values(raw), (), (), (), False))


def _sdn_only_rows(main: Path) -> Iterator[tuple[str, Any]]:
    """sdn_csv_rows of sdn.csv alone, streamed: nothing to group, so no row outlives its record (holding every
    row made the garbage collector walk them all, again and again, for a third of a poll's time). The empty
    tuples serialise as the empty lists of the grouped form: raw digests are the same."""
    seen: set[str] = set()
    for row in _csv_part(main, "main"):
        if row[0] in seen:
            raise ParseError(f"sdn.csv lists ent_num {row[0]} twice")
        seen.add(row[0])
        yield row[0], (row, (), (), (), False)
    if not seen:
        raise ParseError("sdn.csv has no entries")


def build_sdn_csv(raw: Any) -> Designation:
    """One record from its sdn_csv_rows group."""
    row, alts, adds, comments, complete = raw
    record = _csv_designation(row)
    for _ent_num, _alt_num, alt_type, alt_name, alt_remarks in alts:
        if not _strip(alt_name):
            continue
        record.aliases.append(alt_name.strip())
        record.extra.setdefault("alias_details", []).append(
            {"name": alt_name.strip(), "type": _alias_type(alt_type), "remarks": _strip(alt_remarks)})
    for _ent_num, _add_num, address, place, country, add_remarks in adds:
        text = ", ".join(filter(None, (_strip(address), _strip(place), _strip(country))))
        if add_remarks and add_remarks.strip():
            text = f"{text} ({add_remarks.strip()})" if text else add_remarks.strip()
        if text:
            record.addresses.append(text)
        if _strip(country):
            record.countries.append(country.strip())
    for _ent_num, extension in comments:
        if extension:
            record.remarks = (record.remarks or "") + extension  # OFAC cut the remark mid-word: no separator
    parsed = apply_remarks(record, record.remarks, complete=complete)
    for alias_type, alias in parsed.aliases:  # alt.csv, when given, does not always hold them all
        if alias not in record.aliases:
            record.aliases.append(alias)
            record.extra.setdefault("alias_details", []).append({"name": alias, "type": alias_type})
    record.remarks = "; ".join(parsed.rest) or None
    if parsed.cut:
        record.extra["remarks_cut"] = "sdn.csv cut this entry's remarks; its last clause is left out"
    return _finish(record)


def parse_sdn_csv(parts: Mapping[str, Path]) -> Iterator[Designation]:
    """sdn.csv, with alt.csv, add.csv and sdn_comments.csv merged in when given (rows of unknown ent_nums ignored)."""
    for _ent_num, raw in sdn_csv_rows(parts):
        yield build_sdn_csv(raw)


# --- the two sources -------------------------------------------------------------------------------------------


class _OfacList(Adapter):
    """The parsing core both OFAC lists share; the format is sniffed from the main part."""

    publisher: ClassVar[str] = "U.S. Department of the Treasury, Office of Foreign Assets Control (OFAC)"
    jurisdiction: ClassVar[str] = "US"
    kind: ClassVar[str] = "designation"
    formats: ClassVar[tuple[str, ...]] = ("xml", "csv")
    parts: ClassVar[tuple[str, ...]] = ("main", "alt", "add", "comments")
    parser_version: ClassVar[str] = "2"  # 2: sdn.csv remarks taken apart into fields; gender, vessel, links

    def publication(self, parts: Mapping[str, Path]) -> Publication:
        """The XML's Publish_Date (MM/DD/YYYY); the CSV files carry no date (the core reads the file name)."""
        published = head_match(Path(parts["main"]), r"<(?:\w+:)?Publish_Date>\s*([^<]+?)\s*<")
        return Publication(date=publisher_date(published, ("%m/%d/%Y",)))

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._declared: str | None = None

    @property
    def declared_count(self) -> int | None:
        """The XML publication header's Record_Count (the CSV files declare none)."""
        return int(self._declared) if self._declared and self._declared.isdigit() else None

    builds_on_demand: ClassVar[bool] = True  # sdn.csv: a party whose rows did not change is not built again

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        for item in self.parse_unbuilt(parts):
            yield self.build(item.raw) if type(item) is Unbuilt else item

    def build(self, raw: Any) -> Designation:
        return build_sdn_line(raw) if type(raw[1]) is bytes else build_sdn_csv(raw)

    def parse_unbuilt(self, parts: Mapping[str, Path]) -> Iterator[Designation | Unbuilt]:
        self._declared = None
        main = self.main(parts)
        head = sniff(main)
        if not head.strip(_EOF.encode()):
            raise ParseError("empty file: no OFAC list in it")
        if head.startswith(b"<"):
            self._declared = head_match(main, r"<(?:\w+:)?Record_Count>\s*(\d+)\s*<")
            yield from parse_sdn_xml(main)
        elif head[:1].isdigit():
            alone = not any(part in parts for part in ("alt", "add", "comments"))
            lines = _sdn_lines(Path(parts["main"])) if alone else None
            if lines is not None:
                yield from lines
                return
            for ent_num, raw in sdn_csv_rows(parts):
                yield Unbuilt(ent_num, xxh3_64_intdigest(orjson.dumps(raw)) >> 1, raw)
        else:
            raise ParseError(f"neither sdnList XML nor sdn.csv: starts with {head[:40]!r}")


class OfacSdn(_OfacList):
    """The Specially Designated Nationals and Blocked Persons List (SDN.XML or sdn.csv + alt/add/comments)."""

    title: ClassVar[str] = "OFAC Specially Designated Nationals and Blocked Persons List (SDN)"


class OfacConsolidated(_OfacList):
    """OFAC's Consolidated (non-SDN) Sanctions List: SSI, NS-MBS, NS-CMIC, FSE, PLC... (CONSOLIDATED.XML)."""

    title: ClassVar[str] = "OFAC Consolidated Sanctions List (non-SDN)"
