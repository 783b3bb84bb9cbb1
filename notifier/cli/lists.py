"""Commands over the lists: migrate, sources, poll, replay, changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as rich_escape
from rich.table import Table

from notifier.cli.common import (
    EXIT_QUARANTINED,
    app,
    context,
    err,
    every,
    fail,
    out,
    print_json_lines,
    print_table,
    require_source,
    when,
)
from notifier.redact import scrub


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done at every start)."""
    ctx = context(with_routing=False)
    out.print(f"schema up to date: {scrub(ctx.settings.db_url)}")


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False) -> None:
    """Each configured source with its last poll, last success, records, last change and status."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from notifier.ingest.discovery import describe_all
    from notifier.ingest.quarantine import list_quarantined
    from notifier.ingest.registry import adapters, broken_adapters
    from notifier.store.models import SourceState

    ctx = context(with_routing=False)
    installed = adapters()
    with Session(ctx.engine) as session:
        states = {s.source: s for s in session.execute(select(SourceState)).scalars()}
    pending: dict[str, list] = {}
    for q in list_quarantined(ctx.engine):  # newest first
        pending.setdefault(q.source, []).append(q)
    rows = []
    for sid, cfg in sorted(ctx.sources.items()):
        cls = installed[cfg.adapter]
        st = states.get(sid)
        found = json.loads(st.discovery) if st and st.discovery else {}
        rows.append(
            {
                "source": sid,
                "title": cls.title,
                "jurisdiction": cls.jurisdiction,
                "kind": cls.kind,
                "enabled": cfg.enabled,
                "url": scrub(cfg.url),
                "discovery": describe_all(cfg.discover) if cfg.discover else None,
                "discovered_url": scrub(found["url"]) if found.get("url") else None,
                "discovered_at": found.get("at"),
                "schedule_s": cfg.schedule,
                "last_poll": when(st.last_poll_at) if st else "-",
                "last_success": when(st.last_success_at) if st else "-",
                "records": st.record_count if st else None,
                "last_change": when(st.last_change_at) if st else "-",
                "status": "disabled" if not cfg.enabled else (st and st.last_status) or "never polled",
                "failures": st.consecutive_failures if st else 0,
                "last_error": scrub(st.last_error or "") if st else "",
                "quarantined": [
                    {"snapshot": q.id, "reason": scrub(q.reason), "review": f"notifier quarantine show {q.id}"}
                    for q in pending.get(sid, [])
                ],
            }
        )
    for name, why in broken_adapters().items():  # on stderr, so that --json output stays parseable
        err.print(f"warning: adapter {name} could not be loaded: {why}", markup=False)
    if as_json:
        print_json_lines(rows)
        return
    table = Table(title="Sources (details and URLs: --json)", show_lines=False)
    for col in ("source", "juris.", "every", "found", "last success", "records", "last change", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status = r["status"] + (f" ({r['failures']} failures: {r['last_error']})" if r["failures"] else "")
        if r["quarantined"]:
            latest = r["quarantined"][0]
            waiting = f" ({len(r['quarantined'])} awaiting review)" if len(r["quarantined"]) > 1 else ""
            status += f"\nsnapshot {latest['snapshot']} held{waiting}: {latest['reason']}; {latest['review']}"
        colour = {"accepted": "green", "unchanged": "green", "quarantined": "yellow", "failed": "red"}.get(
            r["status"], "dim"
        )
        table.add_row(
            r["source"],
            r["jurisdiction"],
            every(r["schedule_s"]),
            _how_found(r),
            r["last_success"],
            str(r["records"] if r["records"] is not None else "-"),
            r["last_change"],
            f"[{colour}]{rich_escape(status)}[/]",  # errors and reasons are data, never markup
        )
    out.print(table)


def _how_found(row: dict) -> str:
    """A fixed URL, or the landing page, its rule and the last file it led to (shown as data, not markup)."""
    if not row["discovery"]:
        return "fixed URL"
    text = f"from {row['url']}: {row['discovery']}\nlast: {row['discovered_url'] or '(not yet)'}"
    return rich_escape(text)


@app.command()
def poll(
    source: Annotated[str, typer.Argument(help="Source id from config/sources.yaml.")],
    url: Annotated[
        str | None,
        typer.Option(
            help="Fetch the main part from this URL or file instead; for a source that discovers its file, "
            "start discovery from this page."
        ),
    ] = None,
    part: Annotated[
        list[str] | None,
        typer.Option(
            "--part",
            help="Another part from this URL or file, as NAME=URL (repeatable). Parts not given come from the "
            "last accepted snapshot's stored copy.",
        ),
    ] = None,
) -> None:
    """Poll one source now, through the whole pipeline, print what happened and send its alerts at once.

    Exit codes: 0 accepted or unchanged, 1 failed, 3 quarantined (nobody alerted; see `notifier quarantine`).
    """
    from notifier.alerts.deliver import send_now
    from notifier.alerts.outbox import last_id, pending_since
    from notifier.ingest.pipeline import poll as run_poll
    from notifier.ingest.registry import get_adapter

    ctx = context()
    require_source(ctx, source)
    before = last_id(ctx.engine)
    urls = {"main": url} if url else {}
    allowed = get_adapter(ctx.sources[source].adapter).parts
    for item in part or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            fail(f"--part {item!r}: write NAME=URL, e.g. --part alt=alt.csv")
        if name not in allowed or name == "main":
            fail(f"--part {name}: {source} takes the parts {', '.join(p for p in allowed if p != 'main') or '(none)'}")
        urls[name] = value
    if urls and "main" not in urls:
        fail("--part needs --url for the main part (or poll without either to fetch the configured URLs)")
    if url and not part and ctx.sources[source].discover:
        result = run_poll(ctx, source, start_page=url)
    else:
        result = run_poll(ctx, source, urls or None)
    out.print(f"{source}: {result.summary()}", markup=False)
    if ctx.sources[source].discover and result.snapshot_id is not None:
        from sqlalchemy.orm import Session

        from notifier.store.models import Snapshot

        with Session(ctx.engine) as session:
            found = session.get(Snapshot, result.snapshot_id)
        if found is not None and found.discovered_url:
            out.print(f"found: {found.discovered_url}", markup=False)
    if result.snapshot_id is not None:
        sent = send_now(ctx, pending_since(ctx.engine, before, result.snapshot_id))
        if sent:
            out.print("alerts: " + ", ".join(f"{n} {s}" for s, n in sorted(sent.items())), markup=False)
    if result.status == "failed":
        raise typer.Exit(1)
    if result.status == "quarantined":
        raise typer.Exit(EXIT_QUARANTINED)


@app.command()
def replay(
    source: Annotated[str, typer.Argument(help="Source id.")],
    files: Annotated[list[Path], typer.Argument(help="Archived snapshots, oldest first.")],
) -> None:
    """Feed archived snapshots, in the order given, as successive polls (backfill, testing).

    Stops at the first snapshot not accepted. Exit codes as `poll`: 0 all accepted or unchanged, 1 failed,
    3 quarantined (nobody alerted; the rest of the files are not replayed against the wrong state).
    """
    from notifier.ingest.pipeline import poll as run_poll

    for f in files:
        if not f.is_file():
            fail(f"{f}: no such file")
    ctx = context()
    require_source(ctx, source)
    for f in files:
        result = run_poll(ctx, source, {"main": str(f.resolve())})
        out.print(f"{f.name}: {result.summary()}", markup=False)
        if result.status == "failed":
            raise typer.Exit(1)
        if result.status == "quarantined":
            raise typer.Exit(EXIT_QUARANTINED)


@app.command()
def changes(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    since: Annotated[str | None, typer.Option(help="Only changes on or after this date (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Recorded change events, newest first."""
    from notifier.store.models import Change, Snapshot

    since_dt = None
    if since:
        try:
            since_dt = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r}: use a date like 2025-12-31")
        if since_dt.tzinfo is None:
            since_dt = since_dt.replace(tzinfo=UTC)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    ctx = context(with_routing=False)
    if source:
        require_source(ctx, source)
    stmt = select(Change, Snapshot.fetched_at).join(Snapshot, Snapshot.id == Change.snapshot_id)
    if source:
        stmt = stmt.where(Change.source == source)
    if since_dt:
        stmt = stmt.where(Change.created_at >= since_dt)
    stmt = stmt.order_by(Change.id.desc()).limit(limit)
    with Session(ctx.engine) as session:
        rows = session.execute(stmt).all()
    if as_json:
        print_json_lines(
            {
                "id": change.id,
                "source": change.source,
                "key": change.key,
                "kind": change.kind,
                "change": change.change,
                "name": change.name,
                "snapshot": change.snapshot_id,
                "snapshot_time": fetched_at.isoformat(),
                "published_on": change.published_on,  # the publication's own date, when known
                "publication_id": change.publication_id,
                "fields": json.loads(change.fields) if change.fields else [],
            }
            for change, fetched_at in rows
        )
        return
    if not rows:
        out.print("no change events recorded")
        return
    print_table(
        ("when", "source", "change", "key", "name", "fields"),
        (
            (
                when(fetched_at),
                change.source,
                change.change,
                change.key,
                change.name,
                ", ".join(f["field"] for f in json.loads(change.fields)) if change.fields else "",
            )
            for change, fetched_at in rows
        ),
        title="Changes (newest first)",
    )
