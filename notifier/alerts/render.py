"""Alert text: one readable digest per (poll, subscriber), rendered for the channel it goes to.

Formats: "markdown" (Slack and other chat services; Apprise turns it into Slack mrkdwn), "email" (HTML; Apprise
adds the plain-text alternative) and "text". A message too long for its channel is split between entries,
deterministically, so a retry resumes at the first part not yet sent.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier.records import record_title

NOUNS = {  # (one, many)
    "designation": {
        "added": ("new designation", "new designations"),
        "removed": ("delisting", "delistings"),
        "amended": ("amended", "amended"),
    },
    "export_control": {
        "added": ("new export control", "new export controls"),
        "removed": ("lifted", "lifted"),
        "amended": ("amended", "amended"),
    },
    "news": {
        "added": ("new sanctions news item", "new sanctions news items"),
        "removed": ("withdrawn", "withdrawn"),
        "amended": ("updated", "updated"),
    },
}
VERBS = {
    "designation": {"added": "Designated", "removed": "Delisted", "amended": "Amended"},
    "export_control": {"added": "New", "removed": "Lifted", "amended": "Amended"},
    "news": {"added": "News", "removed": "Withdrawn", "amended": "Updated"},
}
MEASURE_WORDS = {
    "export_ban": "export ban",
    "import_ban": "import ban",
    "licence_requirement": "licence requirement",
    "party_ban": "export ban on party",
    "other": "measure",
}


@dataclass(frozen=True)
class SourceMeta:
    id: str
    title: str
    jurisdiction: str
    kind: str
    url: str | None = None


@dataclass
class ChangeView:
    """What an entry needs from a stored change."""

    id: int
    key: str
    change: str
    kind: str
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: list[dict[str, Any]] | None
    notes: list[str] = field(default_factory=list)  # what the core found out about it (news: measures, parties)

    @property
    def payload(self) -> dict[str, Any]:
        return self.after or self.before or {}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: str  # "markdown" | "html" | "text" (Apprise's names)


def summary(meta: SourceMeta, when: datetime, changes: list[ChangeView]) -> str:
    """ "OFAC SDN, 2024-02-23: 553 new designations, 8 amended"."""
    counts = Counter(c.change for c in changes)
    nouns = NOUNS.get(meta.kind, NOUNS["designation"])
    parts = [f"{counts[k]} {nouns[k][counts[k] != 1]}" for k in ("added", "removed", "amended") if counts[k]]
    return f"{meta.title}, {when:%Y-%m-%d}: {', '.join(parts) or 'no changes'}"


def _short(value: Any, limit: int = 300) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, "", []))
    elif isinstance(value, list):
        text = "; ".join(_short(v, limit) for v in value)
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _headline(meta: SourceMeta, c: ChangeView) -> str:
    p = c.payload
    if c.kind == "export_control":
        measure = MEASURE_WORDS.get(p.get("measure", ""), "measure")
        targets = [t for t in p.get("target_countries") or [] if t != "*"]
        route = f"{p.get('origin') or meta.jurisdiction} → {', '.join(targets) or 'all destinations'}"
        verb = {"added": f"New {measure}", "removed": f"Lifted {measure}", "amended": f"Amended {measure}"}[c.change]
        return f"{verb} ({route}): {record_title(p) or c.name}"
    verb = VERBS.get(c.kind, VERBS["designation"])[c.change]
    what = p.get("entity_type") if c.kind == "designation" else c.kind
    return f"{verb}: {c.name or record_title(p)} ({what}, {c.key})"


def _details(c: ChangeView) -> list[str]:
    """Plain-text lines under an entry's headline (escaped later per format)."""
    p = c.payload
    lines = []
    if c.kind == "designation":
        if p.get("programs"):
            lines.append("Programs: " + ", ".join(p["programs"]))
        if c.change == "added":
            for label, field in (
                ("Aliases", "aliases"),
                ("Nationality", "nationalities"),
                ("Born", "birth_dates"),
                ("Address", "addresses"),
            ):
                if p.get(field):
                    lines.append(f"{label}: {_short(p[field])}")
    elif c.kind == "export_control":
        if p.get("legal_basis"):
            lines.append(f"Legal basis: {p['legal_basis']}")
        if p.get("effective_date"):
            lines.append(f"Effective: {p['effective_date']}")
    elif c.kind == "news":
        if p.get("summary"):
            lines.append(_short(p["summary"], 500))
    lines.extend(c.notes)
    for f in c.fields or []:
        if "before" in f or "after" in f:
            lines.append(f"{f['field']}: {_short(f.get('before')) or '(none)'} → {_short(f.get('after')) or '(none)'}")
        else:
            for item in f.get("added") or []:
                lines.append(f"{f['field']} added: {_short(item)}")
            for item in f.get("removed") or []:
                lines.append(f"{f['field']} removed: {_short(item)}")
    return lines


