"""The publication's own date and id, as the publisher states it (not when we fetched it).

An adapter reads it from the file (`Adapter.publication`, with the helpers here); when the file says nothing,
the core falls back to a date in the file's name (MOF's shisantouketsu20260305.xlsx, an archived
2024-02-23_sdn.csv). Alerts, `changes --json` and `replay` use it, so a replayed file carries the day it was
published rather than the day it was replayed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from notifier.dates import iso_date
from notifier.encoding import as_utf8

# A head read is enough: every publisher that dates its file does so before the first record.
HEAD_BYTES = 65536


@dataclass(frozen=True, slots=True)
class Publication:
    """`date`: ISO "YYYY-MM-DD", the day the publisher says it issued this file (in its own time zone); `id`:
    the publisher's own number or name for this issue of the list. Either may be None."""

    date: str | None = None
    id: str | None = None

    def __bool__(self) -> bool:
        return bool(self.date or self.id)

    def or_else(self, other: Publication) -> Publication:
        """This publication's facts, completed by `other`'s where this one has none."""
        return Publication(self.date or other.date, self.id or other.id)


_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")


def date_in_name(name: str | None) -> str | None:
    """A plausible date (1990-2100) in a file name or URL path, as ISO; None when there is none or several."""
    if not name:
        return None
    path = urlsplit(name).path if "://" in name else name
    base = unquote(PurePosixPath(path.replace("\\", "/")).name)
    found = set()
    for y, m, d in _NAME_DATE.findall(base):
        try:
            day = date(int(y), int(m), int(d))
        except ValueError:
            continue
        if 1990 <= day.year <= 2100:
            found.add(day.isoformat())
    return found.pop() if len(found) == 1 else None


def publisher_date(text: str | None, formats: tuple[str, ...]) -> str | None:
    """A publisher's date (or timestamp: the day it names is kept) in one of `formats` (strptime) as ISO
    "YYYY-MM-DD"; None when blank or in none of the formats: a wrong date is worse than none."""
    found = iso_date(text, *formats, keep=False)
    return found if found and len(found) == 10 else None


def iso_day(text: str | None) -> str | None:
    """The day of an ISO 8601 date or timestamp as published ("2025-12-10T00:00:06.263Z" -> "2025-12-10"),
    in the publisher's own offset; None when it is not ISO."""
    found = re.match(r"\s*(\d{4}-\d{2}-\d{2})(?:[T ]|$)", text or "")
    return publisher_date(found.group(1), ("%Y-%m-%d",)) if found else None


def head_text(path: Path, size: int = HEAD_BYTES) -> str:
    """The start of a file as text (UTF-8, or UTF-16/32 by its BOM; undecodable bytes replaced), for regex look-ups
    of a header."""
    with open(path, "rb") as fh:
        return as_utf8(fh.read(size)).decode("utf-8", errors="replace").lstrip("\ufeff")


def head_match(path: Path, pattern: str | re.Pattern[str], size: int = HEAD_BYTES) -> str | None:
    """Group 1 of the first match of `pattern` in the file's head, stripped; None when absent."""
    found = re.search(pattern, head_text(path, size))
    return found.group(1).strip() if found and found.group(1) else None
