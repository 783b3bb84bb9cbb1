"""`notifier screen FILE`: a counterparty file screened at once against every current designation stored (the
batch check a compliance team runs over its whole customer base)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from notifier.cli.common import app, context, fail, out


@app.command("screen")
def screen(
    file: Annotated[Path, typer.Argument(help="Counterparty CSV (the watchlist format: name, country, dob, ...).")],
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this list (repeat for more); default: every list.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", min=0.0, max=1.0, help="Lowest score reported (default 0.88).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
) -> None:
    """Screen FILE against the current records of every list (or those named); print each hit and why."""
    from notifier.screening.batch import screen_file
    from notifier.screening.matching import DEFAULT_THRESHOLD
    from notifier.screening.watchlists import WatchlistError

    if not file.is_file():
        fail(f"{file}: no such file")
    svc = context(with_routing=False)
    for s in source or []:
        if s not in svc.sources:
            fail(f"unknown source {s!r}; configured sources: {', '.join(sorted(svc.sources))}")
    try:
        result = screen_file(svc.engine, file.read_bytes(), label=str(file), sources=source or None,
                             threshold=DEFAULT_THRESHOLD if threshold is None else threshold)  # fmt: skip
    except WatchlistError as exc:
        fail(str(exc))
    for line in result.problems:
        typer.echo(f"warning: {line}", err=True)
    if as_json:
        for hit in result.hits:
            out.print(json.dumps(hit, ensure_ascii=False), markup=False)
    else:
        table = Table(show_lines=False)
        for col in ("reference", "name", "designation", "source", "key", "score", "why"):
            table.add_column(col, overflow="fold")
        for h in result.hits:
            why = "; ".join(h["why"]["agreed"] + [f"not {d}" for d in h["why"]["disagreed"]])
            cells = (h["reference"], h["name"], h["record_name"], h["source"], h["key"], f"{h['score']:.2f}", why)
            table.add_row(*(escape(str(c)) for c in cells))
        out.print(table)
    typer.echo(
        f"{result.entries} counterparties screened against {result.records} current records of "
        f"{len(result.sources)} list(s): {len(result.hits)} hits on {result.matched} counterparties",
        err=as_json,
    )
