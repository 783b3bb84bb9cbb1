"""Per-delivery cost of notifier.alerts.deliver.deliver_one in one process, without Celery: where fan-out time goes.

    .venv/bin/python bench/profile_deliver.py [--subscribers 200] [--deliveries 100] [--postgres] [--no-render-cache]
                                              [--profile]

Polls the real OFAC sdn.csv of 2024-02-20, then 2024-02-23 (553 added, 8 amended) with `--subscribers` json://
subscribers of a local receiver, then times deliver_one on `--deliveries` of the outbox rows (after 5 warm-up
deliveries), checks each was sent, and prints ms per delivery (and a cProfile with --profile). --no-render-cache
renders every digest again (the behaviour before the per-process cache), for a before/after on the same machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests/ and bench/ are not installed packages
    sys.path.insert(0, str(REPO))

from bench.bench_alerts import SDN_CHANGES, SDN_NEW, SDN_OLD  # noqa: E402
from bench.bench_poll import BenchError, pg_schema, say  # noqa: E402
from notifier.alerts import deliver  # noqa: E402
from notifier.alerts.outbox import pending_for_snapshot  # noqa: E402
from notifier.app import build_service  # noqa: E402
from notifier.ingest.pipeline import poll  # noqa: E402
from notifier.settings import Settings  # noqa: E402
from notifier.store.db import dispose_engines  # noqa: E402
from tests.support.receivers import WebhookReceiver  # noqa: E402

SOURCE = "us_ofac_sdn"


def run(folder: Path, db_url: str | None, args: argparse.Namespace) -> str:
    hook = WebhookReceiver()
    try:
        (folder / "sources.yaml").write_text(
            yaml.safe_dump({"sources": {SOURCE: {"url": SDN_OLD.as_uri(), "guard": {"min_records": 5000}}}})
        )
        subscribers = [
            {"name": f"sub{i:04d}", "channels": [{"url": hook.url(f"/s{i:04d}")}]} for i in range(args.subscribers)
        ]
        (folder / "subscriptions.yaml").write_text(yaml.safe_dump({"subscribers": subscribers}))
        svc = build_service(
            Settings(
                data_dir=folder / "data",
                database_url=db_url,
                sources_file=folder / "sources.yaml",
                subscriptions_file=folder / "subscriptions.yaml",
                channel_allow_private=True,  # the receiver listens on 127.0.0.1
            )
        )
        poll(svc, SOURCE, {"main": str(SDN_OLD)})
        result = poll(svc, SOURCE, {"main": str(SDN_NEW)})
        if (result.added, result.removed, result.amended) != SDN_CHANGES:
            raise BenchError(f"the poll gave {result.summary()}")
        ids = pending_for_snapshot(svc.engine, result.snapshot_id)
        if len(ids) < args.deliveries + 5:
            raise BenchError(f"{len(ids)} deliveries; raise --subscribers above --deliveries + 5")
        for delivery_id in ids[:5]:
            deliver.deliver_one(svc, delivery_id)
        profiler = cProfile.Profile() if args.profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        outcomes = [deliver.deliver_one(svc, delivery_id) for delivery_id in ids[5 : 5 + args.deliveries]]
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
        if any(o.status != "sent" for o in outcomes):
            raise BenchError(f"not all sent: {[o for o in outcomes if o.status != 'sent'][:3]}")
        parts = len(hook.received) // (5 + args.deliveries)
        line = (
            f"{'PostgreSQL' if db_url else 'SQLite'}, render cache {'off' if args.no_render_cache else 'on'}: "
            f"{seconds / args.deliveries * 1000:.1f} ms per delivery of {parts} parts "
            f"({args.deliveries} deliveries in {seconds:.2f} s{', under cProfile' if profiler else ''})"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        return line
    finally:
        hook.close()
        dispose_engines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL in a fresh schema instead of SQLite")
    parser.add_argument("--no-render-cache", action="store_true", help="render each delivery's digest again")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed deliveries")
    args = parser.parse_args()
    if args.no_render_cache:
        deliver.RENDER_CACHE_SIZE = 0
    with tempfile.TemporaryDirectory(prefix="bench-deliver-") as tmp:
        if args.postgres:
            with pg_schema() as url:
                line = run(Path(tmp), url, args)
        else:
            line = run(Path(tmp), None, args)
    say(line)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
