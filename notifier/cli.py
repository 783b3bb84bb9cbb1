"""The `notifier` command. Every error a user can cause prints one line on stderr and exits non-zero."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.errors import NotifierError
from notifier.redact import scrub

app = typer.Typer(
    name="notifier",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Poll official sanctions lists, diff them record by record, alert subscribers.",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    err.print(f"error: {scrub(message)}", markup=False)
    raise typer.Exit(code)


def _context(with_routing: bool = True):  # noqa: ANN202 - imported lazily so `--help` stays fast
    from notifier.app import build_service
    from notifier.logs import setup_logging
    from notifier.settings import get_settings

    settings = get_settings()
    setup_logging(settings)
    return build_service(settings, with_subscribers=with_routing)


def _source(ctx, source: str) -> None:  # noqa: ANN001
    if source not in ctx.sources:
        fail(f"unknown source {source!r}; configured sources: {', '.join(sorted(ctx.sources))}")


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done at every start)."""
    ctx = _context(with_routing=False)
    out.print(f"schema up to date: {scrub(ctx.settings.db_url)}")


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False) -> None:
    """Each configured source with its last poll, last success, records, last change and status."""
    from notifier.registry import adapters, broken_adapters
    from notifier.store.models import SourceState

    ctx = _context(with_routing=False)
    installed = adapters()
    with Session(ctx.engine) as session:
        states = {s.source: s for s in session.execute(select(SourceState)).scalars()}
    rows = []
    for sid, cfg in sorted(ctx.sources.items()):
        cls = installed[cfg.adapter]
        st = states.get(sid)
        rows.append(
            {
                "source": sid,
                "title": cls.title,
                "jurisdiction": cls.jurisdiction,
                "kind": cls.kind,
                "enabled": cfg.enabled,
                "url": scrub(cfg.url),
                "schedule_s": cfg.schedule,
                "last_poll": _when(st.last_poll_at) if st else "-",
                "last_success": _when(st.last_success_at) if st else "-",
                "records": st.record_count if st else None,
                "last_change": _when(st.last_change_at) if st else "-",
                "status": (st.last_status or "never polled") if st else "never polled",
                "failures": st.consecutive_failures if st else 0,
                "last_error": scrub(st.last_error or "") if st else "",
            }
        )
    for name, why in broken_adapters().items():  # on stderr, so that --json output stays parseable
        err.print(f"warning: adapter {name} could not be loaded: {why}", markup=False)
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table(title="Sources (details and URLs: --json)", show_lines=False)
    for col in ("source", "juris.", "every", "last success", "records", "last change", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status = r["status"] + (f" ({r['failures']} failures: {r['last_error']})" if r["failures"] else "")
        colour = {"accepted": "green", "unchanged": "green", "quarantined": "yellow", "failed": "red"}.get(
            r["status"], "dim"
        )
        table.add_row(
            r["source"],
            r["jurisdiction"],
            f"{int(r['schedule_s'])}s",
            r["last_success"],
            str(r["records"] if r["records"] is not None else "-"),
            r["last_change"],
            f"[{colour}]{status}[/]",
        )
    out.print(table)


@app.command()
def poll(
    source: Annotated[str, typer.Argument(help="Source id from config/sources.yaml.")],
    url: Annotated[str | None, typer.Option(help="Fetch the main part from this URL or file instead.")] = None,
) -> None:
    """Poll one source now, through the whole pipeline, and print what happened."""
    from notifier.pipeline import poll as run_poll

    ctx = _context()
    _source(ctx, source)
    result = run_poll(ctx, source, {"main": url} if url else None)
    out.print(f"{source}: {result.summary()}", markup=False)
    if result.status == "failed":
        raise typer.Exit(1)


@app.command()
def replay(
    source: Annotated[str, typer.Argument(help="Source id.")],
    files: Annotated[list[Path], typer.Argument(help="Archived snapshots, oldest first.")],
) -> None:
    """Feed archived snapshots, in the order given, as successive polls (backfill, testing)."""
    from notifier.pipeline import poll as run_poll

    for f in files:
        if not f.is_file():
            fail(f"{f}: no such file")
    ctx = _context()
    _source(ctx, source)
    for f in files:
        result = run_poll(ctx, source, {"main": str(f.resolve())})
        out.print(f"{f.name}: {result.summary()}", markup=False)


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
    ctx = _context(with_routing=False)
    if source:
        _source(ctx, source)
    stmt = select(Change, Snapshot.fetched_at).join(Snapshot, Snapshot.id == Change.snapshot_id)
    if source:
        stmt = stmt.where(Change.source == source)
    if since_dt:
        stmt = stmt.where(Change.created_at >= since_dt)
    stmt = stmt.order_by(Change.id.desc()).limit(limit)
    with Session(ctx.engine) as session:
        rows = session.execute(stmt).all()
    if as_json:
        for change, fetched_at in rows:
            out.print(
                json.dumps(
                    {
                        "id": change.id,
                        "source": change.source,
                        "key": change.key,
                        "kind": change.kind,
                        "change": change.change,
                        "name": change.name,
                        "snapshot": change.snapshot_id,
                        "snapshot_time": fetched_at.isoformat(),
                        "fields": json.loads(change.fields) if change.fields else [],
                    },
                    ensure_ascii=False,
                ),
                markup=False,
            )
        return
    if not rows:
        out.print("no change events recorded")
        return
    table = Table(title="Changes (newest first)")
    for col in ("when", "source", "change", "key", "name", "fields"):
        table.add_column(col, overflow="fold")
    for change, fetched_at in rows:
        fields = ", ".join(f["field"] for f in json.loads(change.fields)) if change.fields else ""
        table.add_row(_when(fetched_at), change.source, change.change, change.key, change.name, fields)
    out.print(table)


def main() -> None:
    """Entry point: one clear line for every error a user can cause."""
    try:
        app()
    except NotifierError as exc:
        err.print(f"error: {scrub(str(exc))}", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


# --- the running service ------------------------------------------------------------------------------------------
def _celery_app():  # noqa: ANN202
    _context(with_routing=True)  # fail early, with one line, on any config problem
    from tasks.app import app as celery_app

    return celery_app


def _worker_argv(queues: str, concurrency: int | None, beat: bool) -> list[str]:
    from notifier.settings import get_settings

    settings = get_settings()
    argv = [
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency or settings.worker_concurrency),
        "--loglevel",
        settings.log_level,
        "-E",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv.append("-B")
    return argv


@app.command()
def run(
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default NOTIFIER_WORKER_CONCURRENCY).")
    ] = None,
) -> None:
    """Worker and beat in one process, for one machine (embedded broker and SQLite unless configured)."""
    celery_app = _celery_app()
    celery_app.worker_main(_worker_argv("poll,deliver", concurrency, beat=True))


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Queues to consume: poll, deliver or both.")] = "poll,deliver",
    concurrency: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """A worker without beat, for deployments with several workers (scale with more processes or hosts)."""
    for q in queues.split(","):
        if q not in ("poll", "deliver"):
            fail(f"--queues: unknown queue {q!r}; use poll, deliver or poll,deliver")
    celery_app = _celery_app()
    celery_app.worker_main(_worker_argv(queues, concurrency, beat=False))


