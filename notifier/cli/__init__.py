"""The `notifier` command: one module per command group, all registered on one Typer app."""

from notifier.cli import lists, ops, quarantine, screen, service, watchlist, web  # noqa: F401  (registers the commands)
from notifier.cli.common import app, main

__all__ = ["app", "main"]
