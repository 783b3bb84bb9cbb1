"""Soak test (not in CI): many changing sources, many subscriptions, workers and Redis failing at random.

    .venv/bin/python bench/soak.py [--minutes 10] [--sources 50] [--subscriptions 1000] [--fault-every 40]
                                   [--sources-per-subscription 2] [--seed 1] [--db postgres|sqlite]

50 sources (OFAC's real consolidated list of 2025-10-22, each source its own evolving copy) are served by a local
HTTP server and polled every 10 s; at random moments each source publishes a new version (1-3 entries delisted,
1-3 listed again, 1-2 amended). 1,000 subscriptions each follow 2 sources (a third of them only delistings),
each with its own json:// channel on one local receiver. A private redis-server, PostgreSQL (a fresh schema on
127.0.0.1:5432) or SQLite, one `notifier worker --concurrency 2`, one `notifier beat`.

Every --fault-every seconds on average, one fault at random: the worker SIGKILLed (whole process group) and
restarted, its pool processes SIGKILLed, or Redis crashed and restarted empty (queued messages lost).

At the end (faults stop, the backlog drains) everything is counted against what was expected:
- change events: for every accepted snapshot, the (key, change) pairs recorded must be exactly the difference
  between the versions the bench published (computed here, independently of the service);
- alerts: one outbox row per (snapshot, subscriber whose filters match), and every part of every alert received
  exactly once, but for the parts a killed worker was sending when it died (tests.support.ledger counts those);
  received once per X-Notifier-Id in every case;
- memory: resident set size of the worker (main and pool processes), beat and Redis, every 30 s.

Prints a Markdown report and writes it to bench/results/soak.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests/ and bench/ are not installed packages
    sys.path.insert(0, str(REPO))

from bench.bench_poll import RESULTS, machine, pg_schema, say  # noqa: E402
from notifier.app import build_service  # noqa: E402
from tests.support.http import LocalServer  # noqa: E402
from tests.support.ledger import Ledger  # noqa: E402
from tests.support.receivers import WebhookReceiver  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402
from tests.support.service import ServiceProcess, configure, settings_for, wait_for  # noqa: E402

CONS = REPO.parent / "shared" / "data" / "real" / "ofac" / "consolidated_xml" / "2025-10-22_CONSOLIDATED.XML"
ENTRY = re.compile(rb"[ \t]*<sdnEntry>.*?</sdnEntry>\r?\n", re.S)
UID = re.compile(rb"<uid>(\d+)</uid>")
LAST_NAME = re.compile(rb"<lastName>([^<]*)</lastName>")
RECORD_COUNT = re.compile(rb"<Record_Count>\d+</Record_Count>")


class List:
    """The real list cut into entries, and versions of it as {uid: variant} (variant > 0: an amended name)."""

    def __init__(self, path: Path) -> None:
        raw = path.read_bytes()
        first = ENTRY.search(raw)
        self.head, self.tail = raw[: first.start()], raw[raw.rindex(b"</sdnList>") :]
        self.entries = {UID.search(m.group()).group(1).decode(): m.group() for m in ENTRY.finditer(raw)}

    def render(self, state: dict[str, int]) -> bytes:
        # The header states the count, as OFAC's does (the guard quarantines a file whose count disagrees).
        parts = [RECORD_COUNT.sub(b"<Record_Count>%d</Record_Count>" % len(state), self.head, 1)]
        for uid, variant in state.items():
            entry = self.entries[uid]
            if variant:
                entry = LAST_NAME.sub(rb"<lastName>\1 SOAK%d</lastName>" % variant, entry, 1)
            parts.append(entry)
        parts.append(self.tail)
        return b"".join(parts)


def diff(old: dict[str, int], new: dict[str, int]) -> set[tuple[str, str]]:
    """The (key, change) pairs the service must record between two versions."""
    out = {(k, "added") for k in new.keys() - old.keys()} | {(k, "removed") for k in old.keys() - new.keys()}
    return out | {(k, "amended") for k in new.keys() & old.keys() if new[k] != old[k]}


def snapshot_sha(body: bytes) -> str:
    return hashlib.sha256(f"main:{hashlib.sha256(body).hexdigest()}\n".encode()).hexdigest()


@dataclass
class Source:
    sid: str
    versions: list[dict[str, int]] = field(default_factory=list)
    shas: dict[str, int] = field(default_factory=dict)  # snapshot sha -> version index
    next_change: float = 0.0


def evolve(rng: random.Random, state: dict[str, int], all_uids: list[str]) -> dict[str, int]:
    new = dict(state)
    present = sorted(new)
    for uid in rng.sample(present, rng.randint(1, 3)):
        del new[uid]
    absent = [u for u in all_uids if u not in state]
    for uid in rng.sample(absent, min(len(absent), rng.randint(1, 3))):
        new[uid] = 0
    for uid in rng.sample(sorted(new.keys() & state.keys()), rng.randint(1, 2)):
        new[uid] = state[uid] + 1
    return {u: new[u] for u in all_uids if u in new}  # publisher order


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def scalar(engine, sql: str, **params: object) -> object:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def run(args: argparse.Namespace, db_url: str, folder: Path, load: tuple[float, float, float]) -> str:
    rng = random.Random(args.seed)
    cons = List(CONS)
    uids = list(cons.entries)
    receiver = WebhookReceiver()
    redis = RedisServer(folder / "redis").start()
    worker = beat = None
    faults: Counter[str] = Counter()
    memory: list[tuple[float, float, float, float]] = []
    stats: dict[str, object] = {"load": load}
    try:
        with LocalServer() as server:
            sources = {f"s{i:02d}": Source(f"s{i:02d}") for i in range(args.sources)}
            for src in sources.values():
                start = {u: 0 for u in uids if rng.random() > 0.02}
                src.versions.append(start)
                src.next_change = time.monotonic() + rng.uniform(30, args.change_every * 2)

            def publish(src: Source) -> None:
                body = cons.render(src.versions[-1])
                src.shas[snapshot_sha(body)] = len(src.versions) - 1
                server.serve(f"/{src.sid}.xml", body)

            for src in sources.values():
                publish(src)
            config = {
                sid: {"adapter": "us_ofac_cons", "url": server.url(f"/{sid}.xml"), "schedule": "10s", "title": sid}
                for sid in sources
            }
            subscribers = []
            for i in range(args.subscriptions):
                filters: dict = {"sources": rng.sample(sorted(sources), args.sources_per_subscription)}
                if i % 3 == 0:
                    filters["changes"] = ["removed"]
                subscribers.append(
                    {"name": f"sub{i:04d}", "channels": [{"url": receiver.url(f"/s/{i}")}], "filters": filters}
                )
            env = configure(
                folder,
                config,
                subscribers,
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=db_url,
                NOTIFIER_POLL_LOCK_LEASE="10",
                NOTIFIER_CLAIM_TIMEOUT="20",
                NOTIFIER_DELIVERY_TIMEOUT="5",
                NOTIFIER_RELAY_GRACE="15",
                NOTIFIER_RELAY_INTERVAL="5",
                NOTIFIER_DELIVERY_BACKOFF="1",
                NOTIFIER_DELIVERY_BACKOFF_MAX="10",
                NOTIFIER_LOG_LEVEL="WARNING",
            )
            svc = build_service(settings_for(env))
            ledger = Ledger(svc, [receiver], [])
            starts = Counter()

            def start_worker() -> ServiceProcess:
                starts["worker"] += 1
                return ServiceProcess(
                    ["worker", "--concurrency", "2"], env, folder, f"worker{starts['worker']}"
                ).start()

            worker, beat = start_worker(), ServiceProcess(["beat"], env, folder, "beat").start()
            say(f"soak: {args.sources} sources, {args.subscriptions} subscriptions, {args.minutes} min, in {folder}")
            began = time.monotonic()
            end = began + args.minutes * 60
            next_fault = began + rng.expovariate(1 / args.fault_every)
            next_sample = began
            while time.monotonic() < end:
                now = time.monotonic()
                for src in sources.values():
                    if now >= src.next_change:
                        src.versions.append(evolve(rng, src.versions[-1], uids))
                        publish(src)
                        src.next_change = now + rng.uniform(args.change_every / 2, args.change_every * 1.5)
                if now >= next_sample:
                    pool = children(worker.proc.pid) if worker.proc else []
                    memory.append(
                        (
                            now - began,
                            rss_mb(worker.proc.pid) + sum(rss_mb(p) for p in pool),
                            rss_mb(beat.proc.pid),
                            rss_mb(redis.proc.pid) if redis.proc else 0.0,
                        )
                    )
                    next_sample = now + 30
                if now >= next_fault:
                    kind = rng.choice(["kill worker", "kill pool processes", "kill worker", "crash redis"])
                    if kind == "kill worker":
                        worker.kill()
                        ledger.note_kill()
                        worker = start_worker()
                    elif kind == "kill pool processes":
                        for pid in children(worker.proc.pid):
                            try:
                                os.kill(pid, signal.SIGKILL)
                            except ProcessLookupError:
                                pass
                        time.sleep(0.3)
                        ledger.note_kill()
                    else:
                        redis.restart(down_for=rng.uniform(1, 4))
                    faults[kind] += 1
                    say(f"  {now - began:6.0f}s  {kind}")
                    next_fault = now + rng.expovariate(1 / args.fault_every)
                time.sleep(0.2)

            say("soak: faults stop; waiting for the backlog to drain")
            drained = time.monotonic()
            # Each source's last version must be stored, and every outbox row sent.
            last = "select count(*) from snapshot where source = :s and sha256 = :h and status = 'accepted'"

            def behind() -> list[str]:
                return [
                    src.sid
                    for src in sources.values()
                    if not scalar(svc.engine, last, s=src.sid, h=snapshot_sha(cons.render(src.versions[-1])))
                ]

            try:
                wait_for(lambda: not behind(), 300, interval=2, what="every source's last version")
            except AssertionError:
                with svc.engine.connect() as conn:
                    for row in conn.execute(
                        text("select source, last_status, last_error, last_poll_at from source_state"),
                    ):
                        if row[0] in behind():
                            say(f"  behind: {tuple(row)}")
                say(f"beat log: {beat.log()[-3000:]}\nworker log: {worker.log()[-3000:]}")
                raise
            unsent = "select count(*) from delivery where status in ('pending', 'sending')"
            wait_for(lambda: not scalar(svc.engine, unsent), 600, interval=2, what="the outbox to drain")
            time.sleep(args.settle)
            stats["drain_s"] = time.monotonic() - drained
            pool = children(worker.proc.pid)
            memory.append(
                (
                    time.monotonic() - began,
                    rss_mb(worker.proc.pid) + sum(rss_mb(p) for p in pool),
                    rss_mb(beat.proc.pid),
                    rss_mb(redis.proc.pid),
                )
            )
            say("soak: counting")
            report = count(svc, sources, ledger, subscribers, faults, memory, stats, args)
    finally:
        for p in (worker, beat):
            if p:
                p.stop(20)
        receiver.close()
        redis.stop()
    return report


def count(svc, sources, ledger, subscribers, faults, memory, stats, args) -> str:  # noqa: ANN001
    with svc.engine.connect() as conn:
        snaps = conn.execute(
            text("select id, source, sha256 from snapshot where status = 'accepted' order by source, id")
        ).all()
        changes: dict[int, set[tuple[str, str]]] = {}
        for snap_id, key, change in conn.execute(text("select snapshot_id, key, change from change")):
            changes.setdefault(snap_id, set()).add((key, change))
        deliveries = conn.execute(
            text("select snapshot_id, subscriber, status, attempts from delivery where purpose = 'changes'")
        ).all()
        latency = (
            conn.execute(
                text(
                    "select extract(epoch from sent_at - created_at) from delivery where purpose = 'changes' "
                    "and status = 'sent' order by 1"
                )
                if svc.engine.dialect.name == "postgresql"
                else text(
                    "select (julianday(sent_at) - julianday(created_at)) * 86400 from delivery "
                    "where purpose = 'changes' and status = 'sent' order by 1"
                )
            )
            .scalars()
            .all()
        )
    wrong_events, expected_events, recorded_events, repeated_versions = [], 0, 0, 0
    owed_rows: set[tuple[int, str]] = set()
    filters = {s["name"]: s["filters"] for s in subscribers}
    previous: dict[str, int] = {}
    for snap_id, sid, sha in snaps:
        version = sources[sid].shas.get(sha)
        if version is None:
            wrong_events.append((sid, snap_id, "a snapshot of no published version"))
            continue
        if sid in previous:
            expected = diff(sources[sid].versions[previous[sid]], sources[sid].versions[version])
            got = changes.get(snap_id, set())
            expected_events += len(expected)
            recorded_events += len(got)
            if got != expected:
                wrong_events.append((sid, snap_id, len(expected), len(got)))
            for name, f in filters.items():
                if sid in f["sources"] and any(c in f.get("changes", [c]) for _k, c in expected):
                    owed_rows.add((snap_id, name))
            if previous[sid] == version:
                repeated_versions += 1
        previous[sid] = version
    rows = {(snap, sub) for snap, sub, _status, _attempts in deliveries}
    problems = ledger.problems()
    owed_parts = sum(ledger.expected().values())
    received = len(ledger.arrivals())
    dead = sum(1 for *_x, status, _a in deliveries if status != "sent")
    pct = (lambda q: latency[min(len(latency) - 1, int(q * len(latency)))]) if latency else (lambda q: float("nan"))
    ok = not (wrong_events or repeated_versions or rows != owed_rows or dead or any(problems.values()))
    lines = [
        "# Soak",
        "",
        f"Machine: {machine(stats['load'])}",
        "",
        f"{args.minutes} min, {args.sources} sources (polled every 10 s, a new version of each every "
        f"~{args.change_every:.0f} s), {args.subscriptions} subscriptions ({args.sources_per_subscription} sources "
        f"each, a third only delistings), {args.db}, Redis, one worker (2 processes) and beat. Seed {args.seed}.",
        "",
        "| Measure | Value |",
        "|---|---|",
        f"| Faults injected | {sum(faults.values())}: "
        + ", ".join(f"{n} {k}" for k, n in sorted(faults.items()))
        + " |",
        f"| Accepted snapshots with changes | {sum(1 for s in snaps if s[0] in changes)} |",
        f"| Change events expected / recorded | {expected_events} / {recorded_events} |",
        f"| Snapshots whose events differ from the published difference | {len(wrong_events)} |",
        f"| A version stored twice | {repeated_versions} |",
        f"| Outbox rows expected / written | {len(owed_rows)} / {len(rows)} (missing {len(owed_rows - rows)}, "
        f"extra {len(rows - owed_rows)}) |",
        f"| Outbox rows not sent at the end | {dead} |",
        f"| Alert parts owed / received | {owed_parts} / {received} |",
        f"| Parts missing | {sum(problems['missing'].values())} |",
        f"| Parts repeated (in flight at a kill) / allowed | {ledger.duplicates()} / {sum(ledger.in_doubt.values())} |",
        f"| Parts repeated beyond that | {sum(problems['duplicated'].values())} |",
        f"| Parts not received exactly once per X-Notifier-Id | {len(problems['not once by id'])} |",
        f"| Delivery latency (outbox row -> sent), p50 / p95 / max | {pct(0.5):.1f} s / {pct(0.95):.1f} s / "
        f"{(latency[-1] if latency else float('nan')):.1f} s |",
        f"| Backlog drained after the last fault in | {stats['drain_s']:.0f} s |",
        f"| **Verdict** | **{'nothing lost, nothing doubled' if ok else 'FAILED'}** |",
        "",
        "Memory (resident set size, MB):",
        "",
        "| t (s) | worker (main + pool) | beat | redis |",
        "|---|---|---|---|",
        *(f"| {t:.0f} | {w:.0f} | {b:.0f} | {r:.0f} |" for t, w, b, r in memory),
    ]
    if wrong_events:
        lines += ["", f"Wrong events: {wrong_events[:10]}"]
    if any(problems.values()):
        lines += ["", f"Alert problems: {json.dumps({k: len(v) for k, v in problems.items()})}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--sources-per-subscription", type=int, default=2)
    parser.add_argument("--change-every", type=float, default=150.0, help="mean seconds between versions of a source")
    parser.add_argument("--fault-every", type=float, default=40.0, help="mean seconds between faults")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait for late repeats at the end")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        folder = Path(tmp)
        if args.db == "postgres":
            with pg_schema() as db_url:
                report = run(args, db_url, folder, load)
        else:
            report = run(args, f"sqlite:///{folder / 'notifier.db'}", folder, load)
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.md").write_text(report)
    return 0 if "nothing lost, nothing doubled" in report else 1


if __name__ == "__main__":
    sys.exit(main())
