"""Canonical form and content hash of a record payload.

Two snapshots that list the same facts in another order, with other whitespace, must hash the same:
lists are sorted by their canonical JSON, strings are whitespace-folded, None/empty values are dropped.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Callable
from dataclasses import is_dataclass
from functools import cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import orjson

from notifier.records import Record, field_names, plain

# Fields that identify a record rather than describe it: left out of the content hash so that a record
# whose number moved (MOF renumbering) keeps its content hash.
IDENTITY_FIELDS = frozenset({"key"})

# One encoder for every call: json.dumps with options builds a new one each time.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
# The C encoder _ENCODER builds on every call (same options, no circular-reference markers: payloads are trees).
_C_ENCODE = c_make_encoder(None, str, encode_basestring, None, ":", ",", True, False, True) if c_make_encoder else None
# orjson writes what _ENCODER writes for plain JSON values (str keys sorted by code point, strings escaped alike,
# ints within 64 bits, floats in repr form but for negative exponents); anything else (dates, dataclasses, str/dict
# subclasses, big ints, lone surrogates) raises and goes to _ENCODER, as does any output holding `null` (NaN and
# infinities become null in orjson, NaN in json) or a negative exponent (orjson 1e-7, json 1e-07). Proven
# byte-identical on every record of the real lists (tests/test_canonical_encoding.py): stored hashes do not move.
# (A plain Enum member, which orjson writes by value, is no record value: records hold text.)
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_NEGATIVE_EXPONENT = re.compile(rb"[0-9][eE]-")


def canonical(value: Any) -> Any:
    """Normalize a payload recursively; the result is what is stored and diffed."""
    if type(value) is str or isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return _canonical_items(value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return _canonical_list(value)
    return value


def canonical_payload(record: Record) -> dict[str, Any]:
    """canonical(record.payload()) without building the plain copy first: the diff's per-record work."""
    out: dict[str, Any] = {}
    kind_name = " ".join(record.kind.split())
    if kind_name:
        out["kind"] = kind_name
    names, values = _fields_of(type(record))
    for name, value in zip(names, values(record), strict=True):
        kind = type(value)
        if kind is str:
            value = " ".join(value.split())
            if value:
                out[name] = value
            continue
        if value is None or ((kind is list or kind is dict) and not value):
            continue
        # Lists of strings (names, programs...) need no plain copy; nested records are normalized as they are read.
        strings = _string_list(value) if kind is list else None
        value = _canonical_plain(value) if strings is None else strings
        if not (value is None or value == "" or value == [] or value == {}):
            out[name] = value
    return out


def _canonical_plain(value: Any) -> Any:
    """canonical(plain(value)) in one pass: lists, dicts and dataclass records are read without the plain copy."""
    kind = type(value)
    if kind is str:
        return " ".join(value.split())
    if kind is list:
        strings = _string_list(value)
        if strings is not None:
            return strings
        return _sorted_by_json(
            [v for v in map(_canonical_plain, value) if not (v is None or v == "" or v == [] or v == {})]
        )
    if kind is dict:
        return _canonical_items(value.items(), _canonical_plain)
    names = _dataclass_fields(kind)
    if names is not None:
        return _canonical_items(((name, getattr(value, name)) for name in names), _canonical_plain)
    return canonical(plain(value))


@cache
def _dataclass_fields(cls: type) -> tuple[str, ...] | None:
    return field_names(cls) if is_dataclass(cls) else None


@cache
def _fields_of(cls: type[Record]) -> tuple[tuple[str, ...], Callable[[Record], tuple[Any, ...]]]:
    """A record class's field names and one getter for all their values."""
    names = field_names(cls)
    getter = operator.attrgetter(*names)
    return names, (getter if len(names) > 1 else lambda record: (getter(record),))


def _canonical_items(items: Any, normalize: Callable[[Any], Any] = canonical) -> dict[Any, Any]:
    """(key, value) pairs as a canonical dict; `normalize` canonicalises a value that is not a string."""
    out = {}
    for k, v in items:
        if v is None:
            continue
        v = " ".join(v.split()) if type(v) is str else normalize(v)
        if v is None or v == "" or v == [] or v == {}:
            continue
        out[k] = v
    return out


def _canonical_list(values: Any) -> list[Any]:
    strings = _string_list(values)
    if strings is not None:
        return strings
    return _sorted_by_json([v for v in map(canonical, values) if not (v is None or v == "" or v == [] or v == {})])


