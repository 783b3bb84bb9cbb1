"""Discovery at poll time: the pages fetched like files, what they link remembered, new documents announced.

A watched page that links a document it did not link before has published something: that is a change of kind
`publication` (one per new document, keyed by its URL), committed with its alerts in its own snapshot (status
"published") before the file itself is fetched, parsed and diffed: the earliest warning an official source
gives. The first discovery of a source only learns what the pages link (no events, like a first snapshot).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from notifier.config import SourceConfig
from notifier.context import Context
from notifier.ingest.canonical import dumps
from notifier.ingest.discovery import Found, Link, Page, discover
from notifier.redact import scrub
from notifier.store.changes import Change
from notifier.store.models import Snapshot, SourceState
from notifier.store.repo import get_state, write_changes
from notifier.timeutil import utcnow

PAGE_CAP = 50 * 1024 * 1024  # a landing page is read into memory: never more than this, whatever the file cap
SEEN_LIMIT = 2000  # links remembered per source


def url_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass
class PageFetcher:
    """Fetches pages as parts are fetched: conditional GET with the validators of the copy in the archive."""

    ctx: Context
    known: dict[str, dict[str, Any]]  # url id -> validators and sha256 of the last copy

    def __call__(self, url: str) -> Page:
        ctx, key = self.ctx, url_id(url)
        last = self.known.get(key, {})
        usable = bool(last.get("sha256")) and ctx.archive.has(last["sha256"])
        got = ctx.fetch(
            "page",
            url,
            etag=last.get("etag") if usable else None,
            last_modified=last.get("last_modified") if usable else None,
            max_bytes=min(ctx.settings.max_download_bytes, PAGE_CAP),
        )
        if got.not_modified:
            path = ctx.archive.restore(last["sha256"], ctx.tmp_dir)
            final = last.get("final_url") or url
        else:
            path = got.path
            ctx.archive.put(path, got.sha256)
            final = got.final_url or url
            self.known[key] = {
                "sha256": got.sha256,
                "etag": got.etag,
                "last_modified": got.last_modified,
                "final_url": final,
            }
        try:
            return Page(final, path.read_bytes())
        finally:
            path.unlink(missing_ok=True)


def _file_name(url: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).name or url


def publication_payload(cfg_title: str, link: Link) -> dict[str, Any]:
    """The synthetic record a publication change carries: what was linked, from where."""
    shown = link.text or _file_name(link.url)
    if _file_name(link.url) not in shown:
        shown = f"{shown} ({_file_name(link.url)})"
    return {
        "kind": "publication",
        "key": link.url,
        "title_text": f"{cfg_title}: new document published: {shown}",
        "link_text": link.text,
        "url": link.url,
        "page": link.page,
    }


def discover_source(ctx: Context, cfg: SourceConfig, start: str, title: str) -> tuple[Found, list[Change]]:
    """Find the source's current file from `start`; new documents on the pages become publication changes.

    Raises DiscoveryFailed or FetchError; nothing is written then (the caller records the failed poll).
    """
    with Session(ctx.engine) as session:
        state = session.get(SourceState, cfg.id)
        stored = json.loads(state.discovery) if state is not None and state.discovery else {}
    fetcher = PageFetcher(ctx, dict(stored.get("pages") or {}))
    found = discover(start, cfg.discover, fetcher)
    changes = record(ctx, cfg, found, stored, fetcher.known, title)
    return found, changes


def record(
    ctx: Context,
    cfg: SourceConfig,
    found: Found,
    stored: dict[str, Any],
    pages: dict[str, dict[str, Any]],
    title: str,
) -> list[Change]:
    """Remember what the pages link; announce (changes + routed alerts) the documents not seen before."""
    first = "links" not in stored
    seen = list(stored.get("links") or [])
    known = set(seen)
    new: list[Link] = []
    for link in found.announced:
        if link.url not in known:
            known.add(link.url)
            seen.append(link.url)
            new.append(link)
    now = utcnow()
    discovery = {
        "url": scrub(found.url),
        "pages": pages,
        "links": seen[-SEEN_LIMIT:],
        "trail": [scrub(p) for p in found.pages],
        "at": now.isoformat(),
    }
    rows: list[Change] = []
    with Session(ctx.engine, expire_on_commit=False) as session, session.begin():
        get_state(session, cfg.id)
        session.execute(update(SourceState).where(SourceState.source == cfg.id).values(discovery=dumps(discovery)))
        if first or not new:
            return []
        snapshot = Snapshot(
            source=cfg.id,
            fetched_at=now,
            status="published",
            reason=f"{len(new)} new document(s) linked from {scrub(new[0].page)}",
            discovered_url=scrub(found.url),
            added=len(new),
        )
        session.add(snapshot)
        session.flush()
        values = []  # change rows, written by the store and routed like any other change
        for link in new:
            payload = publication_payload(title, link)
            values.append(
                dict(
                    source=cfg.id,
                    snapshot_id=snapshot.id,
                    key=link.url[:300],
                    kind="publication",
                    change="added",
                    name=payload["title_text"],
                    before=None,
                    after=dumps(payload),
                    fields=None,
                    created_at=now,
                )
            )
        rows = write_changes(session, values)
        if ctx.router is not None:
            ctx.router.route(session, rows, snapshot)
    return rows
