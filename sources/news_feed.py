"""News feeds (RSS 2.0, RSS 1.0, Atom) of sanctions publishers and news agencies, read with feedparser.

Configured per feed (one source entry per feed URL); the feed's name is option `feed`, else the feed's own title.
Key = the entry's guid/id, else its link, else "sha:" + a hash of title and published date. The summary is the
entry's summary (or content) with HTML stripped to text. Whether an item is sanctions news is the core's business.
Feed-level bookkeeping (lastBuildDate, ttl, generator) and entry `updated` stamps that some feeds rewrite on every
build stay out of the records.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
from lxml import etree

from notifier.adapter import Adapter, ParseError, sniff
from notifier.records import NewsItem

_BLOCKS = ("p", "br", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre")


def html_to_text(value: str | None) -> str:
    """Visible text of an HTML fragment (or plain text unchanged), whitespace folded."""
    if not value or not value.strip():
        return ""
    if "<" not in value and "&" not in value:
        return " ".join(value.split())
    try:
        doc = lxml.html.fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(value.split())
    for bad in doc.xpath("//script|//style"):
        bad.drop_tree()
    for block in doc.iter(*_BLOCKS):  # paragraphs must not run into each other
        block.tail = "\n" + (block.tail or "")
    return " ".join(doc.text_content().split())


def _iso(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)


class NewsFeed(Adapter):
    """An RSS/Atom feed -> NewsItem records, one per entry."""

    title = "News feed (RSS/Atom)"
    publisher = "configured per feed"
    jurisdiction = "INT"
    kind = "news"
    windowed = True

    def parse(self, parts: Mapping[str, Path]) -> Iterator[NewsItem]:
        path = self.main(parts)
        head = sniff(path)
        if b"<!entity" in head or b"<!entity" in sniff(path, 65536):
            raise ParseError("feed declares XML entities (DTD); refused")
        data = feedparser.parse(path.read_bytes())
        if not data.get("version"):
            reason = data.get("bozo_exception") or "no RSS or Atom root element"
            raise ParseError(f"feed: not an RSS or Atom feed ({reason})")
        if data.get("bozo") and not data.entries:
            raise ParseError(f"feed: malformed feed without entries ({data.get('bozo_exception')})")
        feed_info = data.get("feed", {})
        feed_name = self.options.get("feed") or feed_info.get("title") or None
        language = self.options.get("language") or feed_info.get("language") or None
        seen: set[str] = set()
        for entry in data.entries:
            record = self._record(entry, feed_name, language)
            if record.key in seen:
                continue  # feeds repeat an entry now and then; the first one stands
            seen.add(record.key)
            yield record

    @staticmethod
    def _record(entry: Mapping[str, Any], feed_name: str | None, language: str | None) -> NewsItem:
        title = html_to_text(entry.get("title"))
        published = _iso(entry.get("published_parsed") or entry.get("updated_parsed"))
        summary = entry.get("summary") or ""
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        link = entry.get("link") or None
        key = entry.get("id") or link
        if not key:
            basis = f"{title}|{published or ''}".encode()
            key = "sha:" + hashlib.blake2b(basis, digest_size=12).hexdigest()
        extra: dict[str, Any] = {}
        if entry.get("author"):
            extra["author"] = entry["author"]
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        if tags:
            extra["categories"] = tags
        entry_lang = None
        detail = entry.get("title_detail") or entry.get("summary_detail") or {}
        if isinstance(detail, Mapping):
            entry_lang = detail.get("language")
        return NewsItem(
            key=str(key).strip(),
            title_text=title,
            published=published,
            link=link,
            summary=html_to_text(summary),
            feed=feed_name,
            language=entry_lang or language,
            extra=extra,
        )
