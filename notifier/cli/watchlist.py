"""`notifier watchlist import|show`: load a subscriber's counterparties, see what is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from notifier.cli.common import app, context, fail, out, print_json_lines, print_table

watchlist_app = typer.Typer(help="Subscribers' watchlists of counterparties (fuzzy-matched to designations).")
app.add_typer(watchlist_app, name="watchlist")


def _subscriber(svc, name: str):  # noqa: ANN001, ANN202
    sub = next((s for s in svc.subscribers if s.name == name), None)
    if sub is None:
        fail(f"unknown subscriber {name!r}; configured: {', '.join(s.name for s in svc.subscribers) or 'none'}")
    return sub


@watchlist_app.command("import")
def watchlist_import(
    subscriber: Annotated[str, typer.Argument(help="Subscriber name from config/subscriptions.yaml.")],
    file: Annotated[Path, typer.Argument(help="CSV with a header row: name, country, dob, identifiers, reference...")],
) -> None:
    """Replace the subscriber's watchlist with FILE; bad rows are listed by line and the rest is kept."""
    from notifier.screening.watchlists import import_watchlist

    if not file.is_file():
        fail(f"{file}: no such file")
    svc = context(with_routing=True)
    sub = _subscriber(svc, subscriber)
    result = import_watchlist(svc.engine, sub, file.read_bytes(), label=str(file), source_file=str(file.resolve()))
    for line in [*result.warnings, *result.problems]:
        out.print(f"warning: {line}", markup=False)
    out.print(
        f"{sub.name}: {result.entries} counterparties imported, {len(result.problems)} bad rows left out; "
        f"{result.hits} matches with active designations (report to {len(result.report_ids)} channel(s))",
        markup=False,
    )
    if result.report_ids:
        _send_report(svc, result.report_ids)


def _send_report(svc, ids: list[int]) -> None:  # noqa: ANN001
    """Send the report now, from this process (a CLI-made alert does not wait for the relay)."""
    from notifier.alerts.deliver import send_now

    sent = send_now(svc, ids)
    out.print("report: " + ", ".join(f"{n} {s}" for s, n in sorted(sent.items())), markup=False)


@watchlist_app.command("show")
def watchlist_show(
    subscriber: Annotated[str, typer.Argument(help="Subscriber name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry.")] = False,
) -> None:
    """The subscriber's stored watchlist: when and from what it was imported, and every entry."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from notifier.store.models import Watchlist, WatchlistEntry

    svc = context(with_routing=True)
    sub = _subscriber(svc, subscriber)
    with Session(svc.engine) as session:
        wl = session.get(Watchlist, sub.name)
        entries = list(
            session.execute(
                select(WatchlistEntry).where(WatchlistEntry.subscriber == sub.name).order_by(WatchlistEntry.line)
            ).scalars()
        )
    if wl is None:
        out.print(f"{sub.name}: no watchlist imported (notifier watchlist import {sub.name} FILE)", markup=False)
        return
    if as_json:
        print_json_lines(
            {
                "line": e.line,
                "reference": e.reference,
                "name": e.name,
                "aliases": json.loads(e.aliases),
                "type": e.entity_type,
                "countries": json.loads(e.countries),
                "dates": json.loads(e.dates),
                "identifiers": json.loads(e.identifiers),
            }
            for e in entries
        )
        return
    out.print(
        f"{sub.name}: {wl.entries} counterparties from {wl.source_file or '-'} imported "
        f"{wl.imported_at:%Y-%m-%d %H:%M:%SZ} (threshold {sub.watchlist_threshold})",
        markup=False,
    )
    print_table(
        ("line", "reference", "name", "type", "country", "date", "identifiers"),
        (
            (
                e.line,
                e.reference or "",
                e.name,
                e.entity_type or "",
                ", ".join(json.loads(e.countries)),
                ", ".join(json.loads(e.dates)),
                "; ".join(f"{t} {n}" for t, n in json.loads(e.identifiers)),
            )
            for e in entries
        ),
    )


digest_app = typer.Typer(help="Digests of held changes for hourly and daily subscribers.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


@digest_app.command("release")
def digest_release() -> None:
    """Fold every due held change into its digest now (the beat does this each minute); send with `deliver`."""
    from notifier.alerts.digests import release_due

    svc = context(with_routing=True)
    ids = release_due(svc.engine)
    out.print(f"{len(ids)} digest(s) released", markup=False)


@watchlist_app.command("hits")
def watchlist_hits(
    subscriber: Annotated[str, typer.Argument(help="Subscriber name.")],
    status: Annotated[
        str | None, typer.Option("--status", help="Only hits in this state: open, confirmed, false_positive.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
) -> None:
    """Every counterparty/designation pair screening found for the subscriber, with its review status."""
    from notifier.screening.review import list_hits

    svc = context(with_routing=True)
    sub = _subscriber(svc, subscriber)
    hits = list_hits(svc.engine, sub.name, status)
    if as_json:
        print_json_lines(hits)
        return
    print_table(
        ("hit", "status", "counterparty", "designation", "source", "key", "score", "last seen"),
        (
            (
                h["id"],
                h["status"],
                h["entry_name"],
                h["record_name"],
                h["source"],
                h["key"],
                f"{h['score']:.2f}",
                h["last_seen_at"][:19],
            )
            for h in hits
        ),
    )


@watchlist_app.command("review")
def watchlist_review(
    subscriber: Annotated[str, typer.Argument(help="Subscriber name.")],
    hit: Annotated[int, typer.Argument(help="Hit number, as in the alert's title or `notifier watchlist hits`.")],
    false_positive: Annotated[
        bool, typer.Option("--false-positive", help="Not our counterparty: stay quiet until the listing changes.")
    ] = False,
    confirmed: Annotated[bool, typer.Option("--confirmed", help="It is our counterparty.")] = False,
    note: Annotated[str, typer.Option("--note", help="Why (kept in the audit trail).")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: the login name).")] = None,
) -> None:
    """Record a decision on a hit; a false positive alerts nobody again unless the designation's names, dates or
    identifiers change. Every decision is kept with who, when and why."""
    import getpass

    from notifier.screening.review import ReviewError, hit_detail, review_hit

    if false_positive == confirmed:
        fail("say --false-positive or --confirmed (one of them)")
    svc = context(with_routing=True)
    sub = _subscriber(svc, subscriber)
    try:
        if hit_detail(svc.engine, hit)["subscriber"] != sub.name:
            fail(f"hit {hit} is not one of {sub.name}'s hits (see `notifier watchlist hits {sub.name}`)")
        actor = by or getpass.getuser()
        done = review_hit(svc.engine, hit, "false_positive" if false_positive else "confirmed", actor, note)
    except ReviewError as exc:
        fail(str(exc))
    last = done["reviews"][-1]
    out.print(
        f"hit {done['id']} ({done['entry_name']} ~ {done['record_name']}, {done['source']} {done['key']}): "
        f"{last['decision']} by {last['actor']} at {last['at'][:19]}Z" + (f": {last['note']}" if last["note"] else ""),
        markup=False,
    )
