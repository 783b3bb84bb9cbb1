"""`notifier screen FILE`: a counterparty file screened at once against every current designation stored (the
batch check a compliance team runs over its whole customer base)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notifier.cli.common import app, context, fail, print_json_lines, print_table


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
    from notifier.screening.stored_forms import FILE_NAME
    from notifier.screening.watchlists import WatchlistError

    if not file.is_file():
        fail(f"{file}: no such file")
    svc = context(with_routing=False)
    for s in source or []:
        if s not in svc.sources:
            fail(f"unknown source {s!r}; configured sources: {', '.join(sorted(svc.sources))}")
    try:
        result = screen_file(svc.engine, file.read_bytes(), label=str(file), sources=source or None,
                             threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                             forms_file=svc.settings.data_dir / FILE_NAME)  # fmt: skip
    except WatchlistError as exc:
        fail(str(exc))
    for line in result.problems:
        typer.echo(f"warning: {line}", err=True)
    if as_json:
        print_json_lines(result.hits)
    else:
        print_table(
            ("reference", "name", "designation", "source", "key", "score", "why"),
            (
                (h["reference"], h["name"], h["record_name"], h["source"], h["key"], f"{h['score']:.2f}", _why(h))
                for h in result.hits
            ),
        )
    typer.echo(
        f"{result.entries} counterparties screened against {result.records} current records of "
        f"{len(result.sources)} list(s): {len(result.hits)} hits on {result.matched} counterparties",
        err=as_json,
    )


def _why(hit: dict) -> str:
    return "; ".join(hit["why"]["agreed"] + [f"not {d}" for d in hit["why"]["disagreed"]])
