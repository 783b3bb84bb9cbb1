"""Refuse snapshots that cannot be trusted, before they can turn into a mass delisting.

A refused snapshot is quarantined with the reason given here; the next good one is diffed against the
last accepted one, so nothing a subscriber sees ever depends on a bad download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from notifier.adapter import Adapter, looks_like_html
from notifier.config import GuardConfig


class Refused(Exception):
    """The snapshot is quarantined; str(exc) is the reason shown to ops."""


def check_files(adapter: type[Adapter], paths: dict[str, Path]) -> None:
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


def check_records(
    count: int, duplicate_keys: list[str], prior_count: int | None, guard: GuardConfig, partial: bool = False
) -> None:
    """Checks on the parsed snapshot, against the source's floor and the last accepted snapshot.

    A partial snapshot (a delta, or a feed's latest items) may be small or empty; it is only checked for
    duplicate keys.
    """
    if duplicate_keys:
        shown = ", ".join(duplicate_keys[:5]) + (" ..." if len(duplicate_keys) > 5 else "")
        raise Refused(f"duplicate record keys ({len(duplicate_keys)}): {shown}")
    if partial:
        return
    if count == 0:
        raise Refused("no records: the file parsed but holds no entries")
    if count < guard.min_records:
        raise Refused(f"{count} records, fewer than the source's floor of {guard.min_records}")
    if prior_count:
        drop = (prior_count - count) / prior_count
        if drop > guard.max_drop:
            raise Refused(
                f"{count} records against {prior_count} in the last accepted snapshot: a drop of "
                f"{drop:.0%}, more than the allowed {guard.max_drop:.0%}"
            )


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
MOJIBAKE_MIN = 3  # changed records with double-encoded text before the snapshot is refused...
MOJIBAKE_SHARE = 0.2  # ...when they are also this share of the changed records


def double_encoded(text: str) -> bool:
    """True when the text holds UTF-8 bytes read as cp1252/Latin-1 ("Ã©" for "é"): a wrong-encoding download.

    Real names never survive this round trip (it needs pairs like "Ã©"), so false alarms are unlikely.
    """
    for run in _NON_ASCII_RUN.findall(text):
        for encoding in ("cp1252", "latin-1"):
            try:
                run.encode(encoding).decode("utf-8")
                return True
            except UnicodeError:
                continue
    return False


def check_encoding(changed: Iterable[tuple[str, str, str]]) -> None:
    """Checks the added and amended records (key, hash, payload JSON) for text decoded in the wrong encoding.

    A publisher's export switching encoding would otherwise alert every record with an accent as amended.
    """
    total, garbled = 0, []
    for key, _digest, payload_json in changed:
        total += 1
        if double_encoded(payload_json):
            garbled.append(key)
    if len(garbled) >= MOJIBAKE_MIN and len(garbled) >= MOJIBAKE_SHARE * total:
        shown = ", ".join(garbled[:5]) + (" ..." if len(garbled) > 5 else "")
        raise Refused(
            f"wrong text encoding: {len(garbled)} of {total} new or changed records hold UTF-8 read as "
            f"Latin-1/cp1252 (e.g. 'Ã©' for 'é'): {shown}"
        )
