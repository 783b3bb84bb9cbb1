"""Refuse snapshots that cannot be trusted, before they can turn into a mass delisting.

A refused snapshot is quarantined with the reason given here; the next good one is diffed against the
last accepted one, so nothing a subscriber sees ever depends on a bad download.
"""

from __future__ import annotations

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


def check_records(count: int, duplicate_keys: list[str], prior_count: int | None, guard: GuardConfig) -> None:
    """Checks on the parsed snapshot, against the source's floor and the last accepted snapshot."""
    if count == 0:
        raise Refused("no records: the file parsed but holds no entries")
    if duplicate_keys:
        shown = ", ".join(duplicate_keys[:5]) + (" ..." if len(duplicate_keys) > 5 else "")
        raise Refused(f"duplicate record keys ({len(duplicate_keys)}): {shown}")
    if count < guard.min_records:
        raise Refused(f"{count} records, fewer than the source's floor of {guard.min_records}")
    if prior_count:
        drop = (prior_count - count) / prior_count
        if drop > guard.max_drop:
            raise Refused(
                f"{count} records against {prior_count} in the last accepted snapshot: a drop of "
                f"{drop:.0%}, more than the allowed {guard.max_drop:.0%}"
            )
