"""Discovery of source adapters through the `sanctions_notifier.sources` entry-point group.

Third-party packages register adapters the same way as ours, so the core never imports a source by name.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from notifier.adapter import Adapter

GROUP = "sanctions_notifier.sources"


class UnknownAdapter(LookupError):
    pass


@cache
def _load() -> tuple[dict[str, type[Adapter]], dict[str, str]]:
    found: dict[str, type[Adapter]] = {}
    broken: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party adapter must not take the others down
            broken[ep.name] = f"{ep.value}: {type(exc).__name__}: {exc}"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            broken[ep.name] = f"{ep.value} is not an Adapter subclass"
            continue
        found[ep.name] = cls
    return found, broken


def adapters() -> dict[str, type[Adapter]]:
    """Registered adapters by entry-point name."""
    return dict(_load()[0])


def broken_adapters() -> dict[str, str]:
    """Entry points that failed to load, with the reason (shown by `notifier sources`)."""
    return dict(_load()[1])


def get_adapter(name: str) -> type[Adapter]:
    found, broken = _load()
    if name in found:
        return found[name]
    if name in broken:
        raise UnknownAdapter(f"adapter {name!r} failed to load: {broken[name]}")
    raise UnknownAdapter(f"no adapter {name!r} is installed (known: {', '.join(sorted(found)) or 'none'})")


def refresh() -> None:
    """Forget cached entry points (after installing a package at run time, and in tests)."""
    _load.cache_clear()
