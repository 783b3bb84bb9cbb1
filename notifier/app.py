"""Building the service once per process: settings, schema, sources, adapters, subscribers, the router."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifier.alerts.render import SourceMeta
from notifier.alerts.router import Router
from notifier.alerts.subscriptions import ChannelPolicy, Subscriber, load_subscribers
from notifier.config import SourceConfig, load_sources
from notifier.context import Context
from notifier.errors import ConfigError
from notifier.ingest.registry import adapters
from notifier.screening.news import NewsScreen
from notifier.screening.party_index import PartyIndexCache
from notifier.screening.watchlists import sync_watchlists
from notifier.settings import Settings, get_settings
from notifier.store.db import get_engine, migrate


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
    """The context plus who gets alerts: what workers, beat and the CLI share."""

    subscribers: list[Subscriber] = field(default_factory=list)


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
    engine = get_engine(settings.db_url)
    metas = source_metas(sources)
    parties = PartyIndexCache(engine, {sid: m.title for sid, m in metas.items() if m.kind == "designation"})
    svc = Service(settings=settings, engine=engine, sources=sources, metas=metas, parties=parties)
    if with_subscribers:
        policy = ChannelPolicy.from_settings(settings.channel_schemes, settings.channel_allow_private)
        svc.subscribers = load_subscribers(settings.subscriptions_file, set(sources), policy=policy)
        sync_watchlists(svc.engine, svc.subscribers, settings.subscriptions_file.parent)
        news = NewsScreen(settings.news_rules_file, settings.news_dedupe_days, parties.find)
        svc.router = Router(svc.subscribers, metas, news, settings.ops_failure_threshold, settings.sources_file)
    return svc
