"""How a change reads on a page and in a feed: the alert renderer's own words, plus values shown whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notifier.alerts.render import SourceMeta, entry
from notifier.store import models
from notifier.store.changes import Change

TEXT_LIMIT = 1_000_000


def change_view(c: models.Change) -> Change:
    return Change.from_row(c)


def readable(c: models.Change, meta: SourceMeta) -> tuple[str, str]:
    """(headline, text) of one change exactly as a plain-text alert would say it."""
    lines = entry(meta, change_view(c), "text").splitlines()
    head = lines[0].removeprefix("* ").strip() if lines else c.name
    return head, "\n".join(line.strip() for line in lines[1:])


def show(value: Any) -> str:
    """A payload value as text: lists one item per line, mappings as `key: value`."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return "\n".join(show(v) for v in value)
    return str(value)


def when(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def safe_url(value: Any) -> str | None:
    """Only http(s) links become links: a javascript: or data: URL from a publisher stays text."""
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None
