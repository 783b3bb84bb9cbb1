"""What every command group shares: the Typer app, the consoles, one-line failures and the service context."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from notifier.errors import NotifierError
from notifier.redact import scrub

app = typer.Typer(
    name="notifier",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: Typer's rich help costs ~0.25 s of start-up (bench/bench_cli.py)
    help="Poll official sanctions lists, diff them record by record, alert subscribers.",
)
# emoji=False: publisher text and JSON are printed as they are (":warning:" in an error stays those characters)
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def fail(message: str, code: int = 2) -> None:
    err.print(f"error: {scrub(message)}", markup=False)
    raise typer.Exit(code)


def print_json_lines(items: Iterable[Any]) -> None:
    """`--json` output: one JSON object a line, text as it is (never read as markup)."""
    for item in items:
        out.print(json.dumps(item, ensure_ascii=False, default=str), markup=False)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], **table: Any) -> None:
    """A table whose cells are data: publisher text and receivers' errors can hold [brackets] that rich would
    otherwise read as markup (or fail on, for a closing tag that matches nothing)."""
    grid = Table(**table)
    for col in columns:
        grid.add_column(col, overflow="fold")
    for row in rows:
        grid.add_row(*(escape(str(cell)) for cell in row))
    out.print(grid)


def context(with_routing: bool = True):  # noqa: ANN201 - the Service type is imported lazily so `--help` stays fast
    from notifier.app import build_service
    from notifier.ops.logs import setup_logging
    from notifier.settings import get_settings

    settings = get_settings()
    setup_logging(settings)
    return build_service(settings, with_subscribers=with_routing)


def require_source(ctx, source: str) -> None:  # noqa: ANN001
    if source not in ctx.sources:
        fail(f"unknown source {source!r}; configured sources: {', '.join(sorted(ctx.sources))}")


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def every(seconds: float) -> str:
    """A schedule as people write it: 5m, 6h, 1d (the largest unit that divides it), else seconds."""
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


EXIT_QUARANTINED = 3  # `notifier poll`: the snapshot was quarantined (nobody alerted; see `notifier quarantine`)


def main() -> None:
    """Entry point: one clear line for every error a user can cause."""
    try:
        app()
    except NotifierError as exc:
        err.print(f"error: {scrub(str(exc))}", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
