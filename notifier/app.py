"""Building the service once per process: settings, schema, sources, adapters, subscribers, hooks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.render import SourceMeta
from notifier.alerts.router import ops_rows, route_changes
from notifier.alerts.subscriptions import ChannelPolicy, Subscriber, load_subscribers
from notifier.config import SourceConfig, load_sources
from notifier.errors import ConfigError
from notifier.ingest.pipeline import Context
from notifier.ingest.registry import adapters
from notifier.screening.news import Rules, assess, load_rules, news_text, story_keys
from notifier.screening.party_index import PartyIndex
from notifier.screening.watchlists import sync_watchlists, watchlist_rows
from notifier.settings import Settings, get_settings
from notifier.store.db import get_engine, migrate
from notifier.store.models import Delivery, Record, Snapshot, SourceState
from notifier.store.repo import ChangeRow
from notifier.timeutil import utcnow


def load_source_configs(settings: Settings) -> dict[str, SourceConfig]:
    """Sources from the file, checked against the installed adapters and the parts each accepts."""
    installed = adapters()
    sources = load_sources(settings.sources_file, set(installed))
    problems = []
    for sid, cfg in sources.items():
        allowed = installed[cfg.adapter].parts
        for part in cfg.parts:
            if part not in allowed or part == "main":
                problems.append(
                    f"{settings.sources_file}: sources.{sid}.parts.{part}: adapter {cfg.adapter} takes the parts "
                    f"{', '.join(p for p in allowed if p != 'main') or '(none besides url)'}"
                )
    if problems:
        raise ConfigError("\n".join(problems))
    return sources


@dataclass
class Service(Context):
    """The pipeline's context plus who gets alerts: what workers, beat and the CLI share."""

    subscribers: list[Subscriber] = field(default_factory=list)
    metas: dict[str, SourceMeta] = field(default_factory=dict)
    _news_rules: Rules | None = field(default=None, repr=False)
    _party_index: PartyIndex | None = field(default=None, repr=False)
    _party_marker: tuple = field(default=(), repr=False)

    def meta(self, source_id: str) -> SourceMeta:
        return self.metas.get(source_id) or SourceMeta(source_id, source_id, "", "designation")

    def route_snapshot(self, session: Session, changes: list[ChangeRow], snapshot: Snapshot) -> list[dict]:
        meta = self.meta(snapshot.source)
        named: dict[int, set[str]] = {}
        if meta.kind == "news":
            changes, named = self.sanctions_news(session, changes, snapshot)
        rows = (
            route_changes(self.subscribers, changes, meta, snapshot.id, snapshot.fetched_at, named) if changes else []
        )
        rows += watchlist_rows(session, self.subscribers, changes, snapshot.id, snapshot.fetched_at)
        if snapshot.moved:
            moved = json.loads(snapshot.notes or "{}").get("moved", [])
            shown = "\n".join(f"{old} -> {new}" for old, new in moved[:50])
            rows += ops_rows(
                self.subscribers,
                key=f"moved:{snapshot.id}",
                now=snapshot.fetched_at,
                title=f"{meta.title}: {snapshot.moved} records renumbered by the publisher",
                body=f"Matched by content, so no subscriber was alerted (old -> new key):\n{shown}",
            )
        return rows

    def sanctions_news(
        self, session: Session, changes: list[ChangeRow], snapshot: Snapshot
    ) -> tuple[list[ChangeRow], dict[int, set[str]]]:
        """New items that are sanctions news and not a story already seen in another feed (or re-posted)."""
        seen: set[str] = set()
        recent = session.execute(
            select(Record.payload).where(
                Record.kind == "news",
                Record.first_seen >= snapshot.fetched_at - timedelta(days=self.settings.news_dedupe_days),
                Record.first_seen < snapshot.fetched_at,
            )
        ).scalars()
        for payload in recent:
            seen |= story_keys(json.loads(payload))
        kept, named = [], {}
        for change in changes:
            if change.change != "added" or not change.after:
                continue  # an item edited in place or scrolled away alerts nobody again
            keys = story_keys(change.after)
            if keys & seen:
                continue
            seen |= keys
            verdict = assess(news_text(change.after), self.news_rules)
            if verdict.relevant:
                kept.append(change)
                named[change.id] = set(verdict.jurisdictions)
        return kept, named

    @property
    def news_rules(self) -> Rules:
        if self._news_rules is None:
            self._news_rules = load_rules(self.settings.news_rules_file)
        return self._news_rules

    def party_index(self) -> PartyIndex:
        """The index of listed names, rebuilt when a designation list has changed since it was built."""
        designation_sources = {sid: m.title for sid, m in self.metas.items() if m.kind == "designation"}
        with Session(self.engine) as session:
            marker = tuple(
                session.execute(
                    select(SourceState.source, SourceState.revision)
                    .where(SourceState.source.in_(list(designation_sources)))
                    .order_by(SourceState.source)
                ).all()
            )
        if self._party_index is None or self._party_marker != marker:
            self._party_index = PartyIndex(designation_sources).load(self.engine)
            self._party_marker = marker
        return self._party_index

    def news_notes(self, payload: dict) -> list[str]:
        """What a news alert says under its headline: measures, jurisdictions, goods, listed parties."""
        text = news_text(payload)
        verdict = assess(text, self.news_rules)
        if verdict.relevant:
            verdict.parties = self.party_index().find(text)
        return verdict.lines()

    def alert_ops(self, session: Session, snapshot: Snapshot, cfg: SourceConfig) -> None:
        """Quarantines alert ops every time; failed polls once a streak reaches the threshold."""
        meta = self.meta(cfg.id)
        if snapshot.status == "quarantined":
            title = f"{meta.title}: snapshot quarantined"
            body = f"Snapshot {snapshot.id} of {cfg.id} was quarantined; no subscriber was alerted.\n{snapshot.reason}"
            key = f"quarantined:{snapshot.id}"
        elif (lost := json.loads(snapshot.notes or "{}").get("discovery_failed")) and _first_failure(session, cfg.id):
            # A redesigned page fails every poll until someone updates the rule: say so at once, not after a streak.
            title = f"{meta.title}: its file can no longer be found on {lost['page']}"
            body = (
                f"{cfg.id}: {lost['why']} on {lost['page']} (rule: {lost['rule']}). The page may have been "
                "redesigned or moved; no subscriber was alerted and the stored list is unchanged. Update the "
                f"source's discover: rule in {self.settings.sources_file}, or poll once from another page: "
                f"notifier poll {cfg.id} --url PAGE"
            )
            key = f"discovery:{snapshot.id}"
        else:
            state = session.get(SourceState, cfg.id)
            if state is None or state.consecutive_failures != self.settings.ops_failure_threshold:
                return
            title = f"{meta.title}: {state.consecutive_failures} failed polls in a row"
            body = f"{cfg.id} has failed {state.consecutive_failures} polls in a row. Last error: {snapshot.reason}"
            key = f"failing:{snapshot.id}"
        rows = ops_rows(self.subscribers, key=key, title=title, body=body, now=utcnow())
        if rows:
            session.execute(Delivery.__table__.insert(), rows)


