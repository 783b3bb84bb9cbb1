"""US trade.gov Consolidated Screening List (CSL): eleven export-screening lists of Commerce, State and Treasury.

One source; each row's sub-list (the `source` column, e.g. "Entity List (EL) - Bureau of Industry and Security")
becomes a program, with its short code ("EL") in `extra`. Three layouts, told apart by content:

- current CSV (header starts with `_id`): key = `_id` (OFAC rows carry their ent_num there, others a hash
  that trade.gov computes and keeps stable);
- old CSV (2017-2020, no `_id`): key = the OFAC entity_number where the row has one, else
  "<short code>:" + the first 16 hex digits of blake2b(source | name | addresses), over whitespace-folded,
  case-folded text: a content key, so an amended name or address of a BIS/State row reads as removal + addition
  while any other amendment (dates, remarks, ids) keeps the key;
- the CSL API's JSON ({"results": [...]}: the same fields in snake_case, lists where the CSV has "; ").

Rows that share a key (the same party on two sub-lists, or listed twice) are told apart by a hash of the whole
row appended to the key; exact duplicate rows collapse into one record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter, ParseError, sniff
from notifier.parsing import csv_rows, decode, gender
from notifier.records import Designation, Identifier, Vessel

COLUMNS_OLD = (
    "source", "entity_number", "type", "programs", "name", "title", "addresses", "federal_register_notice",
    "start_date", "end_date", "standard_order", "license_requirement", "license_policy", "call_sign", "vessel_type",
    "gross_tonnage", "gross_registered_tonnage", "vessel_flag", "vessel_owner", "remarks", "source_list_url",
    "alt_names", "citizenships", "dates_of_birth", "nationalities", "places_of_birth", "source_information_url", "ids",
)
ENTITY_TYPES = {"individual": "person", "entity": "organization", "vessel": "vessel", "aircraft": "aircraft"}
EXTRA_FIELDS = (
    "entity_number", "title", "federal_register_notice", "end_date", "standard_order", "license_requirement",
    "license_policy", "source_list_url",
)
VESSEL_FIELDS = {"call_sign": "call_sign", "vessel_type": "type", "gross_tonnage": "tonnage",
                 "gross_registered_tonnage": "gross_tonnage", "vessel_flag": "flag", "vessel_owner": "owner"}
_CODE = re.compile(r"\(([A-Z]{2,5})\)")
_ISO2 = re.compile(r"^[A-Z]{2}$")
_WS = re.compile(r"\s+")


def source_code(source: str) -> str:
    """The short code in a CSL sub-list name: "Entity List (EL) - Bureau of ..." -> "EL"."""
    m = _CODE.search(source)
    return m.group(1) if m else source.split(" - ")[0].strip()


def _split(value: Any) -> list[str]:
    """A "; "-joined CSV cell or a JSON list as clean strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [p.strip() for p in str(value).split(";") if p.strip()]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value if v)
    text = str(value).strip()
    return text or None


def _parse_ids(raw: Any, old: bool) -> tuple[list[Identifier], dict[str, list[str]]]:
    """Identifiers from the `ids` field; gender and sanctions notes ("Secondary sanctions risk:") go to extra.

    Current CSV: "type, number[, country]"; old CSV: "[country, ]number, type"; JSON: dicts.
    """
    ids: list[Identifier] = []
    notes: dict[str, list[str]] = {}
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and item.get("number"):
                ids.append(Identifier(str(item.get("type") or "id"), str(item["number"]), item.get("country") or None))
        return ids, notes
    for part in _split(raw):
        bits = [b.strip() for b in part.split(",")]
        if old:
            id_type, rest = bits[-1], bits[:-1]
            country = rest[0] if len(rest) > 1 and _ISO2.match(rest[0]) else None
            number = ", ".join(rest[1:] if country else rest)
        else:
            id_type, rest = bits[0], bits[1:]
            country = rest[-1] if len(rest) > 1 and _ISO2.match(rest[-1]) else None
            number = ", ".join(rest[:-1] if country else rest)
        if id_type.lower() == "gender":
            notes.setdefault("gender", []).append(number)
        elif id_type.endswith((":", "-")) or not number:
            notes.setdefault("sanctions_information", []).append(f"{id_type} {number}".strip())
        else:
            ids.append(Identifier(id_type, number, country))
    return ids, notes


def _countries_of(addresses: list[str]) -> list[str]:
    out = []
    for addr in addresses:
        last = addr.rsplit(",", 1)[-1].strip()
        if _ISO2.match(last):
            out.append(last)
    return out


def _content_key(row: Mapping[str, Any]) -> str:
    source = str(row.get("source") or "")
    basis = "|".join(
        _WS.sub(" ", str(v or "")).strip().casefold()
        for v in (source, row.get("name"), "; ".join(_split(row.get("addresses"))))
    )
    return f"{source_code(source)}:{hashlib.blake2b(basis.encode(), digest_size=8).hexdigest()}"


def _row_hash(row: Mapping[str, Any]) -> str:
    body = json.dumps({k: row[k] for k in sorted(row)}, ensure_ascii=False, default=str)
    return hashlib.blake2b(body.encode(), digest_size=4).hexdigest()


