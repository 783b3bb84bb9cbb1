"""Atom feeds of changes: one entry per change event, carrying the same readable diff an alert carries.

Built with lxml (feedgen publishes no wheel): every text goes in through the element API, so publisher text can
never become markup, and control characters XML cannot carry are dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _text(text)
    return el


def atom(*, feed_id: str, title: str, self_url: str, html_url: str, updated: datetime, entries: list[dict]) -> bytes:
    """entries: dicts with id, title, link, updated, summary (plain text), categories."""
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _sub(root, "id", feed_id)
    _sub(root, "title", title)
    _sub(root, "updated", _stamp(updated))
    _sub(root, "link", rel="self", href=self_url, type="application/atom+xml")
    _sub(root, "link", rel="alternate", href=html_url, type="text/html")
    author = _sub(root, "author")
    _sub(author, "name", "sanctions-notifier")
    _sub(root, "generator", "sanctions-notifier")
    for e in entries:
        entry = _sub(root, "entry")
        _sub(entry, "id", e["id"])
        _sub(entry, "title", e["title"])
        _sub(entry, "updated", _stamp(e["updated"]))
        _sub(entry, "published", _stamp(e["updated"]))
        _sub(entry, "link", rel="alternate", href=e["link"], type="text/html")
        if e.get("official"):
            _sub(entry, "link", rel="related", href=e["official"], type="text/html", title="official source")
        for term in e.get("categories", []):
            _sub(entry, "category", term=term)
        _sub(entry, "content", e["summary"], type="text")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
