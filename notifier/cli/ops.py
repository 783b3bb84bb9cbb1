"""The commands ops run: status, health checks, metrics, the dead-letter outbox, retention, settings.

Registered on the `notifier` app by the last line of notifier/cli/main.py. Exit codes: 0 healthy or done, 1 unhealthy
(or a send that failed), 2 a usage or configuration error.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from notifier.cli.common import app, context, fail, out, print_json_lines, print_table, when
from notifier.redact import scrub

COLOURS = {
    "ok": "green",
    "alive": "green",
    "scheduling": "green",
    "standby": "cyan",
    "starting": "yellow",
    "disabled": "dim",
    "unhealthy": "red",
    "lost": "red",
    "stalled": "red",
    "replaced": "dim",
}


def _ago(now: datetime, then: datetime | None) -> str:
    from notifier.ops.health import ago

    return "-" if then is None else f"{ago((now - then).total_seconds())} ago"


def status_context():  # noqa: ANN201 - duck-typed Context: settings, engine, sources
    """What a status reads (settings, the database, the sources file), without importing the adapters, the
    subscribers, the matchers that build_service loads or SQLAlchemy: `notifier status --json` in a fraction of
    the time."""
    from importlib.metadata import entry_points
    from types import SimpleNamespace

    from notifier.config import load_sources
    from notifier.ingest.registry import GROUP
    from notifier.ops.logs import setup_logging
    from notifier.settings import get_settings
    from notifier.store.dbapi import schema_is_current

    settings = get_settings()
    setup_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not schema_is_current(settings.db_url):  # Alembic and SQLAlchemy only when there is something to migrate
        from notifier.store.db import migrate

        migrate(settings.db_url)
    sources = load_sources(settings.sources_file, {ep.name for ep in entry_points(group=GROUP)})
    return SimpleNamespace(settings=settings, engine=None, sources=sources)  # status reads with plain DB-API


def _since(iso: str | None) -> str:
    return f" since {when(datetime.fromisoformat(iso))}" if iso else ""


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
) -> None:
    """Sources, queues, outbox, workers and beat at a glance; exit code 1 when anything is unhealthy."""
    from notifier.ops.status import UNSENT, collect

    report = collect(status_context())
    if as_json:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False, default=str), markup=False)
        raise typer.Exit(0 if report.healthy else 1)
    now = report.at

    sources = Table(title="Sources", title_justify="left")
    for col in ("source", "health", "last success", "records", "last change", "failures", "problem"):
        sources.add_column(col, overflow="fold", no_wrap=col in ("source", "health"))
    for s in report.sources:
        st = s.state
        colour = COLOURS[s.condition]
        sources.add_row(
            s.source,
            f"[{colour}]{s.condition}[/]",
            _ago(now, st and st.last_success_at),
            str(st.record_count) if st and st.record_count is not None else "-",
            when(st and st.last_change_at),
            str(st.consecutive_failures) if st else "0",
            scrub("; ".join(s.problems)),
        )
    out.print(sources)

    box = report.outbox
    queues = ", ".join(f"{q} {n}" for q, n in report.queues.items()) if report.queues is not None else "unreadable"
    out.print(f"Queues: {queues}", markup=False)
    dead_colour = "red" if box.count("dead") else "green"
    out.print(
        f"Outbox: {box.count(*UNSENT)} pending (oldest due {_ago(now, box.oldest_due)}), "
        f"[{dead_colour}]{box.count('dead')} dead[/], {box.count('acked')} acknowledged, "
        f"{box.count('held')} held for digests, {box.count('sent')} sent"
    )

    if not report.workers and not report.beats:
        out.print("Workers and beat: none has reported a heartbeat", markup=False)
    procs = Table(title="Workers and beat", title_justify="left")
    for col in ("process", "kind", "queues", "state", "last heartbeat", "host/pid"):
        procs.add_column(col, overflow="fold")
    for p in [*report.workers, *report.beats]:
        procs.add_row(
            p.beat.name,
            p.beat.kind,
            ",".join(p.beat.info.get("queues", [])) or "-",
            f"[{COLOURS[p.state]}]{p.state}[/]" + _since(p.beat.info.get("leading_since")),
            _ago(now, p.beat.seen_at),
            f"{p.beat.host}/{p.beat.pid}",
        )
    if report.workers or report.beats:
        out.print(procs)
    relay = report.relay
    out.print(
        f"Outbox relay: last ran {_ago(now, relay and relay.seen_at)}"
        + (f" ({relay.info.get('relayed', 0)} re-enqueued)" if relay else ""),
        markup=False,
    )
    if report.healthy:
        out.print("[green]healthy[/]")
        return
    if not report.all_problems:
        waiting = report.waiting_for
        out.print(f"[yellow]starting[/]: {len(waiting)} source(s) not polled yet ({', '.join(waiting)})")
        raise typer.Exit(1)
    out.print(f"[red]UNHEALTHY[/] ({len(report.all_problems)} problems):")
    for problem in report.all_problems:
        out.print(f"  - {scrub(problem)}", markup=False)
    raise typer.Exit(1)


@app.command()
def health(
    kind: Annotated[str, typer.Argument(help="worker or beat: the process on this host to check.")],
) -> None:
    """Container health check (cheap: reads one heartbeat): exit 0 healthy, 1 not, with one line of why."""
    from notifier.ops.health import check_local
    from notifier.settings import get_settings

    if kind not in ("worker", "beat"):
        fail(f"health {kind!r}: use `notifier health worker` or `notifier health beat`")
    verdict = check_local(kind, get_settings())
    out.print(scrub(verdict.why), markup=False)
    raise typer.Exit(0 if verdict.healthy else 1)


@app.command()
def metrics(
    port: Annotated[int, typer.Option(help="Port of the /metrics endpoint.")] = 9808,
    addr: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
) -> None:
    """Serve Prometheus metrics (read from the database at each scrape) until stopped."""
    from notifier.ops.metrics import serve

    ctx = context(with_routing=False)
    try:
        thread = serve(addr, port, lambda: ctx)
    except OSError as exc:
        fail(f"metrics: cannot listen on {addr}:{port}: {exc.strerror or exc}")
    out.print(f"serving Prometheus metrics on http://{addr}:{port}/metrics", markup=False)
    thread.join()


@app.command()
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
) -> None:
    """Apply the retention policy: old raw snapshot archives and old sent deliveries (change events stay)."""
    from notifier.ops.prune import prune as run_prune

    ctx = context(with_routing=False)
    out.print(run_prune(ctx, dry_run=dry_run).summary(dry_run), markup=False)


@app.command("settings")
def settings_command(
    example: Annotated[bool, typer.Option("--example", help="Print .env.example (every setting, default).")] = False,
) -> None:
    """Every setting with its current value (secrets masked)."""
    from notifier.settings import ENV_PREFIX, env_example, get_settings

    if example:
        out.print(env_example(), markup=False, end="")
        return
    for name, value in get_settings().model_dump().items():
        out.print(f"{ENV_PREFIX}{name.upper()}={scrub('' if value is None else str(value))}", markup=False)


outbox_app = typer.Typer(help="See, resend and acknowledge deliveries (dead ones above all).", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list(
    status_: Annotated[
        str, typer.Option("--status", help="dead, acked, pending, sending, held, sent, or all.")
    ] = "dead",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Deliveries in the outbox (default: the dead ones), newest first."""
    from notifier.alerts.dead_letters import list_deliveries

    known = ("dead", "acked", "pending", "sending", "held", "sent", "folded")
    if status_ != "all" and status_ not in known:
        fail(f"--status {status_!r}: use one of {', '.join(known)} or all")
    ctx = context(with_routing=False)
    rows = list_deliveries(ctx.engine, () if status_ == "all" else (status_,), limit)
    if as_json:
        print_json_lines(
            {
                "id": r.id,
                "status": r.status,
                "purpose": r.purpose,
                "subscriber": r.subscriber,
                "channel_type": r.channel_type,
                "source": r.source,
                "snapshot": r.snapshot_id,
                "attempts": r.attempts,
                "created_at": r.created_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "last_error": scrub(r.last_error) if r.last_error else None,
            }
            for r in rows
        )
        return
    if not rows:
        out.print(f"no {'' if status_ == 'all' else status_ + ' '}deliveries", markup=False)
        return
    print_table(
        ("id", "status", "created", "purpose", "subscriber", "channel", "source", "attempts", "last error"),
        (
            (
                r.id,
                r.status,
                when(r.created_at),
                r.purpose,
                r.subscriber,
                r.channel_type,
                r.source or "-",
                r.attempts,
                scrub(r.last_error or ""),
            )
            for r in rows
        ),
        title=f"Outbox ({status_}, newest first)",
        title_justify="left",
    )
    if status_ == "dead":
        out.print("resend: notifier outbox retry ID    acknowledge: notifier outbox ack ID (or --all)", markup=False)


