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
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
        if type(raw) is EntityLine:
            raw = _listed(raw.entity(), raw.number, bool(self.options.get("targets_only", True)))
            if raw is None:
                return None
        return entity_to_record(raw)

    def parse_unbuilt(self, parts: Mapping[str, Path]) -> Iterator[Designation | Deletion | Unbuilt]:
        path = self.main(parts)
        with open(path, "rb") as fh:
            lines = enumerate(fh, start=1)
            for lineno, raw in lines:
                if raw.strip():
                    first = _load(raw, lineno)
                    self._delta = isinstance(first, dict) and "op" in first
                    if self._delta:
                        yield from self._delta_items(itertools.chain([(lineno, raw)], lines))
                        return
                    break
            else:
                raise ParseError("OpenSanctions: no FtM entities in the file (an empty delta has no lines either)")
        yield from self._entities(path, _Style.of(raw))

    def _entities(self, path: Path, style: _Style) -> Iterator[Unbuilt]:
        """A full entities file, read in large blocks with its bookkeeping cut out as bytes (`_Style.cut`): one
        Unbuilt per line that may be a listed target, digested as those bytes and parsed only when built (the core
        builds a line whose digest moved). A block whose every line starts with its plain id and holds one target
        flag, true, is taken whole; in any other, a line that does not start with its id, or whose target flag is
        not plain, is parsed here, and a plain non-target is skipped unparsed."""
        targets_only = bool(self.options.get("targets_only", True))
        seed = 1 if targets_only else 2  # a record kept with targets_only off is no target: its digest differs
        digest, cut, ids = xxh3_64_intdigest, style.cut.sub, style.ids.findall
        lineno = 0
        for block in _blocks(path):
            block = cut(b"", block)
            lines = block.split(b"\n")
            del lines[0]  # a block starts with the newline before its first line
            keys = ids(block)
            if len(keys) == len(lines) and (
                not targets_only or block.count(style.target) == len(lines) == block.count(style.flag)
            ):
                for key, line in zip(keys, lines, strict=True):
                    lineno += 1
                    yield Unbuilt(key.decode(), digest(line, seed) >> 1, EntityLine(lineno, line))
            else:
                for line in lines:
                    lineno += 1
                    yield from self._line(line, lineno, style, targets_only, seed)

    def _line(self, line: bytes, lineno: int, style: _Style, targets_only: bool, seed: int) -> Iterator[Unbuilt]:
        """One line of a block not taken whole (`_entities`)."""
        prefix = style.id_prefix
        if line.startswith(prefix) and (not targets_only or style.target in line):
            start = len(prefix)
            end = line.find(b'"', start)
            key = line[start:end]
            if end > start and b"\\" not in key and key.isascii():
                yield Unbuilt(key.decode(), xxh3_64_intdigest(line, seed) >> 1, EntityLine(lineno, line))
                return
        elif targets_only and style.not_target in line and line.count(style.flag) == 1:
            return  # its one target flag is false, wherever it is: no target
        try:
            entity = orjson.loads(line)
        except orjson.JSONDecodeError:
            if not line.strip():
                return
            _load(line, lineno)  # raises ParseError naming the line
        entity = _listed(entity, lineno, targets_only)
        if entity is not None:
            yield Unbuilt(str(entity["id"]), xxh3_64_intdigest(line, seed) >> 1, entity)

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
VOLATILE_TOP = ("first_seen", "last_seen", "last_change")


def _listed(entity: Any, lineno: int, targets_only: bool) -> dict[str, Any] | None:
    """The parsed line as an entity to build, or None when it is not a listed target (a helper entity, a schema
    that is no thing); ParseError when it is no FtM entity."""
    if type(entity) is not dict or "id" not in entity or "schema" not in entity:
        raise ParseError(f"OpenSanctions: line {lineno} is not an FtM entity (no id/schema)")
    if (targets_only and not entity.get("target")) or entity["schema"] not in LISTABLE:
        return None
    return entity


class EntityLine:
    """A line of an entities file, its bookkeeping cut out, as an Unbuilt's raw value: parsed when built, read like
    the entity it holds (`line["id"]`)."""

    __slots__ = ("number", "data")

    def __init__(self, number: int, data: bytes) -> None:
        self.number, self.data = number, data

    def entity(self) -> Any:
        return _load(self.data, self.number)

    def __getitem__(self, name: str) -> Any:
        return self.entity()[name]


# A bookkeeping member's value: a plain string (printable ASCII, no quote or backslash: a timestamp), null, or a
# list of such strings. A member whose value is anything else is left in, and so digested: such a line is built
# whenever it moves, never missed.
_PLAIN = rb'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_VOLATILE_NAMES = "|".join(sorted(set(VOLATILE_TOP) | VOLATILE_PROPS)).encode()


@dataclass(frozen=True)
class _Style:
    """How a file's JSON is spaced (json.dumps' ", " and ": ", or orjson's none), which the byte-level reading of
    its lines follows. A line of another spacing is parsed (and its bookkeeping, not cut, is digested: it is built
    whenever it moves).

    `cut` finds the bookkeeping members (VOLATILE_TOP, VOLATILE_PROPS) that follow a comma, at any depth: inside a
    valid line a quote after a comma opens a key, so what it matches is such a member, never text in a value; the
    builder reads none of them, at any depth."""

    id_prefix: bytes
    target: bytes
    flag: bytes
    not_target: bytes
    cut: re.Pattern[bytes]
    ids: re.Pattern[bytes]  # the plain ids that start lines (after a newline)

    @staticmethod
    def of(first_line: bytes) -> _Style:
        return _SPACED if first_line.lstrip().startswith(_SPACED.id_prefix) else _COMPACT


def _style(comma: bytes, colon: bytes) -> _Style:
    value = rb"(?:" + _PLAIN + rb"|null|\[(?:" + _PLAIN + rb"(?:" + comma + _PLAIN + rb")*)?\])"
    return _Style(
        id_prefix=b'{"id"' + colon + b'"',
        target=b'"target"' + colon + b"true",
        flag=b'"target"' + colon,
        not_target=b'"target"' + colon + b"false",
        cut=re.compile(comma + rb'"(?:' + _VOLATILE_NAMES + rb')"' + colon + value),
        ids=re.compile(rb'\n\{"id"' + colon + rb'"([^"\\\n]*)"'),
    )


_SPACED, _COMPACT = _style(b", ", b": "), _style(b",", b":")


def _blocks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """The file in blocks of whole lines, each block starting with the newline before its first line (the file's
    first line is given one)."""
    rest = b"\n"
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(size):
            chunk = rest + chunk
            end = chunk.rfind(b"\n")
            if end > 0:
                yield chunk[:end]
                chunk = chunk[end:]
            rest = chunk
    if rest != b"\n":
        yield rest