def _link(meta: SourceMeta, c: ChangeView) -> str | None:
    return c.payload.get("url") or c.payload.get("link") or meta.url


def _entry(meta: SourceMeta, c: ChangeView, fmt: str) -> str:
    head, details, link = _headline(meta, c), _details(c), _link(meta, c)
    if fmt == "html":
        items = "".join(f"<li>{html.escape(d)}</li>" for d in details)
        a = f' — <a href="{html.escape(link, quote=True)}">official source</a>' if link else ""
        return f"<li><b>{html.escape(head)}</b>{a}{f'<ul>{items}</ul>' if items else ''}</li>"
    if fmt == "markdown":
        a = f" — [official source]({link})" if link else ""
        return "\n".join([f"• **{_md(head)}**{a}", *(f"    {_md(d)}" for d in details)])
    return "\n".join([f"* {head}", *(f"    {d}" for d in details), *([f"    {link}"] if link else [])])


def _md(text: str) -> str:
    for ch in ("\\", "*", "_", "`", "[", "]"):
        text = text.replace(ch, "\\" + ch)
    return text


ORDER = {"added": 0, "amended": 1, "removed": 2}


def render_changes(
    meta: SourceMeta, when: datetime, changes: list[ChangeView], fmt: str, max_body: int
) -> list[Message]:
    """The digest of one poll for one subscriber, split into messages of at most max_body characters."""
    title = summary(meta, when, changes)
    body_format = {"email": "html", "markdown": "markdown", "slack": "markdown"}.get(fmt, "text")
    ordered = sorted(changes, key=lambda c: (ORDER[c.change], c.name.lower(), c.key))
    entries = [_entry(meta, c, body_format) for c in ordered]
    return _pack(title, entries, body_format, max_body)


def render_digest(
    groups: list[tuple[SourceMeta, list[ChangeView]]], title: str, fmt: str, max_body: int
) -> list[Message]:
    """Several sources' changes in one message: counts per source first, then each source's entries by type."""
    body_format = {"email": "html", "markdown": "markdown", "slack": "markdown"}.get(fmt, "text")
    counts, blocks = [], []
    for meta, changes in groups:
        line = summary(meta, datetime.min, changes).split(": ", 1)[-1]
        counts.append(f"{meta.title}: {line}")
        for change in ORDER:
            chosen = sorted((c for c in changes if c.change == change), key=lambda c: (c.name.lower(), c.key))
            if not chosen:
                continue
            nouns = NOUNS.get(meta.kind, NOUNS["designation"])[change]
            head = f"{meta.title} — {len(chosen)} {nouns[len(chosen) != 1]}"
            blocks.append(
                f"<li><h3>{html.escape(head)}</h3></li>"
                if body_format == "html"
                else (f"**{_md(head)}**" if body_format == "markdown" else f"== {head} ==")
            )
            blocks += [_entry(meta, c, body_format) for c in chosen]
    if body_format == "html":
        first = "<li>" + "<br>".join(html.escape(c) for c in counts) + "</li>"
    else:
        first = "\n".join(_md(c) if body_format == "markdown" else c for c in counts) + "\n"
    return _pack(title, [first, *blocks], body_format, max_body)


def _pack(title: str, entries: list[str], body_format: str, max_body: int) -> list[Message]:
    def wrap(chunk: list[str], part: int, total: int) -> str:
        label = f" (part {part} of {total})" if total > 1 else ""
        if body_format == "html":
            return f"<p><b>{html.escape(title)}{label}</b></p><ul>{''.join(chunk)}</ul>"
        head = f"**{_md(title)}{label}**" if body_format == "markdown" else f"{title}{label}"
        return head + "\n\n" + "\n".join(chunk)

    budget = max(500, max_body - len(title) - 200)
    chunks: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        if len(entry) > budget:
            entry = entry[: budget - 1] + "…"
        if chunks[-1] and size + len(entry) + 1 > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += len(entry) + 1
    total = len(chunks)
    part_title = (lambda i: f"{title} ({i} of {total})") if total > 1 else (lambda i: title)
    return [Message(part_title(i), wrap(c, i, total), body_format) for i, c in enumerate(chunks, 1)]


def render_text(title: str, body: str, fmt: str) -> Message:
    """An ops or test message, in the channel's format."""
    if fmt == "email":
        return Message(title, f"<p>{html.escape(body).replace(chr(10), '<br>')}</p>", "html")
    return Message(title, body, "text")