@outbox_app.command("retry")
def outbox_retry(
    delivery_id: Annotated[int, typer.Argument(help="Id of a dead delivery (notifier outbox list).")],
    now: Annotated[bool, typer.Option("--now", help="Send it from this process now instead of by a worker.")] = False,
) -> None:
    """Give a dead delivery a fresh set of attempts: the relay hands it to a worker at its next run."""
    from notifier.alerts.dead_letters import retry

    svc = context(with_routing=now)
    row = retry(svc.engine, delivery_id, svc.settings.relay_grace)
    if not now:
        out.print(
            f"delivery {row.id} is pending again; a worker sends it within {svc.settings.relay_interval:.0f}s "
            "(the outbox relay), or run `notifier deliver` to send it from here",
            markup=False,
        )
        return
    from notifier.alerts.deliver import deliver_one

    outcome = deliver_one(svc, delivery_id)
    out.print(f"delivery {row.id}: {outcome.status}" + (f": {outcome.error}" if outcome.error else ""), markup=False)
    if outcome.status != "sent":
        raise typer.Exit(1)


@outbox_app.command("ack")
def outbox_ack(
    delivery_ids: Annotated[list[int] | None, typer.Argument(help="Ids of dead deliveries.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Acknowledge every dead delivery.")] = False,
) -> None:
    """Acknowledge dead deliveries (kept for audit, no longer unhealthy)."""
    from notifier.alerts.dead_letters import acknowledge

    if bool(delivery_ids) == all_dead:
        fail("outbox ack: give delivery ids, or --all")
    ctx = context(with_routing=False)
    ids = acknowledge(ctx.engine, None if all_dead else delivery_ids)
    out.print(f"acknowledged {len(ids)} dead deliveries" + (f": {', '.join(map(str, ids))}" if ids else ""))
