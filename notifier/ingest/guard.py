"""Refuse snapshots that cannot be trusted, before they can turn into a false flood of alerts.

A refused snapshot is quarantined with the reason given here; the next good one is diffed against the
last accepted one, so nothing a subscriber sees ever depends on a bad download. The checks look at the
shape of the change, not only at the record count, because real downloads break at full size:
- the bytes: empty, an HTML page, a part that lost the publisher's end-of-file byte or shrank, a copy
  identical to an older, superseded publication (stale);
- the records: duplicates, fewer than the floor, fewer than the publisher's own header declares;
- the change: too many removals (truncation), removals that reappear under new keys (renumbering), one
  field changing in most records (a swapped or renamed column), too many amendments, names whose letters
  became '?' or U+FFFD (a lossy re-encoding), UTF-8 read as cp1252.
Every threshold is a per-source setting (config/sources.yaml `guard:`, notifier.config.GuardConfig);
defaults are calibrated on real publications (bench/guard_calibration.py, README "Reliability").
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter, looks_like_html
from notifier.config import GuardConfig
from notifier.ingest.canonical import IDENTITY, fingerprint
from notifier.ingest.diff import Scan, Spill

EOF_MARKER = b"\x1a"  # the DOS end-of-file byte OFAC ends each legacy CSV file with
SAMPLE = 5000  # at most this many amended / removed records are loaded to judge the shape of a change


class Refused(Exception):
    """The snapshot is quarantined; str(exc) is the reason shown to ops."""


def _pct(x: float) -> str:
    """50% or 2.5%: whole percents unless the figure is small."""
    return f"{x:.0%}" if x >= 0.1 else f"{x:.1%}"


def _shown(keys: list[str], n: int = 5) -> str:
    return ", ".join(keys[:n]) + (" ..." if len(keys) > n else "")


# --- the raw bytes ---------------------------------------------------------------------------------------------


def part_facts(path: Path) -> dict[str, Any]:
    """What the guard remembers of a part's bytes, stored with the snapshot: its rows and end marker.

    Rows are counted for text files only (a zip/xlsx or UTF-16 file has no meaningful newline count).
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
        if b"\x00" in head or head.startswith(b"PK\x03\x04"):
            return {}
        fh.seek(0)
        lines, last = 0, b""
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = (last + chunk[-64:])[-64:]  # not last + chunk: a copy of every megabyte
    return {"lines": lines, "eof_marker": last.rstrip(b"\r\n\t ").endswith(EOF_MARKER)}


def check_files(adapter: type[Adapter], paths: Mapping[str, Path]) -> None:
    """Checks on the raw bytes, before parsing."""
    for part, path in paths.items():
        size = path.stat().st_size
        if size == 0:
            raise Refused(f"empty download: part {part!r} has 0 bytes")
        if "html" not in adapter.formats and looks_like_html(path):
            raise Refused(
                f"an HTML page where {'/'.join(adapter.formats)} was expected (part {part!r}, {size} bytes): "
                "the publisher served an error or landing page"
            )


def check_parts(
    facts: Mapping[str, Mapping[str, Any]], prior_facts: Mapping[str, Mapping[str, Any]], guard: GuardConfig
) -> None:
    """Each part against its copy in the last accepted snapshot (`part_facts` of both): a part that lost the
    publisher's end byte, or rows, is truncated even when what is left parses (cut at a row boundary)."""
    for part, now in facts.items():
        before = prior_facts.get(part) or {}
        if before.get("eof_marker") and now.get("eof_marker") is False:
            raise Refused(
                f"truncated: part {part!r} does not end with the publisher's end-of-file byte (0x1A) that its "
                "last accepted copy ended with"
            )
        old, new = before.get("lines"), now.get("lines")
        if isinstance(old, int) and isinstance(new, int) and old > 0 and old - new > guard.drop_grace:
            shrink = (old - new) / old
            if shrink > guard.max_drop:
                raise Refused(
                    f"truncated: part {part!r} has {new} rows against {old} in the last accepted snapshot "
                    f"(-{_pct(shrink)}, more than max_drop {_pct(guard.max_drop)})"
                )


def check_stale(
    sha256: str,
    superseded: Mapping[str, tuple[int, datetime]],
    published: str | None = None,
    accepted_published: str | None = None,
) -> None:
    """An old publication served again: the same bytes as a superseded accepted snapshot, or an older date.

    Diffed, it would withdraw everything published since (and re-designate it all when the current copy
    returns). `superseded` maps the combined sha256 of earlier accepted snapshots (not the current one) to
    (snapshot id, when fetched); publication dates are ISO strings, compared as such.
    """
    if sha256 in superseded:
        snap_id, fetched = superseded[sha256]
        raise Refused(
            f"stale: byte for byte the publication accepted on {fetched:%Y-%m-%d %H:%M}Z (snapshot {snap_id}), "
            "since superseded: the publisher or a cache served an old copy"
        )
    if published and accepted_published and published < accepted_published:
        raise Refused(
            f"stale: published {published}, older than the accepted publication of {accepted_published}"
        )


