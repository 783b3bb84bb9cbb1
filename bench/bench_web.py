"""Server time of the web pages and feeds over 100,000 change events, against the goal of 100 ms.

    .venv/bin/python bench/bench_web.py [--events 100000] [--repeat 15] [--pg postgresql+psycopg://...]

Fills a fresh database (SQLite in a temp folder; PostgreSQL in a fresh schema with --pg) with `--events` change
events over 15 real source ids, spread over a year, with realistic payloads (names, aliases, programs, entity
types), written through the same INSERT as the store (the database triggers fill the cursor and filter columns).
Then serves the app with a real uvicorn on 127.0.0.1 and asks each URL `--repeat` times (pages and feeds without a
token, as on the loopback bind; the API with one); the figure is the server time the app reports in its
Server-Timing header (median and 95th percentile), with the CPU time the request cost this process beside it
(the server runs in-process; on a shared machine the wall time also counts waiting for a CPU). Every answer is checked
(row counts against a direct SQL count, the feed parses with feedparser and has 50 entries, the cursor page
continues where asked), so a fast wrong answer fails the bench. Exit status 1 if a check fails or a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

GOAL_MS = 100.0
SOURCES = ["us_ofac_sdn", "us_ofac_cons", "un_sc", "gb_fcdo", "ch_seco", "ca_sema", "au_dfat", "us_csl",
           "eu_fsf", "jp_mof", "opensanctions", "jp_meti_eul", "news_tass", "federal_register", "jp_etco"]
PROGRAMS = ["RUSSIA-EO14024", "SDGT", "IRAN", "CUBA", "UKRAINE-EO13662", "DPRK3", "GLOMAG", "CYBER2", "IRGC",
            "SYRIA", "BELARUS", "VENEZUELA-EO13850", "NPWMD", "ILLICIT-DRUGS-EO14059"]
TYPES = ["person", "organization", "vessel", "aircraft", "unknown"]
WORDS = ["Petrov", "Ivanov", "Global", "Trading", "Shipping", "Bank", "Holdings", "Alpha", "Nord", "Star", "Ocean",
         "Sergei", "Anna", "Mohammad", "Ali", "Kim", "Chen", "Energy", "Invest", "Capital", "Marine", "Tech"]


def fill(ctx, events: int, seed: int = 7) -> None:  # noqa: ANN001
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from notifier.store.models import Change, Snapshot

    rnd = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=365)
    per_snapshot = 500
    done = 0
    with Session(ctx.engine) as session:
        while done < events:
            n = min(per_snapshot, events - done)
            source = rnd.choice(SOURCES)
            at = start + timedelta(seconds=365 * 86400 * done / events)
            snap = Snapshot(source=source, fetched_at=at, status="accepted", sha256=uuid.uuid4().hex * 2, parts="{}")
            session.add(snap)
            session.flush()
            rows = []
            for i in range(n):
                name = " ".join(rnd.sample(WORDS, rnd.randint(2, 4)))
                payload = {
                    "kind": "designation", "key": f"{done + i}", "name": name, "entity_type": rnd.choice(TYPES),
                    "aliases": [" ".join(rnd.sample(WORDS, 2)) for _ in range(rnd.randint(0, 3))],
                    "programs": rnd.sample(PROGRAMS, rnd.randint(1, 2)), "countries": ["Russia"],
                    "url": f"https://example.org/entry/{done + i}",
                }
                change = rnd.choices(["added", "removed", "amended"], [6, 2, 2])[0]
                body = json.dumps(payload, ensure_ascii=False)
                fields = (
                    json.dumps([{"field": "aliases", "added": [name], "removed": []}]) if change == "amended" else None
                )
                rows.append(dict(
                    source=source, snapshot_id=snap.id, key=f"{done + i}", kind="designation", change=change,
                    name=name, before=body if change != "added" else None, after=body if change != "removed" else None,
                    fields=fields, created_at=at,
                ))
            session.execute(insert(Change), rows)
            session.commit()
            done += n


def measure(base: str, path: str, repeat: int, check) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Server time (the app's Server-Timing) and CPU time of this process (server thread + client) per request."""
    import requests

    times, cpu, body = [], [], ""
    for _ in range(repeat):
        c0 = time.process_time()
        # pages and feeds as a browser or feed reader on the loopback bind reads them; the API with its token
        headers = {"Authorization": f"Bearer {TOKEN}"} if path.startswith("/api/") else {}
        answer = requests.get(base + path, timeout=60, headers=headers)
        cpu.append((time.process_time() - c0) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        times.append(float(re.search(r"dur=([\d.]+)", answer.headers["server-timing"]).group(1)))
        body = answer.text
    check(body)
    return times, cpu


TOKEN = ""


def main() -> int:
    global TOKEN
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", help="PostgreSQL URL (a fresh schema is made and dropped)")
    args = parser.parse_args()

    import feedparser
    import yaml
    from sqlalchemy import create_engine, func, select, text
    from sqlalchemy.orm import Session

    from notifier.app import build_service
    from notifier.settings import Settings
    from notifier.store.models import Change, ChangeIndex
    from notifier.web.auth import create_token
    from notifier.web.queries import COUNT_CAP
    from notifier.web.server import start_in_thread
    from tests.support.receivers import free_port

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    schema = None
    url = f"sqlite:///{tmp / 'notifier.db'}"
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(args.pg, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{args.pg}?options=-csearch_path%3D{schema}"
    sources = yaml.safe_load((REPO / "config" / "sources.yaml").read_text())["sources"]
    (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": {s: sources[s] for s in SOURCES if s in sources}}))
    (tmp / "subs.yaml").write_text("subscribers: []\n")
    ctx = build_service(Settings(data_dir=tmp / "data", database_url=url, sources_file=tmp / "sources.yaml",
                                 subscriptions_file=tmp / "subs.yaml"))
    known = [s for s in SOURCES if s in ctx.metas]
    assert set(known) == set(SOURCES), f"sources missing from config/sources.yaml: {set(SOURCES) - set(known)}"
    t0 = time.perf_counter()
    fill(ctx, args.events)
    fill_s = time.perf_counter() - t0
    if args.pg:  # what autovacuum does within a minute of such a load: planner statistics for the new rows
        with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    TOKEN = create_token(ctx.engine, "bench", "viewer")
    port = free_port()
    server = start_in_thread(ctx, "127.0.0.1", port)
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"

    with Session(ctx.engine) as session:
        total = session.scalar(select(func.count()).select_from(Change))
        ofac = session.scalar(select(func.count()).select_from(Change).where(Change.source == "us_ofac_sdn"))
        vessels = session.scalar(select(func.count()).select_from(ChangeIndex).where(
            ChangeIndex.entity_type == "vessel", ChangeIndex.programs.like("%|IRAN|%")))
        petrov = session.scalar(select(func.count()).select_from(Change).where(Change.name.like("%petrov%")))
        mid = session.scalar(select(ChangeIndex.seq).order_by(ChangeIndex.seq).offset(total // 2).limit(1))
    assert total == args.events, (total, args.events)

    def page_count(expected: int):  # noqa: ANN202
        def check(body: str) -> None:
            if expected > COUNT_CAP:
                assert f"more than {COUNT_CAP:,} change events" in body
            else:
                shown = int(re.search(r"([\d]+) change events?", body).group(1))
                assert shown == expected, (shown, expected)
            assert body.count('href="/changes/') == min(50, expected) or expected < 50
        return check

    def feed_check(body: str) -> None:
        parsed = feedparser.parse(body.encode())
        assert not parsed.bozo and len(parsed.entries) == 50, (parsed.bozo, len(parsed.entries))

    def cursor_check(body: str) -> None:
        data = json.loads(body)
        assert len(data["items"]) == 100 and data["items"][0]["cursor"] > mid and data["next"] > mid

    recent = (datetime.now(UTC) - timedelta(days=60)).date()
    cases = [
        ("changes page, no filter", "/changes", page_count(total)),
        ("changes page, one source", "/changes?source=us_ofac_sdn", page_count(ofac)),
        ("changes page, program + entity type", "/changes?program=IRAN&entity_type=vessel", page_count(vessels)),
        ("changes page, free text (frequent)", "/changes?q=petrov", page_count(petrov)),
        ("changes page, free text (no match)", "/changes?q=zzzqqq", page_count(0)),
        ("changes page 200 (deep)", "/changes?page=200", page_count(total)),
        ("changes page, date range", f"/changes?from={recent}", lambda body: None),
        ("Atom feed, no filter", "/feeds/changes.atom", feed_check),
        ("Atom feed, source + program", "/feeds/changes.atom?source=us_ofac_sdn&program=SDGT", feed_check),
        ("API delta page (limit 100)", f"/api/changes?since={mid}&limit=100", cursor_check),
    ]
    db = "PostgreSQL" if args.pg else "SQLite"
    print(f"\n{args.events:,} change events on {db} (filled in {fill_s:.0f} s); server time per request, "
          f"{args.repeat} requests each\n")
    print("| request | median ms | p95 ms | CPU ms (median) | goal ms | |\n|---|---|---|---|---|---|")
    lines = [f"{args.events:,} change events on {db}, {args.repeat} requests each, load average "
             f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", "",
             "| request | median ms | p95 ms | CPU ms (median) | goal ms | |", "|---|---|---|---|---|---|"]
    failed = False
    for label, path, check in cases:
        times, cpu = measure(base, path, args.repeat, check)
        med = statistics.median(times)
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        ok = p95 <= GOAL_MS
        failed |= not ok
        row = (f"| {label} | {med:.1f} | {p95:.1f} | {statistics.median(cpu):.1f} | ≤ {GOAL_MS:.0f} | "
               f"{'ok' if ok else 'MISSED'} |")
        print(row)
        lines.append(row)
    server.should_exit = True
    if schema:
        from notifier.store.db import dispose_engines

        dispose_engines()
        with create_engine(args.pg, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    out = REPO / "bench" / "results" / f"web-{db.lower()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("\nall answers checked" + ("; a goal was MISSED" if failed else "; every goal met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
