"""Canonical form and content hash of a record payload.

Two snapshots that list the same facts in another order, with other whitespace, must hash the same:
lists are sorted by their canonical JSON, strings are whitespace-folded, None/empty values are dropped.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Fields that identify a record rather than describe it: left out of the content hash so that a record
# whose number moved (MOF renumbering) keeps its content hash.
IDENTITY_FIELDS = frozenset({"key"})


def canonical(value: Any) -> Any:
    """Normalize a payload recursively; the result is what is stored and diffed."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            cv = canonical(v)
            if cv is None or cv == "" or cv == [] or cv == {}:
                continue
            out[k] = cv
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [canonical(v) for v in value]
        items = [v for v in items if v not in (None, "", [], {})]
        keyed = {_dumps(v): v for v in items}  # also removes exact duplicates
        return [keyed[k] for k in sorted(keyed)]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(payload: dict[str, Any]) -> str:
    """Hash of a canonical payload without its identity fields."""
    body = {k: v for k, v in payload.items() if k not in IDENTITY_FIELDS}
    return hashlib.blake2b(_dumps(body).encode("utf-8"), digest_size=16).hexdigest()


def dumps(payload: Any) -> str:
    """The one JSON encoding used for stored payloads (stable key order)."""
    return _dumps(payload)