def _string_list(values: Any) -> list[str] | None:
    """_canonical_list of plain strings, sorted by their JSON without encoding each one; None for other lists."""
    if len(values) == 1:  # most lists of a record (one nationality, one birth date...)
        (v,) = values
        if type(v) is not str:
            return None
        v = " ".join(v.split())
        return [v] if v else []
    items = []
    for v in values:
        if type(v) is not str:
            return None
        v = " ".join(v.split())
        if v:
            items.append(v)
    if len(items) < 2:
        return items
    joined = "".join(items)
    # JSON escapes '"', '\\' and control characters (all unprintable). Without them, _dumps(s) is '"' + s + '"',
    # so strings sort by s + '"' as by their JSON; unprintable text (rare) is sorted by its JSON, the same order.
    if '"' in joined or "\\" in joined or not joined.isprintable():
        return _sorted_by_json(items)
    return [s[:-1] for s in sorted({s + '"' for s in items})]  # also removes exact duplicates


def _sorted_by_json(items: list[Any]) -> list[Any]:
    keyed = {_dumps(v): v for v in items}  # also removes exact duplicates
    return [keyed[k] for k in sorted(keyed)]


def _dumps(value: Any) -> str:
    fast = _orjson_dumps(value)
    return fast.decode() if fast is not None else _json_dumps(value)


def _dumps_bytes(value: Any) -> bytes:
    fast = _orjson_dumps(value)
    return fast if fast is not None else _json_dumps(value).encode("utf-8")


def _orjson_dumps(value: Any) -> bytes | None:
    """The canonical JSON through orjson, or None where it could differ from _json_dumps."""
    try:
        out = orjson.dumps(value, default=_not_plain, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        return None
    if b"null" in out or ((b"e-" in out or b"E-" in out) and _NEGATIVE_EXPONENT.search(out)):
        return None  # substring tests first: a regex alternation scanning every byte cost more than orjson
    return out


def _not_plain(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _json_dumps(value: Any) -> str:
    """The reference encoding (json with sorted keys, compact, unescaped non-ASCII, str() for anything else)."""
    if _C_ENCODE is None or type(value) is str:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


_NUMERIC = re.compile(r"[0-9]+")


def normalize_key(key: str) -> str:
    """One record, one key: surrounding whitespace dropped and a purely numeric id without leading zeros
    (a publisher writing `036` in one file and `36` in the next still means record 36)."""
    key = key.strip()
    if _NUMERIC.fullmatch(key):
        return key.lstrip("0") or "0"
    return key


def content_hash(payload: dict[str, Any]) -> str:
    """Hash of a canonical payload without its identity fields."""
    body = payload.copy()
    for name in IDENTITY_FIELDS:
        body.pop(name, None)
    return hashlib.blake2b(_dumps_bytes(body), digest_size=16).hexdigest()


def hash_and_json(payload: dict[str, Any]) -> tuple[str, str]:
    """content_hash(payload) and dumps(payload) from one encoding: the hash's body is the payload's JSON without
    its top-level "key" entry (keys are sorted and separators compact, so cutting that entry out gives the bytes
    encoding the body would). A payload where the cut could be ambiguous (another "key" member) is encoded twice."""
    key = payload.get("key")
    out = _orjson_dumps(payload) if type(key) is str and IDENTITY_FIELDS == _KEY_ONLY else None
    if out is not None and out.count(b'"key":') == 1:
        member = b'"key":' + orjson.dumps(key)
        start = out.find(member)
        end = start + len(member)
        if start > 0:
            if out[end : end + 1] == b",":  # a member follows
                body = out[:start] + out[end + 1 :]
            elif out[start - 1 : start] == b",":  # the last member
                body = out[: start - 1] + out[end:]
            else:  # the only member
                body = b"{}"
            return hashlib.blake2b(body, digest_size=16).hexdigest(), out.decode()
    return content_hash(payload), dumps(payload)


_KEY_ONLY = frozenset({"key"})

IDENTITY = ("key", "url")  # fields derived from the key: left out when looking for renumbered content


def fingerprint(payload: dict[str, Any]) -> str:
    """The content of a record without its key and what is derived from it (its URL, a field equal to the key):
    the same for a record the publisher renumbered."""
    key = payload.get("key")
    return content_hash({k: v for k, v in payload.items() if k not in IDENTITY and v != key})


def dumps(payload: Any) -> str:
    """The one JSON encoding used for stored payloads (stable key order)."""
    return _dumps(payload)
