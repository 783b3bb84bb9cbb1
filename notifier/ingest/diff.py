"""Keyed, order-insensitive diff of a snapshot against the stored state.

One pass over the parsed records compares content hashes with the stored ones (O(n), constant work per
record); only added and changed records are kept, spilled to a temp file so that a million-record list
streams. field_changes then compares the changed records alone, field by field and item by item.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from notifier.adapter import Deletion, Unbuilt
from notifier.ingest.canonical import (
    canonical_payload,
    dumps,
    fingerprint,
    hash_and_json,
    normalize_key,
)
from notifier.records import InvalidRecord, Record, record_title


class Spilled(NamedTuple):
    """One added or amended record as the scan kept it; read by name (the tuple grows)."""

    key: str
    digest: str
    payload_json: str
    raw_digest: int | None
    kind: str
    name: str


class Spill:
    """Append-only temp file of (key, hash, payload) for the records that will be written."""

    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="spill-", suffix=".jsonl", dir=tmp_dir)
        self.path = Path(name)
        self._fh = os.fdopen(fd, "w", encoding="utf-8")
        self.count = 0

    def add(
        self, key: str, digest: str, payload_json: str, raw_digest: int | None = None, kind: str = "", name: str = ""
    ) -> None:
        head = orjson.dumps([key, digest, raw_digest, kind, name]).decode()
        self._fh.write(f"{head}\t{payload_json}\n")
        self.count += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __iter__(self) -> Iterator[Spilled]:
        self.close()
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield _spilled(line)

    def non_ascii(self) -> Iterator[Spilled]:
        """The rows holding any character beyond ASCII; the others (most rows of most lists) are skipped unread."""
        self.close()
        with open(self.path, "rb") as fh:
            for line in fh:
                if not line.isascii():
                    yield _spilled(line.decode("utf-8"))

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _spilled(line: str) -> Spilled:
    head, payload_json = line.rstrip("\n").split("\t", 1)
    key, digest, raw_digest, kind, name = orjson.loads(head)
    return Spilled(key, digest, payload_json, raw_digest, kind, name)


@dataclass
class Scan:
    """What one snapshot says against the stored hashes (before the guard decides whether to trust it)."""

    count: int = 0
    kind: str | None = None
    duplicates: list[str] = field(default_factory=list)
    added: dict[str, str] = field(default_factory=dict)  # key -> hash
    amended: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old key, new key)
    delta: bool = False  # the snapshot listed only changes
    spill: Spill | None = None
    # Unchanged records whose published form moved (say, reordered): only their stored raw_digest is updated.
    redigested: dict[str, int] = field(default_factory=dict)


def scan(
    records: Iterable[Record | Deletion | Unbuilt],
    prior: dict[str, str | bytes],
    tmp_dir: Path,
    match_moved: bool = False,
    delta: Callable[[], bool] = lambda: False,
    raw_digests: dict[str, int] | None = None,
    build: Callable[[Any], Record | None] | None = None,
) -> Scan:
    """Compare records with `prior` (key -> hash of active stored records). Consumes `prior`.

    In a delta snapshot (`delta()`, asked once the records are read: a format may tell only then), records
    absent from it are unchanged and only Deletion markers remove. An Unbuilt item whose raw_digest equals the
    stored one (`raw_digests`: key -> raw_digest, keys among `prior`'s) is unchanged without being built; any
    other is built.
    """
    result = Scan(spill=Spill(tmp_dir))
    seen: set[int] = set()  # records that went the long way (built); the short way leaves its key out of `prior`
    deleted: list[str] = []
    deleted_keys: set[str] = set()
    stored_fp = raw_digests or {}
    raw_digest_of, take_prior, unbuilt = stored_fp.get, prior.pop, Unbuilt
    unchanged_unbuilt = 0
    try:
        for record in records:
            raw_digest = None
            if type(record) is unbuilt:
                key = record.key
                raw_digest = record.raw_digest
                # The hot path of a large list: same raw_digest as stored, first time this key is seen.
                if raw_digest_of(key) == raw_digest and take_prior(key, None) is not None:
                    unchanged_unbuilt += 1  # not added to `seen`: a million ints were most of a poll's peak
                    continue
                if build is None:
                    raise InvalidRecord(f"unbuilt record {key!r} and no builder")
                record = build(record.raw)
                if record is None:
                    continue
            if isinstance(record, Deletion):
                gone = normalize_key(record.key)
                if prior.pop(gone, None) is not None:
                    deleted.append(gone)
                    deleted_keys.add(gone)
                continue
            record.validate()
            raw, record.key = record.key, normalize_key(record.key)
            if raw != record.key and getattr(record, "url", None):  # a link built from the padded id: the same page
                record.url = re.sub(rf"(?<![0-9]){re.escape(raw.strip())}(?![0-9])", record.key, record.url)
            if result.kind is None:
                result.kind = record.kind
            elif record.kind != result.kind:
                raise InvalidRecord(
                    f"record {record.key!r} is a {record.kind}, the snapshot's others are {result.kind}"
                )
            result.count += 1
            key = record.key
            marker = hash(key)
            if marker in seen or (key in stored_fp and key not in prior and key not in deleted_keys):
                # built before, or taken the short way (a stored digest's key leaves `prior` by no other way)
                result.duplicates.append(key)
                continue
            seen.add(marker)
            payload = canonical_payload(record)
            digest, payload_json = hash_and_json(payload)
            old = prior.pop(key, None)
            if type(old) is bytes:  # prior_state holds a large list's hashes as bytes
                old = old.hex()
            if old == digest:
                if raw_digest is not None and stored_fp.get(key) != raw_digest:
                    result.redigested[key] = raw_digest
                continue
            (result.added if old is None else result.amended)[key] = digest
            result.spill.add(key, digest, payload_json, raw_digest, record.kind, record_title(payload))
    except BaseException:
        result.spill.discard()
        raise
    result.count += unchanged_unbuilt
    result.spill.close()
    result.delta = delta()
    if deleted and not result.delta:
        result.spill.discard()
        raise InvalidRecord(f"deletions ({deleted[0]!r}...) in a snapshot that is not a delta")
    result.removed = sorted(deleted) if result.delta else sorted(prior)
    if match_moved and result.added and result.removed:
        _match_moved(result, prior)
    return result


def _match_moved(result: Scan, prior: dict[str, str | bytes]) -> None:
    """Pair removed and added records with identical content: the publisher renumbered them."""
    by_hash: dict[str, list[str]] = {}
    for key in result.removed:
        digest = prior[key]
        by_hash.setdefault(digest.hex() if type(digest) is bytes else digest, []).append(key)
    for new_key, digest in sorted(result.added.items()):
        olds = by_hash.get(digest)
        if olds:
            result.moved.append((olds.pop(0), new_key))
    moved_old = {o for o, _ in result.moved}
    moved_new = {n for _, n in result.moved}
    result.removed = [k for k in result.removed if k not in moved_old]
    result.added = {k: v for k, v in result.added.items() if k not in moved_new}


def match_renumbered(result: Scan, stored: Callable[[list[str]], dict[str, dict[str, Any]]]) -> None:
    """Pair removed and added records whose content is the same but for the key and what derives from it (a
    per-record URL): records the publisher renumbered, moved rather than alerted. `stored(keys)` reads the
    stored payloads of removed keys. Used when an operator releases a quarantined renumbering."""
    if not (result.removed and result.added) or result.spill is None:
        return
    olds: dict[str, list[str]] = {}
    for key, payload in sorted(stored(list(result.removed)).items()):
        olds.setdefault(fingerprint(payload), []).append(key)
    for key, _digest, payload_json, *_ in result.spill:
        if key in result.added:
            found = olds.get(fingerprint(json.loads(payload_json)))
            if found:
                result.moved.append((found.pop(0), key))
    moved_old = {o for o, _ in result.moved}
    moved_new = {n for _, n in result.moved}
    result.removed = [k for k in result.removed if k not in moved_old]
    result.added = {k: v for k, v in result.added.items() if k not in moved_new}


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed, field by field, in the shape alerts print from:
    - a list field (aliases, identifiers, programs...): {"field", "added": [items], "removed": [items]};
    - a dict field (vessel, extra): one entry per changed key, named "vessel.imo", "extra.title" (recursively);
    - any other field: {"field", "before", "after"}.
    Both payloads are canonical (lists sorted, blanks dropped), so comparing canonical JSON is order-insensitive.
    """
    touched = {name for name in set(before) | set(after) if dumps(before.get(name)) != dumps(after.get(name))}
    changes: list[dict[str, Any]] = []
    for name in sorted(touched):
        _compare(name, before.get(name), after.get(name), changes)
    return changes


def _compare(name: str, b: Any, a: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(b, dict | None) and isinstance(a, dict | None) and (b is not None or a is not None):
        b_dict, a_dict = b or {}, a or {}
        for sub in sorted(set(b_dict) | set(a_dict), key=str):
            if dumps(b_dict.get(sub)) != dumps(a_dict.get(sub)):
                _compare(f"{name}.{sub}", b_dict.get(sub), a_dict.get(sub), out)
        return
    if isinstance(b, list) or isinstance(a, list):
        b_list = b if isinstance(b, list) else ([] if b is None else [b])
        a_list = a if isinstance(a, list) else ([] if a is None else [a])
        b_keys = {dumps(x) for x in b_list}
        a_keys = {dumps(x) for x in a_list}
        out.append(
            {
                "field": name,
                "added": [x for x in a_list if dumps(x) not in b_keys],
                "removed": [x for x in b_list if dumps(x) not in a_keys],
            }
        )
        return
    out.append({"field": name, "before": b, "after": a})
