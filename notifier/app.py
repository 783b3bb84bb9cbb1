"""Building the service's context once per process: settings, schema, sources, adapters."""

from __future__ import annotations

from notifier.config import SourceConfig, load_sources
from notifier.errors import ConfigError
from notifier.pipeline import Context
from notifier.registry import adapters
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


def build_context(settings: Settings | None = None, *, with_routing: bool = True) -> Context:
    """Migrate the database and load the configuration; fails early with a message naming what is wrong."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    ctx = Context(settings=settings, engine=get_engine(settings.db_url), sources=load_source_configs(settings))
    if with_routing:
        from notifier.wiring import attach_routing

        attach_routing(ctx)
    return ctx