@app.command()
def beat() -> None:
    """The scheduler alone (celery-redbeat with Redis: several beat processes still schedule each poll once)."""
    from notifier.settings import get_settings

    celery_app = _celery_app()
    celery_app.start(["beat", "--loglevel", get_settings().log_level])


subs_app = typer.Typer(help="Check and test config/subscriptions.yaml.", no_args_is_help=True)
app.add_typer(subs_app, name="subscriptions")


@subs_app.command("check")
def subscriptions_check() -> None:
    """Validate the subscriptions file; every problem names the subscriber, the key and the fix."""
    svc = _context(with_routing=True)
    for sub in svc.subscribers:
        kinds = ", ".join(sorted({sub.channel_format(ch) for ch in sub.channels}))
        out.print(f"{sub.name}: {len(sub.channels)} channel(s) ({kinds}), tags {sub.tags or '-'}", markup=False)
    out.print(f"ok: {len(svc.subscribers)} subscriber(s) in {svc.settings.subscriptions_file}", markup=False)


@subs_app.command("test")
def subscriptions_test(name: Annotated[str, typer.Argument(help="Subscriber name.")]) -> None:
    """Send a test alert to every channel of one subscriber, now, and report each result."""
    from notifier.deliver import send
    from notifier.render import render_text

    svc = _context(with_routing=True)
    sub = next((s for s in svc.subscribers if s.name == name), None)
    if sub is None:
        fail(f"unknown subscriber {name!r}; configured: {', '.join(s.name for s in svc.subscribers) or 'none'}")
    failures = 0
    for ch in sub.channels:
        message = render_text(
            "sanctions-notifier: test alert",
            f"This is a test alert for subscriber {sub.name}. If you read this, the channel works.",
            sub.channel_format(ch),
        )
        error = send(ch, message, svc.settings.delivery_timeout)
        failures += bool(error)
        out.print(f"{ch.scheme}:// channel {ch.id}: {'sent' if not error else 'FAILED: ' + error}", markup=False)
    if failures:
        raise typer.Exit(1)


@app.command()
def deliver() -> None:
    """Send every due outbox row now, in this process (no worker needed)."""
    from notifier.deliver import deliver_one
    from notifier.outbox import due

    svc = _context(with_routing=True)
    counts: dict[str, int] = {}
    pending = due(svc.engine)
    while pending:
        for delivery_id in pending:
            status = deliver_one(svc, delivery_id).status
            counts[status] = counts.get(status, 0) + 1
        pending = [i for i in due(svc.engine) if i not in pending]
    out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due", markup=False)

from notifier import cli_ops, cli_watchlist  # noqa: E402,F401