def record_from_row(row: Mapping[str, Any], key: str, old: bool) -> Designation:
    """One CSL row (CSV dict or API JSON object) as a Designation."""
    source = str(row.get("source") or "").strip()
    if not source or not _text(row.get("name")):
        raise ParseError(f"CSL row {key!r} has no source or no name")
    addresses_raw = row.get("addresses")
    if isinstance(addresses_raw, list):  # API: [{"address","city","state","postal_code","country"}]
        addresses = [
            ", ".join(str(a.get(f)) for f in ("address", "city", "state", "postal_code", "country") if a.get(f))
            if isinstance(a, dict) else str(a)
            for a in addresses_raw
        ]
        addresses = [a for a in addresses if a]
    else:
        addresses = _split(addresses_raw)
    identifiers, notes = _parse_ids(row.get("ids"), old)
    extra: dict[str, Any] = {"source": source, "source_code": source_code(source)}
    for name in EXTRA_FIELDS:
        value = _text(row.get(name))
        if value:
            extra[name] = value
    genders = notes.pop("gender", [])
    if len(set(genders)) > 1:
        extra["genders"] = genders  # they disagree: kept as published, no single field value
    extra.update(notes)
    vessel = Vessel(**{field: _text(row.get(column)) for column, field in VESSEL_FIELDS.items()})
    return Designation(
        key=key,
        name=_text(row.get("name")) or "",
        entity_type=ENTITY_TYPES.get(str(row.get("type") or "").strip().lower(), "unknown"),
        aliases=_split(row.get("alt_names")),
        programs=[source, *_split(row.get("programs"))],
        listed_on=_text(row.get("start_date")),
        nationalities=_split(row.get("nationalities")) + _split(row.get("citizenships")),
        countries=_countries_of(addresses),
        birth_dates=_split(row.get("dates_of_birth")),
        birth_places=_split(row.get("places_of_birth")),
        addresses=addresses,
        identifiers=identifiers,
        remarks=_text(row.get("remarks")),
        url=_text(row.get("source_information_url")),
        extra=extra,
        gender=gender(genders[0]) if len(set(genders)) == 1 else None,
        citizenships=_split(row.get("citizenships")),
        vessel=vessel if any(getattr(vessel, f) for f in Vessel.__slots__) else None,
    )


class ConsolidatedScreeningList(Adapter):
    """trade.gov CSL (CSV download or API JSON) -> Designations, one per listed row."""

    title = "Consolidated Screening List"
    publisher = "US International Trade Administration (trade.gov)"
    jurisdiction = "US"
    kind = "designation"
    formats = ("csv", "json")
    parser_version = "2"  # 2: gender, citizenships and vessel facts as fields

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        head = sniff(path)
        if head[:1] in (b"{", b"["):
            yield from self._parse_json(path)
        else:
            yield from self._parse_csv(path)

    def _parse_json(self, path: Path) -> Iterator[Designation]:
        try:
            doc = json.loads(decode(path.read_bytes(), ("utf-8-sig",)))
        except json.JSONDecodeError as exc:
            raise ParseError(f"CSL: not valid JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise ParseError("CSL: JSON without a 'results' list (an API error?)")
        groups: dict[str, list[dict[str, Any]]] = {}
        for i, row in enumerate(doc["results"]):
            if not isinstance(row, dict):
                raise ParseError(f"CSL: result {i} is not an object")
            key = str(row.get("_id") or row.get("id") or row.get("entity_number") or "").strip()
            groups.setdefault(key or _content_key(row), []).append(row)
        yield from _records(groups, old=False)

    def _parse_csv(self, path: Path) -> Iterator[Designation]:
        rows = csv_rows(path)
        header = [h.strip().lstrip("\ufeff") for h in next(rows, [])]
        if header and header[0] == "_id":
            old = False
            if "name" not in header or "source" not in header:
                raise ParseError("CSL: header with _id but without source/name columns")
        elif tuple(header[: len(COLUMNS_OLD)]) == COLUMNS_OLD[: len(header)] and len(header) >= 20:
            old = True
        else:
            raise ParseError(f"CSL: unknown CSV header {header[:5]!r}")
        groups: dict[str, list[dict[str, str]]] = {}
        for lineno, cells in enumerate(rows, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ParseError(f"CSL: row {lineno} has {len(cells)} columns, header has {len(header)}")
            row = dict(zip(header, cells, strict=True))
            key = (row.get("_id") or "").strip() or row["entity_number"].strip() or _content_key(row)
            groups.setdefault(key, []).append(row)
        yield from _records(groups, old)


def _records(groups: dict[str, list[dict[str, Any]]], old: bool) -> Iterator[Designation]:
    """Records of rows grouped by key; rows that share a key get the key plus a hash of their content."""
    for key, group in groups.items():
        unique = {_row_hash(r): r for r in group}  # exact duplicate rows collapse
        if len(unique) == 1:
            yield record_from_row(next(iter(unique.values())), key, old)
        else:
            for digest, r in unique.items():
                yield record_from_row(r, f"{key}~{digest}", old)