# --- the parsed records ----------------------------------------------------------------------------------------


def check_records(
    count: int,
    duplicate_keys: list[str],
    prior_count: int | None,
    guard: GuardConfig,
    partial: bool = False,
    declared: int | None = None,
) -> None:
    """Checks on the parsed snapshot: duplicates, the floor, and the record count the publisher declares.

    A partial snapshot (a delta, or a feed's latest items) may be small or empty; it is only checked for
    duplicate keys. The net drop against `prior_count` is checked here; removals hidden by additions are
    judged in check_shape.
    """
    if duplicate_keys:
        raise Refused(f"duplicate record keys ({len(duplicate_keys)}): {_shown(duplicate_keys)}")
    if partial:
        return
    if count == 0:
        raise Refused("no records: the file parsed but holds no entries")
    if count < guard.min_records:
        raise Refused(f"{count} records, fewer than the source's floor of {guard.min_records}")
    if prior_count and prior_count - count > guard.drop_grace:
        drop = (prior_count - count) / prior_count
        if drop > guard.max_drop:
            raise Refused(
                f"truncated? {count} records against {prior_count} in the last accepted snapshot: a drop of "
                f"{_pct(drop)}, more than max_drop {_pct(guard.max_drop)}"
            )
    if declared is not None and declared != count:
        raise Refused(f"truncated or damaged: {count} records, but the publisher's header declares {declared}")


# --- the shape of the change -----------------------------------------------------------------------------------

_LOSSY = re.compile(r"[?\ufffd]")
_SKELETON = re.compile(r"[?\ufffd]|[^\x00-\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f\ufffd]")
NAME_FIELDS = ("name", "aliases")