def _first_failure(session: Session, source: str) -> bool:
    state = session.get(SourceState, source)
    return state is not None and state.consecutive_failures == 1


def source_metas(sources: dict[str, SourceConfig]) -> dict[str, SourceMeta]:
    installed = adapters()
    metas = {}
    for sid, cfg in sources.items():
        cls = installed[cfg.adapter]
        metas[sid] = SourceMeta(
            id=sid,
            title=cfg.title or cls.short_title or cls.title,
            jurisdiction=cls.jurisdiction,
            kind=cls.kind,
            url=cfg.options.get("page_url") or cfg.url if cfg.url.startswith("http") else None,
        )
    return metas


def build_service(settings: Settings | None = None, *, with_subscribers: bool = True) -> Service:
    """Migrate the database and load the configuration; fails early with a message naming what is wrong."""
    settings = settings or get_settings()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"NOTIFIER_DATA_DIR: cannot use {settings.data_dir} ({exc.strerror}); point it at a writable folder"
        ) from None
    migrate(settings.db_url)
    sources = load_source_configs(settings)
    svc = Service(settings=settings, engine=get_engine(settings.db_url), sources=sources, metas=source_metas(sources))
    if with_subscribers:
        policy = ChannelPolicy.from_settings(settings.channel_schemes, settings.channel_allow_private)
        svc.subscribers = load_subscribers(settings.subscriptions_file, set(sources), policy=policy)
        sync_watchlists(svc.engine, svc.subscribers, settings.subscriptions_file.parent)
        svc.router = svc.route_snapshot
        svc.ops_hook = svc.alert_ops
    return svc
