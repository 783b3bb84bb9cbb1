"""What a process shares with every stage it runs: settings, database, sources, HTTP session, the router.

Built once per process by `notifier.app.build_service`; a plain container: the one behaviour here is a
download within the configured bounds, so that every fetch (files, landing pages) uses the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import Engine

from notifier.alerts.render import SourceMeta
from notifier.alerts.router import Router, source_meta
from notifier.config import SourceConfig
from notifier.ingest.archive import Archive
from notifier.ingest.fetch import Fetched, fetch_part
from notifier.screening.party_index import PartyIndexCache
from notifier.settings import Settings


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sources: dict[str, SourceConfig]
    session: requests.Session = field(default_factory=requests.Session)
    metas: dict[str, SourceMeta] = field(default_factory=dict)  # what alerts and pages call each source
    parties: PartyIndexCache | None = None  # listed names, for news items and "also listed by"
    router: Router | None = None  # None: store changes and alert nobody (the CLI's list commands, replays)

    @property
    def archive(self) -> Archive:
        return Archive(self.settings.data_dir / "archive")

    @property
    def tmp_dir(self) -> Path:
        return self.settings.data_dir / "tmp"

    def meta(self, source_id: str) -> SourceMeta:
        return source_meta(self.metas, source_id)

    def fetch(
        self, part: str, url: str, *, etag: str | None, last_modified: str | None, max_bytes: int | None = None
    ) -> Fetched:
        """One download within the configured bounds (files and the pages that lead to them alike)."""
        return fetch_part(
            part,
            url,
            tmp_dir=self.tmp_dir,
            etag=etag,
            last_modified=last_modified,
            user_agent=self.settings.user_agent,
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            deadline_seconds=self.settings.fetch_deadline,
            max_bytes=max_bytes or self.settings.max_download_bytes,
            session=self.session,
        )
