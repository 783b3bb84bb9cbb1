"""The contract between the core and a source adapter.

An adapter turns the bytes of one snapshot into records and does nothing else: no HTTP, no database,
no Celery. The core hands it the snapshot as local files (one per named part, already fetched and
size-capped), so large lists can be streamed from disk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from notifier.encoding import as_utf8
from notifier.publication import Publication
from notifier.records import Record


@dataclass(frozen=True, slots=True)
class Deletion:
    """In a delta snapshot (Adapter.is_delta): the record with this key is gone."""

    key: str


@dataclass(slots=True)  # not frozen: a frozen init costs three times as much, and one is made per listed record
class Unbuilt:
    """A record known so far by its key and a digest of its published form (Adapter.parse_unbuilt).

    The core builds it (Adapter.build(raw)) only when the digest differs from the stored one: on a list of
    millions where 1 % changes, building and hashing the other 99 % is most of a poll's cost. Read-only by
    convention.
    """

    key: str
    raw_digest: int
    raw: Any


class ParseError(ValueError):
    """The snapshot cannot be read as this source's format; the guard quarantines it with this message."""


class Adapter(ABC):
    """Subclass this in one module under sources/ and register it under `sanctions_notifier.sources`.

    Class attributes describe the source to people and to the guard:
    - `title`, `publisher`, `jurisdiction` (ISO alpha-2 or "EU"/"UN"/"INT"): shown in alerts and `notifier sources`.
    - `kind`: "designation", "export_control" or "news" (the records it yields).
    - `formats`: the content it accepts ("xml", "csv", "xlsx", "json", "jsonl", "html", "text"); the guard
      refuses an HTML page unless "html" is among them.
    - `parts`: the named files of one snapshot; "main" is always required, others are optional.
    - `match_moved_by_content`: the publisher renumbers records, so an added and a removed record with the same
      content are one record that moved (reported to ops once), not a delisting plus a designation.
    - `windowed`: each snapshot shows only the latest items (news feeds, API pages): a record that leaves the
      window is not removed, and a smaller snapshot is no mass drop.
    """

    title: ClassVar[str] = ""
    short_title: ClassVar[str] = ""  # for alert summaries ("OFAC SDN"); defaults to title
    publisher: ClassVar[str] = ""
    jurisdiction: ClassVar[str] = ""
    kind: ClassVar[str] = "designation"
    formats: ClassVar[tuple[str, ...]] = ("xml",)
    parts: ClassVar[tuple[str, ...]] = ("main",)
    match_moved_by_content: ClassVar[bool] = False
    windowed: ClassVar[bool] = False
    # Bump when a change to the adapter gives other records for the same file (new fields...): the first poll
    # after the upgrade re-reads the last accepted snapshot with the new parser and stores it without alerts,
    # so subscribers see only what the publisher changed (notifier.ingest.upgrade).
    parser_version: ClassVar[str] = "1"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    @property
    def is_delta(self) -> bool:
        """True when the snapshot just parsed listed only what changed since the last one (records to upsert
        and Deletion markers) instead of the whole list; the core asks after parsing and then removes only what
        it is told to remove."""
        return False

    def publication(self, parts: Mapping[str, Path]) -> Publication:
        """The publication's own date and id as the file states them (a header, a generation date), read
        cheaply from the file's head where possible; Publication() when the file says nothing. The core asks
        before parsing, falls back to a date in the file's name, and never fails a poll over it."""
        return Publication()

    @property
    def declared_count(self) -> int | None:
        """How many records the publisher's own header says the snapshot just parsed holds (OFAC's
        Record_Count), or None when the format declares none; asked after parsing. The guard, not the adapter,
        refuses a snapshot holding another number (a download cut at a record boundary)."""
        return None

    def main(self, parts: Mapping[str, Path]) -> Path:
        """The snapshot's main file, refused as the guard refuses it (an empty file; an HTML page where this
        source publishes none): one check for every adapter, so a direct `parse` (tests, replays) fails as a
        poll does, and no adapter repeats it."""
        path = Path(parts["main"])
        name = self.short_title or self.title or type(self).__name__
        if not sniff(path):
            raise ParseError(f"{name}: empty file")
        if "html" not in self.formats and looks_like_html(path):
            raise ParseError(f"{name}: got an HTML page, not {' or '.join(self.formats)}")
        return path

    @abstractmethod
    def parse(self, parts: Mapping[str, Path]) -> Iterator[Record]:
        """Yield the snapshot's records; raise ParseError when the bytes are not this source's format."""

    # Optional, for very large lists: `parse_unbuilt` yields Unbuilt items (and records or Deletions where it
    # builds eagerly) and `build` turns an Unbuilt's raw value into its record (or None: not a record after all).
    # The digest must cover everything the record is built from and nothing volatile; parse() must yield what
    # parse_unbuilt() + build() do. The contract kit checks both.
    builds_on_demand: ClassVar[bool] = False

    def parse_unbuilt(self, parts: Mapping[str, Path]) -> Iterator[Record | Deletion | Unbuilt]:
        raise NotImplementedError(f"{type(self).__name__} does not build on demand")

    def build(self, raw: Any) -> Record | None:
        raise NotImplementedError(f"{type(self).__name__} does not build on demand")


def sniff(path: Path, size: int = 2048) -> bytes:
    """The first bytes of a file without BOM or leading whitespace, lower-cased: enough to tell formats apart."""
    with open(path, "rb") as fh:
        head = fh.read(size)
    return as_utf8(head).lstrip().lower()


def looks_like_html(path: Path) -> bool:
    head = sniff(path)
    return (
        head.startswith(b"<!doctype html")
        or head.startswith(b"<html")
        or (head.startswith(b"<") and b"<html" in head[:1024])
    )
