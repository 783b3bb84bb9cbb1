"""OpenSanctions datasets, read from their FollowTheMoney (FtM) entities file (`entities.ftm.json`).

One JSON entity per line: {"id", "schema", "properties": {prop: [values]}, "datasets", "target", "first_seen",
"last_seen", "last_change", ...}. The file reaches millions of lines, so it is streamed line by line and never
loaded whole. Key = the entity id (OpenSanctions keeps it stable across versions).

Only targets (the listed persons, companies, vessels...) become records by default (option `targets_only`);
supporting entities (addresses, ownership links, sanctions) and schemas that are not things are skipped.
Values nested as entities (the "nested" export: {"sanctions": [{...}], "addressEntity": [{...}]}) are flattened.
Volatile bookkeeping (first_seen, last_seen, last_change, modifiedAt, retrievedAt...) never enters a record.
The file may instead be one of OpenSanctions' per-version delta files (lines of {"op": "ADD" | "MOD" | "DEL",
"entity": {...}}, told apart by their first line): ADD/MOD become records to upsert and DEL a Deletion, and the
core leaves every entity the delta does not mention as it is; the baseline comes from a full entities file
(`notifier replay`). A delta applies to the version before it: poll it at least as often as the dataset is
published, or a missed version is missed for good (the full file has no such gap, which is why it is the default).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from xxhash import xxh3_64_intdigest

from notifier.adapter import Adapter, Deletion, ParseError, Unbuilt
from notifier.parsing import gender
from notifier.records import Designation, Identifier, Vessel

ENTITY_TYPES = {
    "Person": "person",
    "Organization": "organization",
    "Company": "organization",
    "LegalEntity": "organization",
    "PublicBody": "organization",
    "Vessel": "vessel",
    "Airplane": "aircraft",
}
# Things that can be listed but have no entity type of their own.
OTHER_THINGS = frozenset({"Thing", "Asset", "Vehicle", "CryptoWallet", "Security", "BankAccount", "RealEstate"})

NAME_PROPS = ("name",)
ALIAS_PROPS = ("alias", "weakAlias", "previousName", "abbreviation")
PROGRAM_PROPS = ("program", "programId", "topics")
IDENTIFIER_PROPS = (
    "idNumber",
    "passportNumber",
    "imoNumber",
    "mmsi",
    "callSign",
    "registrationNumber",
    "innCode",
    "ogrnCode",
    "leiCode",
    "taxNumber",
    "vatCode",
    "swiftBic",
    "okpoCode",
    "kppCode",
    "dunsCode",
    "bikCode",
    "permId",
    "isinCode",
    "ricCode",
    "uniqueEntityId",
    "npiCode",
    "cageCode",
    "usccCode",
    "icaoCode",
    "serialNumber",
    "socialSecurityNumber",
    "codiceFiscale",
    "publicKey",
    "accountNumber",
    "iban",
)
COUNTRY_PROPS = ("country", "jurisdiction", "mainCountry", "flag", "pastFlags", "registrationCountry")
NATIONALITY_PROPS = ("nationality", "citizenship")
REMARK_PROPS = ("notes", "summary", "description")
EXTRA_PROPS = (
    "position",
    "title",
    "firstName",
    "lastName",
    "fatherName",
    "middleName",
    "secondName",
    "incorporationDate",
    "dissolutionDate",
    "status",
    "legalForm",
    "sector",
    "buildDate",
    "type",
    "tonnage",
    "grossRegisteredTonnage",
    "model",
    "owner",
    "operator",
    "education",
    "religion",
    "ethnicity",
    "deathDate",
    "political",
    "classification",
    "authority",
    "createdAt",
    "wikidataId",
    "keywords",
)
# Bookkeeping that changes with every crawl and must never make a record "changed".
VOLATILE_PROPS = frozenset({"modifiedAt", "retrievedAt", "lastSeen", "firstSeen", "lastChange", "indexText"})


def _strings(props: Mapping[str, Any], name: str) -> list[str]:
    out = []
    for v in props.get(name) or []:
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
    return out


# Each property's role in a Designation, looked up once per property present (an entity carries a handful of the
# ~90 properties named above; asking for each absent one cost most of the parse).
_ROLES: dict[str, str] = {
    "name": "name",
    "address": "address",
    "birthDate": "birth_date",
    "birthPlace": "birth_place",
    "listingDate": "listed_on",
    "sourceUrl": "url",
    "gender": "gender",
    "website": "website",
    "email": "email",
    "phone": "phone",
    **{p: "alias" for p in ALIAS_PROPS},
    **{p: "program" for p in PROGRAM_PROPS},
    **{p: "identifier" for p in IDENTIFIER_PROPS},
    **{p: "country" for p in COUNTRY_PROPS},
    **{p: "nationality" for p in NATIONALITY_PROPS},
    **{p: "remark" for p in REMARK_PROPS},
    **{p: "extra" for p in EXTRA_PROPS if p not in VOLATILE_PROPS},
}


def entity_to_record(entity: Mapping[str, Any]) -> Designation | None:
    """An FtM entity as a Designation, or None when its schema is not a listable thing."""
    schema = entity.get("schema")
    if schema in ENTITY_TYPES:
        entity_type = ENTITY_TYPES[schema]
    elif schema in OTHER_THINGS:
        entity_type = "unknown"
    else:
        return None
    props = entity.get("properties") or {}
    if not isinstance(props, dict):
        raise ParseError(f"entity {entity.get('id')!r}: properties is not an object")
    by_role: dict[str, list[str]] = {}
    identifiers: list[Identifier] = []
    remarks: dict[str, list[str]] = {}
    extra: dict[str, Any] = {"schema": schema}
    nested: list[tuple[str, Mapping[str, Any]]] = []
    for prop, values in props.items():
        if not values:
            continue
        role = _ROLES.get(prop)
        strings = []
        for v in values:
            if type(v) is str:
                v = v.strip()
                if v:
                    strings.append(v)
            elif isinstance(v, str):
                if v.strip():
                    strings.append(v.strip())
            elif isinstance(v, dict):
                nested.append((prop, v))
        if role is None or not strings:
            continue
        if role == "identifier":
            identifiers += [Identifier(prop, value) for value in strings]
        elif role == "remark":
            remarks[prop] = strings
        elif role == "extra":
            extra[prop] = strings
        elif role in by_role:
            by_role[role] += strings
        else:
            by_role[role] = strings
    names = by_role.get("name", [])
    caption = entity.get("caption")
    name = caption if isinstance(caption, str) and caption in names else (names[0] if names else None)
    if not name:
        return None  # OpenSanctions never publishes a target without a name; an unnamed helper entity is no record
    aliases = [n for n in names if n != name] + by_role.get("alias", [])
    programs = by_role.get("program", [])
    addresses = by_role.get("address", [])
    listed_on = by_role.get("listed_on", [])
    for prop, sub in nested:
        sub_props = sub.get("properties") or {}
        if sub.get("schema") == "Address" or prop == "addressEntity":
            addresses = addresses + _strings(sub_props, "full")
        elif sub.get("schema") == "Sanction" or prop == "sanctions":
            programs = programs + _strings(sub_props, "program") + _strings(sub_props, "programId")
            listed_on = listed_on + (_strings(sub_props, "listingDate") or _strings(sub_props, "startDate"))
            extra.setdefault("sanctions", []).append(
                {k: _strings(sub_props, k) for k in ("authority", "program", "reason", "startDate", "endDate")}
            )
    datasets = [d for d in entity.get("datasets") or [] if isinstance(d, str)]
    if datasets:
        extra["datasets"] = datasets
    remark_text = "\n".join(r for prop in REMARK_PROPS for r in remarks.get(prop, ())) or None
    urls = by_role.get("url")
    genders = sorted({g for g in (gender(v) for v in by_role.get("gender", ())) if g})
    if len(genders) > 1:
        extra["gender"] = genders  # they disagree: kept as published, no single field value
    return Designation(
        key=str(entity["id"]),
        name=name,
        entity_type=entity_type,
        aliases=aliases,
        programs=programs,
        listed_on=min(listed_on) if listed_on else None,
        nationalities=[c.upper() for c in by_role.get("nationality", ())],
        countries=[c.upper() for c in by_role.get("country", ())],
        birth_dates=by_role.get("birth_date", []),
        birth_places=by_role.get("birth_place", []),
        addresses=addresses,
        identifiers=identifiers,
        remarks=remark_text,
        url=urls[0] if urls else None,
        extra=extra,
        gender=genders[0] if len(genders) == 1 else None,
        citizenships=[c.upper() for c in _strings(props, "citizenship")] if "citizenship" in props else [],
        websites=by_role.get("website", []),
        emails=by_role.get("email", []),
        phones=by_role.get("phone", []),
        vessel=_vessel(props) if schema == "Vessel" else None,
    )


def _vessel(props: Mapping[str, Any]) -> Vessel:
    def one(prop: str) -> str | None:
        values = _strings(props, prop)
        return values[0] if len(values) == 1 else None

    return Vessel(flag=one("flag"), imo=one("imoNumber"), mmsi=one("mmsi"), call_sign=one("callSign"),
                  type=one("type"), tonnage=one("tonnage"), gross_tonnage=one("grossRegisteredTonnage"),
                  build_year=one("buildDate"))


class OpenSanctions(Adapter):
    """An OpenSanctions dataset's FtM entities file (JSON lines) -> Designations of its targets."""

    title = "OpenSanctions dataset"
    publisher = "OpenSanctions"
    jurisdiction = "INT"
    kind = "designation"
    formats = ("jsonl", "json")
    parser_version = "2"  # 2: gender, citizenships, websites, e-mails, phones and vessel facts as fields

    _delta: bool = False

    @property
    def is_delta(self) -> bool:
        return self._delta

    builds_on_demand = True

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation | Deletion]:
        for item in self.parse_unbuilt(parts):
            if type(item) is Unbuilt:
                record = self.build(item.raw)
                if record is not None:
                    yield record
            else:
                yield item

    def build(self, raw: Any) -> Designation | None:
        return entity_to_record(raw)

    def parse_unbuilt(self, parts: Mapping[str, Path]) -> Iterator[Designation | Deletion | Unbuilt]:
        path = self.main(parts)
        with open(path, "rb") as fh:
            lines = enumerate(fh, start=1)
            for lineno, raw in lines:
                if raw.strip():
                    first = _load(raw, lineno)
                    self._delta = isinstance(first, dict) and "op" in first
                    rest = itertools.chain([(lineno, raw)], lines)
                    yield from (self._delta_items(rest) if self._delta else self._entities(rest))
                    return
        raise ParseError("OpenSanctions: no FtM entities in the file (an empty delta has no lines either)")

    def _entities(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[Unbuilt]:
        """A full entities file: one Unbuilt per listable target, raw_digested without its bookkeeping."""
        targets_only = bool(self.options.get("targets_only", True))
        loads, dumps, digest, option = orjson.loads, orjson.dumps, xxh3_64_intdigest, SORT_KEYS
        for lineno, raw in lines:
            try:
                entity = loads(raw)
            except orjson.JSONDecodeError:
                if not raw.strip():
                    continue
                _load(raw, lineno)  # raises ParseError naming the line
            if type(entity) is not dict or "id" not in entity or "schema" not in entity:
                raise ParseError(f"OpenSanctions: line {lineno} is not an FtM entity (no id/schema)")
            if (targets_only and not entity.get("target")) or entity["schema"] not in LISTABLE:
                continue
            for key in VOLATILE_TOP:
                entity.pop(key, None)
            props = entity.get("properties")
            if type(props) is dict and not VOLATILE_PROPS.isdisjoint(props):
                for key in VOLATILE_PROPS.intersection(props):
                    del props[key]
            yield Unbuilt(str(entity["id"]), digest(dumps(entity, option=option)) >> 1, entity)

    def _delta_items(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[Designation | Deletion]:
        """A delta file: records to upsert and Deletions, built at once (deltas are small)."""
        targets_only = bool(self.options.get("targets_only", True))
        for lineno, raw in lines:
            if not raw.strip():
                continue
            item = _load(raw, lineno)
            if not isinstance(item, dict) or item.get("op") not in ("ADD", "MOD", "DEL"):
                raise ParseError(f"OpenSanctions delta: line {lineno} has no op ADD/MOD/DEL")
            op, entity = item["op"], item.get("entity")
            if not isinstance(entity, dict) or "id" not in entity or ("schema" not in entity and op != "DEL"):
                raise ParseError(f"OpenSanctions: line {lineno} is not an FtM entity (no id/schema)")
            record = None
            if op != "DEL" and not (targets_only and not entity.get("target")):
                record = entity_to_record(entity)
            yield record if record is not None else Deletion(str(entity["id"]))  # gone, or no longer a target


def _load(raw: bytes, lineno: int) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"OpenSanctions: line {lineno} is not JSON: {exc}") from exc


LISTABLE = frozenset(ENTITY_TYPES) | OTHER_THINGS
SORT_KEYS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
VOLATILE_TOP = ("first_seen", "last_seen", "last_change")
