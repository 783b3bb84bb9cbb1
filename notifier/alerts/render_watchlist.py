"""Watchlist alerts and import reports, rendered for their channel: who of ours, which designation, how sure, why.

The outbox row carries the hits as JSON (entry and designation as they were when matched), so the alert still
renders after the subscriber replaces its list.
"""

from __future__ import annotations

import json
from typing import Any

from notifier.alerts.render import Message, _pack, esc_html, link, md, plain

BODY_FORMATS = {"email": "html", "markdown": "markdown", "slack": "markdown"}


def _entry_facts(entry: dict[str, Any]) -> str:
    facts = [
        f"ref {entry['reference']}" if entry.get("reference") else "",
        f"line {entry['line']}" if entry.get("line") else "",
        entry.get("type") or "",
        ", ".join(entry.get("countries") or []),
        ", ".join(entry.get("dates") or []),
        "; ".join(entry.get("identifiers") or []),
    ]
    return "; ".join(f for f in facts if f)


def hit_lines(hit: dict[str, Any]) -> tuple[str, list[str], str | None]:
    """(headline, detail lines, link) of one hit, in plain text."""
    entry, des = hit["entry"], hit["designation"]
    head = f"{entry['name']} ~ {des['name']} (score {hit['score']:.2f})"
    lines = [
        f"Your counterparty: {entry['name']}" + (f" ({_entry_facts(entry)})" if _entry_facts(entry) else ""),
        f"Designated: {des['name']} ({des.get('entity_type') or 'unknown'}, {des['source']} {des['key']})"
        + (f"; programs {', '.join(des['programs'])}" if des.get("programs") else ""),
        f"Score {hit['score']:.2f} (name {hit['name_score']:.2f}); matched name: {hit['matched_name']}",
    ]
    if hit.get("agreed"):
        lines.append("Agrees: " + "; ".join(hit["agreed"]))
    if hit.get("disagreed"):
        lines.append("Disagrees: " + "; ".join(hit["disagreed"]))
    return head, lines, des.get("url")


def _block(hit: dict[str, Any], body_format: str) -> str:
    head, lines, url = hit_lines(hit)
    a = link(url, body_format, "official source")
    if body_format == "html":
        items = "".join(f"<li>{esc_html(line)}</li>" for line in lines)
        return f"<li><b>{esc_html(head)}</b>{f' — {a}' if a else ''}<ul>{items}</ul></li>"
    if body_format == "markdown":
        return "\n".join([f"• **{md(head)}**{f' — {a}' if a else ''}", *(f"    {md(line)}" for line in lines)])
    return "\n".join([f"* {plain(head)}", *(f"    {plain(line)}" for line in lines), *([f"    {a}"] if a else [])])


def render_watchlist(title: str, body: str, fmt: str, max_body: int, *, report: bool = False) -> list[Message]:
    """A watchlist alert (one designation, the counterparties it matched) or an import report (every hit)."""
    data = json.loads(body or "{}")
    body_format = BODY_FORMATS.get(fmt, "text")
    blocks = [_block(h, body_format) for h in data.get("hits", [])]
    if report and not blocks:
        text = f"None of your {data.get('entries', 0)} counterparties matches an active designation."
        blocks = [f"<li>{esc_html(text)}</li>" if body_format == "html" else text]
    elif not report:
        note = "Check this match now: a designated counterparty may need its transactions stopped or reported."
        blocks.insert(0, f"<li><i>{esc_html(note)}</i></li>" if body_format == "html" else note)
    return _pack(title, blocks, body_format, max_body)
