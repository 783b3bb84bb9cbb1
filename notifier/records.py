"""Normalized records: the one shape every adapter produces and the core stores, diffs and routes.

Adapters fill these in as published; canonical form (sorting, whitespace) and hashing belong to
`notifier.ingest.canonical`, so an adapter never has to care about element order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any, ClassVar

ENTITY_TYPES = ("person", "organization", "vessel", "aircraft", "unknown")
MEASURES = ("export_ban", "import_ban", "licence_requirement", "party_ban", "other")


class InvalidRecord(ValueError):
    """A record that breaks the contract (no key, no name, unknown entity type...)."""


@cache
def field_names(cls: type) -> tuple[str, ...]:
    """The dataclass fields of a record class, in order (cached: the diff asks once per record)."""
    return tuple(f.name for f in fields(cls))


def plain(value: Any) -> Any:
    """Lists, dicts and nested dataclasses as plain lists and dicts (what payload() holds)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is list:
        return [v if type(v) is str else plain(v) for v in value]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in field_names(type(value))}
    return value


@dataclass(slots=True)
class Identifier:
    type: str
    number: str
    country: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Vessel:
    """What identifies a ship, as the list gives it (IMO also stays among the identifiers when published so)."""

    flag: str | None = None
    imo: str | None = None  # the 7 digits, without "IMO"
    mmsi: str | None = None
    call_sign: str | None = None
    type: str | None = None
    tonnage: str | None = None
    gross_tonnage: str | None = None  # gross registered tonnage
    owner: str | None = None
    build_year: str | None = None


@dataclass(slots=True)
class Record:
    """Base of all records: a publisher-stable key and a free `extra` dict for source-specific fields."""

    kind: ClassVar[str] = "record"
    key: str

    def payload(self) -> dict[str, Any]:
        """A plain dict of the record (shallow: lists are copied, nested dataclasses become dicts)."""
        data: dict[str, Any] = {"kind": self.kind}
        for name in field_names(type(self)):
            value = getattr(self, name)
            data[name] = value if value is None or type(value) is str else plain(value)
        return data

    def validate(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise InvalidRecord(f"{self.kind} without a key: {self!r:.200}")


@dataclass(slots=True)
class Designation(Record):
    """A listed person, organization, vessel or aircraft."""

    kind: ClassVar[str] = "designation"
    name: str = ""
    entity_type: str = "unknown"
    aliases: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    listed_on: str | None = None
    nationalities: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)
    birth_places: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    remarks: str | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Added for issue 12 (empty by default, so records that do not fill them keep their payload and hash).
    gender: str | None = None  # "male" / "female" (lower case), else as published
    citizenships: list[str] = field(default_factory=list)  # also folded into nationalities, as before
    linked_to: list[str] = field(default_factory=list)  # parties the publisher links this one to
    websites: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    vessel: Vessel | None = None

    def validate(self) -> None:
        Record.validate(self)
        if not self.name or not self.name.strip():
            raise InvalidRecord(f"designation {self.key!r} has no name")
        if self.entity_type not in ENTITY_TYPES:
            raise InvalidRecord(f"designation {self.key!r}: entity_type {self.entity_type!r} not in {ENTITY_TYPES}")


@dataclass(slots=True)
class ExportControl(Record):
    """A controlled item (HS code or control number) or a party under an export measure."""

    kind: ClassVar[str] = "export_control"
    item_code: str | None = None
    code_type: str | None = None  # "HS", "ECCN", "JP-ETCO", ...
    description: str = ""
    measure: str = "export_ban"
    origin: str | None = None  # the jurisdiction imposing it (ISO 3166 alpha-2, or "EU")
    target_countries: list[str] = field(default_factory=list)
    legal_basis: str | None = None
    effective_date: str | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        Record.validate(self)
        if not (self.item_code or self.description):
            raise InvalidRecord(f"export control {self.key!r} has neither item code nor description")
        if self.measure not in MEASURES:
            raise InvalidRecord(f"export control {self.key!r}: measure {self.measure!r} not in {MEASURES}")


@dataclass(slots=True)
class NewsItem(Record):
    """One item of a news feed; whether it is sanctions news is decided by the core's rules."""

    kind: ClassVar[str] = "news"
    title_text: str = ""
    published: str | None = None
    link: str | None = None
    summary: str = ""
    feed: str | None = None
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        Record.validate(self)
        if not self.title_text.strip() and not self.summary.strip():
            raise InvalidRecord(f"news item {self.key!r} has neither title nor summary")


RECORD_KINDS: dict[str, type[Record]] = {cls.kind: cls for cls in (Designation, ExportControl, NewsItem)}


def record_title(payload: dict[str, Any]) -> str:
    """A human name for a stored payload, whatever its kind."""
    kind = payload.get("kind")
    if kind == "designation":
        return payload.get("name") or payload.get("key", "")
    if kind == "export_control":
        code = payload.get("item_code")
        prefix = f"{payload.get('code_type') or ''} {code}".strip() if code else ""
        english = (payload.get("extra") or {}).get("description_en")  # beside a description in another language
        text = payload.get("description") or ""
        if english and english != text:
            text = f"{text} ({english})" if text else english
        return f"{prefix} {text}".strip()
    if kind in ("news", "publication"):  # a publication: a new document linked from a watched page
        return payload.get("title_text") or payload.get("key", "")
    return payload.get("key", "")
