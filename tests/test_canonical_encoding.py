"""The canonical JSON and content hash are byte-identical whether orjson or the json encoder writes them: stored
hashes and payloads of existing records must not move on upgrade (every record would look amended: a flood)."""

from __future__ import annotations

import datetime
import enum
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from notifier.ingest import canonical
from notifier.ingest.registry import adapters
from tests.conftest import REAL


def old_hash(payload: dict[str, Any]) -> str:
    """content_hash as every stored record was hashed before orjson (json encoder only)."""
    body = {k: v for k, v in payload.items() if k != "key"}
    return hashlib.blake2b(canonical._json_dumps(body).encode("utf-8"), digest_size=16).hexdigest()


class Colour(enum.StrEnum):
    RED = "red"


@dataclass
class Point:
    x: int


class Text(str):
    pass


EDGE_VALUES = [
    {"b": 1, "a": [True, False, -5, 2**63 - 1, -(2**63)], "é": "x", "\uffff": 1, "\U0001f600": 2, "A": {"z": []}},
    "".join(chr(i) for i in range(0x3000)) + "\U0001f600\ufeff\u2028\u2029\x7f",
    {"float": [0.1, 1.0, 1e15, 1e16, 1e22, 123456789.123, -0.0, 1e-7, 2.5e-10]},
    {"nan": math.nan, "inf": math.inf},
    {"none": None, "text": "null and 1e-5 in a string"},
    {"big": 2**64, "bigger": -(2**70)},
    {1: "int key"},
    {"date": datetime.date(2024, 1, 2), "when": datetime.datetime(2024, 1, 2, 3, 4, 5)},
    {"dataclass": Point(1), "str_enum": Colour.RED, "subclass": Text("x")},
    {"surrogate": "\ud800"},
]


@pytest.mark.parametrize("value", EDGE_VALUES, ids=range(len(EDGE_VALUES)))
def test_canonical_json_is_the_json_encoders_for_every_kind_of_value(value: Any) -> None:
    assert canonical.dumps(value) == canonical._json_dumps(value)


def test_content_hash_of_a_payload_is_unchanged() -> None:
    payload = {"kind": "designation", "key": "36", "name": "Café \u00e9\u00e9", "aliases": ["B", "a"], "n": 1}
    assert canonical.content_hash(payload) == old_hash(payload)


def _real_pairs() -> list[tuple[str, Path]]:
    files = sorted(p for p in REAL.rglob("*") if p.is_file()) if REAL.exists() else []
    out = []
    for name, cls in sorted(adapters().items()):
        formats = {f.lower() for f in cls.formats}
        out += [(name, f) for f in files if f.suffix.lstrip(".").lower() in formats]
    return out


@pytest.mark.slow
def test_every_record_of_the_real_lists_keeps_its_canonical_bytes_and_hash() -> None:
    """Every adapter on every real file it reads (about 155,000 records over 47 lists): the payload is
    canonical(record.payload()), its bytes and hash are the json encoder's."""
    if not REAL.exists():
        pytest.skip("../shared/data/real is absent beside this clone")
    checked, lists, differ = 0, 0, []
    for name, path in _real_pairs():
        try:
            records = list(adapters()[name]({}).parse({"main": path}))
        except Exception:  # noqa: BLE001 - not this adapter's file
            continue
        lists += 1
        for record in records:
            if not hasattr(record, "validate"):  # a Deletion
                continue
            payload = canonical.canonical_payload(record)
            checked += 1
            if payload != canonical.canonical(record.payload()):
                differ.append((name, path.name, record.key, "canonical_payload"))
            if canonical.dumps(payload) != canonical._json_dumps(payload) or canonical.content_hash(
                payload
            ) != old_hash(payload):
                differ.append((name, path.name, record.key))
    assert not differ, differ[:10]
    assert checked > 100_000 and lists > 30, (checked, lists)


def test_lists_of_strings_sort_by_their_json_whatever_characters_they_hold() -> None:
    """The fast sort of string lists (no encoding) gives the order and de-duplication of sorting by JSON."""
    import random

    rng = random.Random(15)
    alphabet = ['"', "\\", "\x00", "\x1f", "\x7f", "\xa0", "\u2028", "a", "B", "é", "\U0001f600", " ", "-", "z"]
    for _ in range(5000):
        items = ["".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 5))]
        folded = [" ".join(s.split()) for s in items]
        expected = canonical._sorted_by_json([s for s in folded if s])
        assert canonical._string_list(items) == expected, items


HASH_AND_JSON_CASES = [
    {"kind": "designation", "key": "36", "name": "Café", "aliases": ["B", "a"]},
    {"key": "only"},
    {"a": 1, "key": "last"},
    {"key": 'q"uo\\te \u00e9\U0001f600\u2028', "z": [1, {"key": "x"}]},
    {"key": "k", "extra": {"key": "k"}},
    {"key": "k", "extra": {"monkey": "key", "keys": ['"key":']}},
    {"key": "k", "none": None},
    {"key": "k", "f": 1e-7},
    {"key": 36, "x": "y"},
    {"x": "no key"},
    {"kind": "designation", "key": "", "name": "e"},
]


@pytest.mark.parametrize("payload", HASH_AND_JSON_CASES, ids=range(len(HASH_AND_JSON_CASES)))
def test_one_encoding_gives_the_content_hash_and_the_stored_json(payload: dict[str, Any]) -> None:
    """hash_and_json cuts the key out of the payload's JSON for the hash: the same hash and bytes as two encodings."""
    assert canonical.hash_and_json(payload) == (canonical.content_hash(payload), canonical.dumps(payload))


@pytest.mark.slow
def test_every_record_of_the_real_lists_hashes_alike_from_one_encoding() -> None:
    """hash_and_json on every record of every real list (about 155,000): content_hash and dumps, byte for byte."""
    if not REAL.exists():
        pytest.skip("../shared/data/real is absent beside this clone")
    checked, differ = 0, []
    for name, path in _real_pairs():
        try:
            records = list(adapters()[name]({}).parse({"main": path}))
        except Exception:  # noqa: BLE001 - not this adapter's file
            continue
        for record in records:
            if not hasattr(record, "validate"):  # a Deletion
                continue
            payload = canonical.canonical_payload(record)
            checked += 1
            if canonical.hash_and_json(payload) != (canonical.content_hash(payload), canonical.dumps(payload)):
                differ.append((name, path.name, record.key))
    assert not differ, differ[:10]
    assert checked > 100_000, checked