def _names(payload: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for name in NAME_FIELDS:
        value = payload.get(name)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def lost_letters(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """True when the names changed only by letters becoming '?' or U+FFFD: a lossy re-encoding, not news."""
    b, a = _names(before), _names(after)
    gained = sum(len(_LOSSY.findall(x)) for x in a) - sum(len(_LOSSY.findall(x)) for x in b)
    lost = sum(len(_NON_ASCII.findall(x)) for x in b) - sum(len(_NON_ASCII.findall(x)) for x in a)
    if gained <= 0 or lost <= 0:
        return False
    return sorted(_SKELETON.sub("", x) for x in b) == sorted(_SKELETON.sub("", x) for x in a)


@dataclass
class Shape:
    """How a snapshot would change the stored list: the figures the shape checks judge."""

    prior: int  # active records before
    count: int  # records in the snapshot
    added: int
    removed: int
    amended: int
    rekeyed: int = 0  # removed records whose content reappears under an added key (estimated from a sample)
    fields: Counter[str] = field(default_factory=Counter)  # field -> amended records where it changed (scaled)
    lossy: list[str] = field(default_factory=list)  # amended keys whose names lost letters to '?'/U+FFFD
    sampled: int = 0  # amended records compared field by field

    def as_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "count": self.count,
            "added": self.added,
            "removed": self.removed,
            "amended": self.amended,
            "rekeyed": self.rekeyed,
            "top_fields": self.fields.most_common(3),
            "lossy": len(self.lossy),
        }


def _sample(keys: list[str], n: int = SAMPLE) -> list[str]:
    """An even, deterministic sample of `keys`."""
    if len(keys) <= n:
        return list(keys)
    step = len(keys) / n
    return [keys[int(i * step)] for i in range(n)]


def measure(
    scan: Scan, prior_count: int, load_payloads: Callable[[list[str]], dict[str, dict[str, Any]]]
) -> Shape:
    """The shape of `scan` against the stored list; `load_payloads(keys)` reads stored payloads.

    Reads the scan's spill once (new payloads of added and amended records) and at most SAMPLE stored
    payloads of amended and of removed records, so a 14,000-record re-keying costs about a second.
    """
    shape = Shape(prior_count, scan.count, len(scan.added), len(scan.removed), len(scan.amended))
    if not (scan.amended or (scan.removed and scan.added)) or scan.spill is None:
        return shape
    amended_sample = set(_sample(sorted(scan.amended)))
    after: dict[str, dict[str, Any]] = {}
    added_prints: Counter[str] = Counter()
    for key, _digest, payload_json, *_ in scan.spill:
        if key in amended_sample:
            after[key] = json.loads(payload_json)
        elif scan.removed and key in scan.added:
            added_prints[fingerprint(json.loads(payload_json))] += 1
    removed_sample = _sample(list(scan.removed)) if added_prints else []
    before = load_payloads(sorted(amended_sample) + removed_sample)
    if removed_sample:
        matched = 0
        for key in removed_sample:
            stored = before.get(key)
            if stored is None:
                continue
            fp = fingerprint(stored)
            if added_prints[fp] > 0:
                added_prints[fp] -= 1
                matched += 1
        shape.rekeyed = round(matched * len(scan.removed) / len(removed_sample))
    scale = len(scan.amended) / max(1, len(amended_sample))
    counts: Counter[str] = Counter()
    for key in sorted(amended_sample):
        b, a = before.get(key), after.get(key)
        if b is None or a is None:
            continue
        shape.sampled += 1
        for name in set(b) | set(a):
            if name not in IDENTITY and b.get(name) != a.get(name):
                counts[name] += 1
        if lost_letters(b, a):
            shape.lossy.append(key)
    shape.fields = Counter({k: round(v * scale) for k, v in counts.items()})
    return shape


def check_shape(shape: Shape, guard: GuardConfig, renumbering_expected: bool = False) -> None:
    """Refuse a change whose shape is that of a broken download rather than of a publication.

    `renumbering_expected`: the source is known to renumber (its moved records are already matched and
    reported), so re-keyed content is not suspicious.
    """
    prior, grace = shape.prior, guard.drop_grace
    if not prior:
        return

    def over(count: int, limit: float, name: str) -> str | None:
        """"N of P records (x%, more than <name> y%)" when `count` is past both the grace and the limit."""
        if count > grace and count / prior > limit:
            return f"{count} of {prior} records ({_pct(count / prior)}, more than {name} {_pct(limit)})"
        return None

    if not renumbering_expected and (why := over(shape.rekeyed, guard.max_rekey, "max_rekey")):
        raise Refused(
            f"renumbered: {why} were removed and reappear with the same content under new keys: a re-keyed "
            "download or a renumbering by the publisher, not delistings"
        )
    if why := over(shape.removed, guard.max_drop, "max_drop"):
        raise Refused(f"truncated? {why} removed at once; {shape.count} records in this snapshot")
    if len(shape.lossy) > guard.max_lossy:
        lossy = round(len(shape.lossy) * shape.amended / max(1, shape.sampled))
        raise Refused(
            f"lossy text: {lossy} amended records whose names only changed by letters turning into '?' or "
            f"U+FFFD (more than max_lossy {guard.max_lossy}): a broken encoding, e.g. {_shown(shape.lossy)}"
        )
    name, changed = shape.fields.most_common(1)[0] if shape.fields else ("", 0)
    if why := over(changed, guard.max_field_change, "max_field_change"):
        raise Refused(f"format change: field {name!r} changed in {why}: a swapped, renamed or dropped column/element")
    if why := over(shape.amended, guard.max_amend, "max_amend"):
        raise Refused(f"mass amendment: {why} amended at once")


# --- wrong text encoding ---------------------------------------------------------------------------------------

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
MOJIBAKE_MIN = 3  # changed records with double-encoded text before the snapshot is refused...
MOJIBAKE_SHARE = 0.2  # ...when they are also this share of the changed records


def double_encoded(text: str) -> bool:
    """True when the text holds UTF-8 bytes read as cp1252/Latin-1 ("Ã©" for "é"): a wrong-encoding download.

    Real names never survive this round trip (it needs pairs like "Ã©"), so false alarms are unlikely.
    """
    if text.isascii():  # most records of most lists: no regex needed
        return False
    for run in _NON_ASCII_RUN.findall(text):
        for encoding in ("cp1252", "latin-1"):
            try:
                run.encode(encoding).decode("utf-8")
                return True
            except UnicodeError:
                continue
    return False


def check_encoding(changed: Spill) -> None:
    """Checks the added and amended records (the scan's spill) for text decoded in the wrong encoding.

    A publisher's export switching encoding would otherwise alert every record with an accent as amended. Only
    rows beyond ASCII are read: plain ASCII holds no mis-decoded text (a baseline spills every record).
    """
    total, garbled = changed.count, []
    for key, _digest, payload_json, *_ in changed.non_ascii():
        if double_encoded(payload_json):
            garbled.append(key)
    if len(garbled) >= MOJIBAKE_MIN and len(garbled) >= MOJIBAKE_SHARE * total:
        raise Refused(
            f"wrong text encoding: {len(garbled)} of {total} new or changed records hold UTF-8 read as "
            f"Latin-1/cp1252 (e.g. 'Ã©' for 'é'): {_shown(garbled)}"
        )
