"""The one date parser: a publisher's date as ISO 8601, at the precision the publisher gives.

Adapters reach it as `notifier.parsing.iso_date`; the publication date of a snapshot uses it too.
"""

from __future__ import annotations

import datetime as dt
import unicodedata


def iso_date(value: object, *formats: str, keep: bool = True) -> str | None:
    """A publisher's date as ISO 8601 at the precision it gives: with "%d %b %Y", "10 Dec 1948" -> "1948-12-10";
    with "%b %Y", "Dec 1948" -> "1948-12". Spreadsheet dates are taken as they are, full-width digits as ASCII.
    A value in none of `formats` is kept as published (None with keep=False): an unreadable date still tells
    the analyst something, a wrongly read one misleads."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    plain = unicodedata.normalize("NFKC", text)
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(plain, fmt)
        except ValueError:
            continue
        if "%d" in fmt or "%j" in fmt:
            return parsed.date().isoformat()
        if any(month in fmt for month in ("%m", "%b", "%B")):
            return f"{parsed.year:04d}-{parsed.month:02d}"
        return f"{parsed.year:04d}"
    return text if keep else None
