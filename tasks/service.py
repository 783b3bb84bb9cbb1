"""The service a worker process uses, built once after fork (settings, engine, subscribers)."""

from __future__ import annotations

from functools import cache

from notifier.app import Service, build_service


@cache
def service() -> Service:
    return build_service()
