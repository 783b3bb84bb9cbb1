"""Commands that run the service or act on the outbox: run, worker, beat, deliver, subscriptions."""

from __future__ import annotations

from typing import Annotated

import typer

from notifier.cli.common import app, context, fail, out


def _celery_app():  # noqa: ANN202
    context(with_routing=True)  # fail early, with one line, on any config problem
    from tasks.app import app as celery_app

    return celery_app


def node_name(name: str | None) -> str:
    """Every worker process its own node name (default notifier-<pid>@<host>), so that two workers on one host
    keep two heartbeats and status counts both; `%h` is Celery's placeholder for the host name."""
    import os

    name = name or f"notifier-{os.getpid()}"
    return name if "@" in name else f"{name}@%h"


def _worker_argv(queues: str, concurrency: int | None, beat: bool, name: str | None = None) -> list[str]:
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
        "-n",
        node_name(name),
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
    _start_web()
    celery_app.worker_main(_worker_argv("poll,deliver", concurrency, beat=True))


def _start_web() -> None:
    """NOTIFIER_WEB_PORT set: the web pages and API run in this process too, beside worker and beat."""
    from notifier.settings import get_settings

    settings = get_settings()
    if not settings.web_port:
        return
    from notifier.web.server import check_port, start_in_thread

    try:
        check_port(settings.web_host, settings.web_port)
    except OSError as exc:
        fail(f"NOTIFIER_WEB_PORT: cannot listen on {settings.web_host}:{settings.web_port}: {exc.strerror or exc}")
    start_in_thread(context(with_routing=True), settings.web_host, settings.web_port)
    out.print(f"web: http://{settings.web_host}:{settings.web_port}/", markup=False)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Queues to consume: poll, deliver or both.")] = "poll,deliver",
    concurrency: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Node name, unique per worker (default notifier-<pid>@<host>).")
    ] = None,
) -> None:
    """A worker without beat, for deployments with several workers (scale with more processes or hosts)."""
    for q in queues.split(","):
        if q not in ("poll", "deliver"):
            fail(f"--queues: unknown queue {q!r}; use poll, deliver or poll,deliver")
    if name is not None and not name.replace("@", "").replace("-", "").replace("_", "").replace(".", "").isalnum():
        fail(f"--name: {name!r} is not a node name; use letters, digits, - _ . and at most one @host")
    celery_app = _celery_app()
    celery_app.worker_main(_worker_argv(queues, concurrency, beat=False, name=name))


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
    svc = context(with_routing=True)
    for sub in svc.subscribers:
        kinds = ", ".join(sorted({sub.channel_format(ch) for ch in sub.channels}))
        out.print(f"{sub.name}: {len(sub.channels)} channel(s) ({kinds}), tags {sub.tags or '-'}", markup=False)
    out.print(f"ok: {len(svc.subscribers)} subscriber(s) in {svc.settings.subscriptions_file}", markup=False)


@subs_app.command("test")
def subscriptions_test(name: Annotated[str, typer.Argument(help="Subscriber name.")]) -> None:
    """Send a test alert to every channel of one subscriber, now, and report each result."""
    from notifier.alerts.deliver import send
    from notifier.alerts.render import render_text

    svc = context(with_routing=True)
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
    from notifier.alerts.deliver import deliver_one
    from notifier.alerts.outbox import due

    svc = context(with_routing=True)
    counts: dict[str, int] = {}
    pending = due(svc.engine)
    while pending:
        for delivery_id in pending:
            status = deliver_one(svc, delivery_id).status
            counts[status] = counts.get(status, 0) + 1
        pending = [i for i in due(svc.engine) if i not in pending]
    out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due", markup=False)
