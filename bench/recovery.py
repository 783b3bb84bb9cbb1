"""Recovery under a kill storm (not in CI): how soon a publication's first alert part arrives while workers, pool
processes and the beat are SIGKILLed, and how soon a part cut off by a kill arrives again.

    .venv/bin/python bench/recovery.py [--minutes 6] [--sources 3] [--subscribers 5] [--kill-every 10] [--seed 1]

Sources are evolving copies of OFAC's real consolidated list (2025-10-22) on a local HTTP server, polled every 5 s;
every --publish-every seconds on average one publishes a new version delisting one entry (a name no other version
delists). Subscribers each have a webhook channel on one local receiver that answers after 0.5 s (so that kills
land mid-send). A private redis-server, PostgreSQL (a fresh schema on 127.0.0.1:5432), two `notifier worker
--concurrency 2` and two `notifier beat` (one leads, one stands by). Every --kill-every seconds on average one
SIGKILL at random: a whole worker (restarted at once, as an orchestrator would), its pool processes, or the
leading beat (a new beat is started in its place and the standby takes over).

Measured: for each publication, the seconds from publishing to the first alert part received (goal: p95 <= 10 s);
for each part received more than once, the seconds from the last kill before it to the repeat (goal: <= 15 s).
Checked: every publication made exactly one change event, every (publication, subscriber) alert arrived, and no
part arrived twice except those in flight at a kill. Prints a Markdown report and writes bench/results/recovery.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests/ and bench/ are not installed packages
    sys.path.insert(0, str(REPO))

from bench.bench_poll import RESULTS, machine, pg_schema, say  # noqa: E402
from bench.soak import CONS, LAST_NAME, List, children  # noqa: E402
from notifier.app import build_service  # noqa: E402
from notifier.ops.heartbeat import heartbeat_store  # noqa: E402
from tests.support.http import LocalServer  # noqa: E402
from tests.support.receivers import WebhookReceiver  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402
from tests.support.service import ServiceProcess, configure, settings_for, wait_for  # noqa: E402

GOAL_FIRST_P95 = 10.0
GOAL_REPEAT = 15.0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else sum(values)


def run(args: argparse.Namespace, db_url: str, folder: Path) -> tuple[str, bool]:
    rng = random.Random(args.seed)
    cons = List(CONS)
    names = {uid: LAST_NAME.search(entry).group(1).decode() for uid, entry in cons.entries.items()}
    delistable = [u for u, n in names.items() if n and sum(1 for m in names.values() if m == n) == 1]
    rng.shuffle(delistable)
    receiver = WebhookReceiver()
    receiver.hang = 0.5
    redis = RedisServer(folder / "redis").start()
    procs: dict[str, ServiceProcess] = {}
    kills: list[tuple[float, str]] = []
    killed: list[tuple[float, str]] = []  # (wall time, what) for --trace
    published: list[tuple[float, str, str]] = []  # (time, source, delisted name)
    walls: dict[str, float] = {}  # delisted name -> wall time published (--trace)
    first_wall: dict[str, float] = {}  # delisted name -> wall time of its first part (--trace)
    arrivals: dict[str, float] = {}  # notifier id -> first arrival
    repeats: list[tuple[str, float]] = []
    first_part: dict[tuple[str, str], float] = {}  # (name, subscriber path) -> first arrival
    try:
        with LocalServer() as server:
            state = {f"s{i}": dict.fromkeys(cons.entries, 0) for i in range(args.sources)}
            for sid, st in state.items():
                server.serve(f"/{sid}.xml", cons.render(st))
            sources = {
                sid: {"adapter": "us_ofac_cons", "url": server.url(f"/{sid}.xml"), "schedule": "5s"} for sid in state
            }
            subscribers = [
                {"name": f"sub{i}", "channels": [{"url": receiver.url(f"/sub{i}")}]} for i in range(args.subscribers)
            ]
            env = configure(
                folder,
                sources,
                subscribers,
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=db_url,
                NOTIFIER_LOG_LEVEL="INFO" if args.trace else "WARNING",
                # Defaults for the recovery paths (heartbeats 3 s, relay 5 s, lock 6 s, 300 s claim timeout as the
                # last resort): the figures are what a deployment with default settings gets.
                NOTIFIER_RELAY_INTERVAL="5",
                NOTIFIER_RELAY_GRACE="10",
                NOTIFIER_CLAIM_TIMEOUT="300",
                NOTIFIER_DELIVERY_TIMEOUT="10",
            )
            for key in ("NOTIFIER_HEARTBEAT_INTERVAL", "NOTIFIER_POLL_LOCK_LEASE"):
                env.pop(key, None)
            svc = build_service(settings_for(env))

            def start(name: str, argv: list[str]) -> None:
                procs[name] = ServiceProcess(argv, env, folder, f"{name}-{len(kills)}").start()

            for w in ("worker-a", "worker-b"):
                start(w, ["worker", "--concurrency", "2"])
            for b in ("beat-a", "beat-b"):
                start(b, ["beat"])
            wait_for(
                lambda: all(
                    conn_count(svc, f"select count(*) from snapshot where source = '{s}' and status = 'accepted'")
                    for s in state
                ),
                180,
                what="the baselines",
            )
            say("baselines stored; storm starts")
            seen = 0

            def collect_arrivals() -> None:
                nonlocal seen
                now = time.monotonic()
                for post in receiver.received[seen:]:
                    nid = post.get("notifier_id") or ""
                    if nid in arrivals:
                        repeats.append((nid, now))
                    else:
                        arrivals[nid] = now
                    body = post.get("message", "") + post.get("title", "")
                    for _, _, name in published:
                        if name in body:
                            first_part.setdefault((name, post["path"]), now)
                            first_wall.setdefault(name, time.time() - (time.monotonic() - now))
                seen = len(receiver.received)

            end = time.monotonic() + args.minutes * 60
            next_publish = time.monotonic() + rng.uniform(5, args.publish_every)
            next_kill = time.monotonic() + rng.expovariate(1 / args.kill_every)
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_publish and delistable:
                    sid = rng.choice(sorted(state))
                    uid = delistable.pop()
                    del state[sid][uid]
                    server.serve(f"/{sid}.xml", cons.render(state[sid]))
                    published.append((time.monotonic(), sid, names[uid]))
                    walls[names[uid]] = time.time()
                    next_publish = now + rng.uniform(0.5, 1.5) * args.publish_every
                if now >= next_kill:
                    kind = rng.choice(["worker", "pool", "beat"])
                    if kind == "beat":
                        leaders = [
                            b for b in heartbeat_store(svc.settings).read("beat") if b.info.get("role") == "leader"
                        ]
                        victim = next((n for n, p in procs.items() if any(b.pid == p.proc.pid for b in leaders)), None)
                        if victim:
                            procs[victim].kill()
                            kills.append((time.monotonic(), "beat"))
                            killed.append((time.time(), f"beat {victim}"))
                            start(victim, ["beat"])
                    else:
                        name = rng.choice(["worker-a", "worker-b"])
                        if kind == "worker":
                            procs[name].kill()
                            kills.append((time.monotonic(), "worker"))
                            killed.append((time.time(), f"worker {name}"))
                            start(name, ["worker", "--concurrency", "2"])
                        else:
                            for child in children(procs[name].proc.pid):
                                try:
                                    os.kill(child, signal.SIGKILL)
                                except ProcessLookupError:
                                    pass
                            kills.append((time.monotonic(), "pool"))
                            killed.append((time.time(), f"pool {name}"))
                    next_kill = now + rng.expovariate(1 / args.kill_every)
                collect_arrivals()
                time.sleep(0.2)
            say("storm over; waiting for the last alerts")
            want = {(name, f"/sub{i}") for _, _, name in published for i in range(args.subscribers)}
            settle_end = time.monotonic() + 120
            while time.monotonic() < settle_end and not want <= set(first_part):
                collect_arrivals()
                time.sleep(0.2)
            time.sleep(10)  # late repeats
            collect_arrivals()
            events = conn_count(svc, "select count(*) from change")
            if args.trace:
                write_trace(svc, published, walls, first_wall, killed, folder)
    finally:
        for p in procs.values():
            p.stop(15)
        receiver.close()
        redis.stop()

    firsts = []
    for t_pub, _, name in published:
        got = [t for (n, _), t in first_part.items() if n == name]
        if got:
            firsts.append(min(got) - t_pub)
    repeat_gaps = []
    for _, t in repeats:
        before = [k for k, _ in kills if k <= t]
        repeat_gaps.append(t - max(before) if before else float("inf"))
    missing = len(want - set(first_part))
    first_p95, repeat_max = p95(firsts), max(repeat_gaps, default=0.0)
    ok = (
        events == len(published)
        and not missing
        and len(firsts) == len(published)
        and first_p95 <= GOAL_FIRST_P95
        and repeat_max <= GOAL_REPEAT
    )
    kinds = Counter(k for _, k in kills)
    storm = ", ".join(f"{n} {k}" for k, n in kinds.items())
    median_first, max_first = statistics.median(firsts or [0]), max(firsts, default=0)
    report = "\n".join(
        [
            "# Recovery under a kill storm (bench/recovery.py)",
            "",
            f"{args.minutes:g} min, {args.sources} sources polled every 5 s, {args.subscribers} subscribers, "
            f"{len(published)} publications, {len(kills)} SIGKILLs ({storm}).",
            "",
            "| figure | measured | goal |",
            "|---|---|---|",
            f"| publication -> first alert part, p95 | {first_p95:.1f} s (median {median_first:.1f} s, "
            f"max {max_first:.1f} s) | <= {GOAL_FIRST_P95:g} s |",
            f"| kill -> repeated part arrives, max | {repeat_max:.1f} s ({len(repeats)} repeats) "
            f"| <= {GOAL_REPEAT:g} s |",
            f"| change events recorded | {events} of {len(published)} | exactly once |",
            f"| (publication, subscriber) alerts missing | {missing} of {len(want)} | 0 |",
            "",
            f"Result: {'ok' if ok else 'FAIL'}. Machine: {machine(LOAD)}",
        ]
    )
    return report, ok


LOAD = os.getloadavg()


def write_trace(svc, published, walls, first_wall, killed, folder: Path) -> None:  # noqa: ANN001
    """Per publication, what happened between its publishing and its first alert part (seconds after publishing):
    the polls of its source (start, end, outcome), the kills, and its deliveries (created, claimed, sent)."""
    import shutil
    from datetime import UTC

    def wall(dt) -> float:  # noqa: ANN001 - naive UTC from the database
        return dt.replace(tzinfo=UTC).timestamp() if dt is not None else float("nan")

    with svc.engine.connect() as conn:
        snaps = conn.execute(
            text("select id, source, fetched_at, duration_ms, status, removed from snapshot order by fetched_at")
        ).all()
        rows = conn.execute(
            text("select snapshot_id, subscriber, created_at, claimed_at, sent_at, attempts from delivery")
        ).all()
    lines, stages = [], []
    for _, sid, name in sorted(published, key=lambda p: p[0]):
        t0, t1 = walls[name], first_wall.get(name, float("nan"))
        lines.append(f"\n## {name} on {sid}: first part after {t1 - t0:.1f} s")
        events = []
        found = next((s for s in snaps if s[1] == sid and s[4] == "accepted" and wall(s[2]) > t0 - 0.5), None)
        if found is not None:
            start = wall(found[2]) - t0
            end = start + (found[3] or 0) / 1000
            stages.append((start, end - start, t1 - t0 - end))
        for snap_id, source, fetched, ms, status, removed in snaps:
            start = wall(fetched) - t0
            if source == sid and -6 < start < t1 - t0 + 1:
                end = start + (ms or 0) / 1000
                events.append((start, f"poll #{snap_id} {start:6.1f} .. {end:6.1f}  {status} removed={removed}"))
                for s_id, sub, created, claimed, sent, attempts in rows:
                    if s_id == snap_id and sub == "sub0":
                        events.append(
                            (
                                wall(created) - t0,
                                f"  delivery sub0 created {wall(created) - t0:6.1f} claimed "
                                f"{wall(claimed) - t0:6.1f} sent {wall(sent) - t0:6.1f} attempts {attempts}",
                            )
                        )
        for t, what in killed:
            if -10 < t - t0 < t1 - t0 + 1:
                events.append((t - t0, f"KILL {what} at {t - t0:6.1f}"))
        lines += [f"- {text_}" for _, text_ in sorted(events)]
    if stages:
        cols = list(zip(*stages, strict=True))
        head = ["publication -> its poll starts", "the poll", "poll's end -> first part"]
        lines.insert(0, "| stage | median | p95 | max |\n|---|---|---|---|")
        for i, label in enumerate(head):
            v = sorted(cols[i])
            lines.insert(1 + i, f"| {label} | {statistics.median(v):.1f} s | {p95(v):.1f} s | {v[-1]:.1f} s |")
    out = RESULTS / "recovery-trace.md"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logs = RESULTS / "recovery-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    for log in folder.glob("*.log"):
        shutil.copy(log, logs / log.name)
    say(f"trace in {out}, logs in {logs}")


def conn_count(svc, sql: str) -> int:  # noqa: ANN001
    with svc.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=5)
    parser.add_argument("--publish-every", type=float, default=20.0, help="mean seconds between publications")
    parser.add_argument("--kill-every", type=float, default=10.0, help="mean seconds between SIGKILLs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", action="store_true", help="per publication timeline and logs in bench/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="notifier-recovery-") as tmp, pg_schema() as db_url:
        report, ok = run(args, db_url, Path(tmp))
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "recovery.md").write_text(report + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
