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

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter, Deletion, ParseError, looks_like_html
from notifier.records import Designation, Identifier

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
    "gender",
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
    "website",
    "email",
    "phone",
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


def _nested(props: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(property, nested entity) for values that are entities rather than strings (the "nested" export)."""
    for name, values in props.items():
        for v in values or []:
            if isinstance(v, dict):
                yield name, v


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
    names = _strings(props, "name")
    caption = entity.get("caption")
    name = caption if isinstance(caption, str) and caption in names else (names[0] if names else None)
    if not name:
        return None  # OpenSanctions never publishes a target without a name; an unnamed helper entity is no record
    aliases = [n for n in names if n != name]
    for prop in ALIAS_PROPS:
        aliases += _strings(props, prop)
    programs = [p for prop in PROGRAM_PROPS for p in _strings(props, prop)]
    addresses = _strings(props, "address")
    listed_on: list[str] = _strings(props, "listingDate")
    extra: dict[str, Any] = {"schema": schema}
    for prop, sub in _nested(props):
        sub_props = sub.get("properties") or {}
        if sub.get("schema") == "Address" or prop == "addressEntity":
            addresses += _strings(sub_props, "full")
        elif sub.get("schema") == "Sanction" or prop == "sanctions":
            programs += _strings(sub_props, "program") + _strings(sub_props, "programId")
            listed_on += _strings(sub_props, "listingDate") or _strings(sub_props, "startDate")
            extra.setdefault("sanctions", []).append(
                {k: _strings(sub_props, k) for k in ("authority", "program", "reason", "startDate", "endDate")}
            )
    identifiers = [Identifier(prop, value) for prop in IDENTIFIER_PROPS for value in _strings(props, prop)]
    for prop in EXTRA_PROPS:
        values = _strings(props, prop)
        if values and prop not in VOLATILE_PROPS:
            extra[prop] = values
    datasets = [d for d in entity.get("datasets") or [] if isinstance(d, str)]
    if datasets:
        extra["datasets"] = datasets
    remarks = "\n".join(r for prop in REMARK_PROPS for r in _strings(props, prop)) or None
    urls = _strings(props, "sourceUrl")
    return Designation(
        key=str(entity["id"]),
        name=name,
        entity_type=entity_type,
        aliases=aliases,
        programs=programs,
        listed_on=min(listed_on) if listed_on else None,
        nationalities=[c.upper() for prop in NATIONALITY_PROPS for c in _strings(props, prop)],
        countries=[c.upper() for prop in COUNTRY_PROPS for c in _strings(props, prop)],
        birth_dates=_strings(props, "birthDate"),
        birth_places=_strings(props, "birthPlace"),
        addresses=addresses,
        identifiers=identifiers,
        remarks=remarks,
        url=urls[0] if urls else None,
        extra=extra,
    )


class OpenSanctions(Adapter):
    """An OpenSanctions dataset's FtM entities file (JSON lines) -> Designations of its targets."""

    title = "OpenSanctions dataset"
    publisher = "OpenSanctions"
    jurisdiction = "INT"
    kind = "designation"
    formats = ("jsonl", "json")
    parts = ("main",)

    _delta: bool = False

    @property
    def is_delta(self) -> bool:
        return self._delta

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation | Deletion]:
        path = Path(parts["main"])
        if looks_like_html(path):
            raise ParseError("OpenSanctions: got an HTML page, not an FtM entities file")
        targets_only = bool(self.options.get("targets_only", True))
        seen_entity = False
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line:
                    continue
                try:
                    entity = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise ParseError(f"OpenSanctions: line {lineno} is not JSON: {exc}") from exc
                op = None
                if not seen_entity:
                    self._delta = isinstance(entity, dict) and "op" in entity
                if self._delta:
                    if not isinstance(entity, dict) or entity.get("op") not in ("ADD", "MOD", "DEL"):
                        raise ParseError(f"OpenSanctions delta: line {lineno} has no op ADD/MOD/DEL")
                    op, entity = entity["op"], entity.get("entity")
                if not isinstance(entity, dict) or "id" not in entity or ("schema" not in entity and op != "DEL"):
                    raise ParseError(f"OpenSanctions: line {lineno} is not an FtM entity (no id/schema)")
                seen_entity = True
                record = None
                if op != "DEL" and not (targets_only and not entity.get("target")):
                    record = entity_to_record(entity)
                if record is not None:
                    yield record
                elif op is not None:
                    yield Deletion(str(entity["id"]))  # deleted, or no longer a listable target
        if not seen_entity:
            raise ParseError("OpenSanctions: no FtM entities in the file (an empty delta has no lines either)")
