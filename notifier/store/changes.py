"""The one shape of a change event from the store to the alert text: ids assigned, payloads decoded.

The store writes it (repo), routing filters it, screening adds notes to it (news), render turns it into text;
`load` is the only place that decodes a stored change row.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.store import models


@dataclass
class Change:
    id: int
    key: str
    change: str  # added | removed | amended
    kind: str  # the record's kind: designation | export_control | news | publication
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: list[dict[str, Any]] | None  # field by field, for an amendment
    notes: list[str] = field(default_factory=list)  # what the core found out about it (news: parties; also listed)
    source: str = ""
    snapshot_id: int | None = None
    created_at: datetime | None = None
    published_on: str | None = None  # the publication's own date (ISO), from the snapshot
    publication_id: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return self.after or self.before or {}

    @classmethod
    def from_row(cls, row: models.Change | dict[str, Any]) -> Change:
        """From a stored row (or the dict it was inserted from, with its id): JSON columns decoded."""
        get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
        return cls(
            id=get("id"),
            source=get("source"),
            snapshot_id=get("snapshot_id"),
            key=get("key"),
            kind=get("kind"),
            change=get("change"),
            name=get("name"),
            before=_decode(get("before")),
            after=_decode(get("after")),
            fields=_decode(get("fields")),
            created_at=get("created_at"),
            published_on=get("published_on"),
            publication_id=get("publication_id"),
        )


def _decode(text: str | None) -> Any:
    """A JSON column as json.loads reads it: orjson (a third of a changed poll's commit was json here) unless the
    text may hold an integer orjson reads as a float (19 digits or more), json for what orjson refuses (NaN,
    lone surrogates)."""
    if not text:
        return None
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


_LONG_DIGITS = re.compile(r"[0-9]{19}")


def load(session: Session, ids: list[int]) -> list[Change]:
    """Stored changes by id, in id order (the order they were found)."""
    rows = session.execute(select(models.Change).where(models.Change.id.in_(ids)).order_by(models.Change.id))
    return [Change.from_row(r) for r in rows.scalars()]
