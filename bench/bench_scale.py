"""Scale benchmark: an OpenSanctions-size list polled through the real pipeline, baseline then 1 % changed,
beside the floor: what reading every line, dropping the volatile fields, dumping it canonically and hashing it
costs in one process (orjson + xxh3), measured in the same run so that the ratio survives a noisy machine.
Goals (issue 15): changed poll <= 2x the floor, baseline poll <= 3x, peak memory <= 400 MB at 1M entities.

    .venv/bin/python bench/bench_scale.py [--sizes 10000,100000,1000000] [--no-postgres] [--work DIR]

For each size N, bench/gen_ftm.py writes N FollowTheMoney target entities and a copy with 1 % of them changed
(half amended, a quarter removed, a quarter added). The `opensanctions` source polls the first file (the
baseline: every record stored) and then the second (the change events), each poll in a child process of its own
(multiprocessing forkserver) that does only the poll, so its ru_maxrss is the poll's peak memory (goal < 1 GB).
Both polls go through fetch (file path: the same size cap, sha256 and archive as HTTP), parse, guard, diff and
the one commit, on SQLite and on PostgreSQL (a throw-away schema). Every poll's outcome is checked against the
generator's counts, so a fast wrong answer fails the run.

Prints a Markdown table and writes it to bench/results/scale.md (git-ignored); generated files are kept in
--work (default bench/results/ftm) for the next run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the repository root is not on the path
    sys.path.insert(0, str(REPO))

from bench.bench_poll import BenchError, machine, pg_schema, run_in_child, say  # noqa: E402
from bench.gen_ftm import derive, generate  # noqa: E402
from notifier.app import build_service  # noqa: E402
from notifier.ingest.pipeline import poll  # noqa: E402
from notifier.settings import Settings  # noqa: E402
from notifier.store.db import dispose_engines  # noqa: E402

SOURCE = "opensanctions"
SIZES = (10_000, 100_000, 1_000_000)
CHANGE_FRACTION = 0.01
GOAL_MB = 400.0
GOAL_CHANGED_X = 2.0
GOAL_BASELINE_X = 3.0
VOLATILE_TOP = ("first_seen", "last_seen", "last_change")
RESULTS = REPO / "bench" / "results"


def snapshot_files(n: int, work: Path) -> tuple[Path, Path, dict[str, int]]:
    """The baseline and the changed file of n entities (generated once, then reused), with the changes made."""
    work.mkdir(parents=True, exist_ok=True)
    base, new, counts_file = work / f"ftm_{n}.jsonl", work / f"ftm_{n}_changed.jsonl", work / f"ftm_{n}_counts.json"
    if not (base.exists() and new.exists() and counts_file.exists()):
        say(f"generating {n:,} entities and the 1 % changed copy in {work}...")
        generate(n, base, seed=1)
        counts_file.write_text(json.dumps(derive(n, new, base, CHANGE_FRACTION, seed=2)))
    return base, new, json.loads(counts_file.read_text())


def child_poll(workdir: str, url: str, db_url: str | None, expected: dict[str, Any]) -> dict[str, Any]:
    """One poll in this (child) process; checks the outcome, returns its time and this process's peak memory."""
    from bench.bench_poll import _maxrss_kb

    sources = Path(workdir) / "sources.yaml"
    sources.write_text(
        yaml.safe_dump(
            {"sources": {SOURCE: {"url": url, "options": {"targets_only": True}, "guard": {"max_drop": 0.05}}}}
        )
    )
    subscriptions = Path(workdir) / "subscriptions.yaml"
    subscriptions.write_text("subscribers: []\n")
    settings = Settings(
        data_dir=Path(workdir) / "data",
        database_url=db_url,
        sources_file=sources,
        subscriptions_file=subscriptions,
        max_download_mb=16384,
        log_level="WARNING",
    )
    try:
        ctx = build_service(settings)
        before_kb = _maxrss_kb()
        cpu, start = _cpu_seconds(), time.perf_counter()
        result = poll(ctx, SOURCE)
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    finally:
        dispose_engines()
    got = {
        "status": result.status,
        "records": result.record_count,
        "added": result.added,
        "removed": result.removed,
        "amended": result.amended,
    }
    if any(got[k] != v for k, v in expected.items()):
        raise BenchError(f"poll gave {got} ({result.reason}), expected {expected}")
    return {"seconds": seconds, "cpu": cpu, "before_kb": before_kb, "maxrss_kb": _maxrss_kb(), **got}


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (the archive's compression too); not the database server's."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_floor(path: str) -> dict[str, Any]:
    """The floor: every line parsed, its bookkeeping dropped, dumped canonically and hashed; nothing else."""
    import orjson
    from xxhash import xxh3_64_intdigest

    from sources.opensanctions import VOLATILE_PROPS

    cpu, start = _cpu_seconds(), time.perf_counter()
    out: dict[str, int] = {}
    with open(path, "rb") as fh:
        for line in fh:
            entity = orjson.loads(line)
            for key in VOLATILE_TOP:
                entity.pop(key, None)
            props = entity.get("properties") or {}
            for key in VOLATILE_PROPS.intersection(props):
                del props[key]
            out[entity["id"]] = xxh3_64_intdigest(orjson.dumps(entity, option=orjson.OPT_SORT_KEYS))
    return {"seconds": time.perf_counter() - start, "cpu": _cpu_seconds() - cpu, "entities": len(out)}


def run_size(n: int, work: Path, db: str, db_url: str | None) -> list[dict[str, Any]]:
    """Baseline and changed poll of n entities on one database; one row each."""
    base, new, made = snapshot_files(n, work)
    expectations = [
        ("baseline", base, {"status": "accepted", "records": n}),
        (
            "1 % changed",
            new,
            {
                "status": "accepted",
                "records": n - made["removed"] + made["added"],
                "added": made["added"],
                "removed": made["removed"],
                "amended": made["amended"],
            },
        ),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for phase, path, expected in expectations:
            say(f"{n:,} entities, {db}, {phase} poll...")
            _, out = run_in_child(child_poll, tmp, str(path), db_url, expected)
            _, floor = run_in_child(child_floor, str(path))  # right after: the same load on the machine
            if floor["entities"] != n - (0 if phase == "baseline" else made["removed"] - made["added"]):
                raise BenchError(f"floor read {floor['entities']} entities")
            rows.append(
                {"entities": n, "db": db, "phase": phase, "size_mb": path.stat().st_size / 1e6, "floor": floor, **out}
            )
            say(
                f"  {out['seconds']:.1f} s (floor {floor['seconds']:.1f} s), CPU {out['cpu']:.1f} s (floor "
                f"{floor['cpu']:.1f} s), peak {out['maxrss_kb'] / 1024:.0f} MB"
            )
    return rows


def ratio(row: dict[str, Any]) -> float:
    return row["seconds"] / row["floor"]["seconds"]


def goal_x(row: dict[str, Any]) -> float:
    return GOAL_BASELINE_X if row["phase"] == "baseline" else GOAL_CHANGED_X


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| Entities | File | Database | Poll | Time | Floor | Ratio (goal) | CPU: poll / floor (ratio) "
        "| Peak memory (child maxrss) | Records | Added / removed / amended |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        changes = "-" if r["phase"] == "baseline" else f"{r['added']:,} / {r['removed']:,} / {r['amended']:,}"
        peak = r["maxrss_kb"] / 1024
        x, goal = ratio(r), goal_x(r)
        lines.append(
            f"| {r['entities']:,} | {r['size_mb']:.0f} MB | {r['db']} | {r['phase']} | {r['seconds']:.2f} s "
            f"| {r['floor']['seconds']:.2f} s | {x:.1f}x (<= {goal:.0f}x){'' if x <= goal else ' **missed**'} "
            f"| {r['cpu']:.2f} s / {r['floor']['cpu']:.2f} s ({r['cpu'] / r['floor']['cpu']:.1f}x) "
            f"| {peak:.0f} MB{'' if peak <= GOAL_MB else ' **over 400 MB**'} | {r['records']:,} | {changes} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated entity counts")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--work", type=Path, default=RESULTS / "ftm", help="where generated files are kept")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    import os

    load_at_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for n in sizes:
        rows += run_size(n, args.work, "SQLite", None)
        if not args.no_postgres:
            try:
                with pg_schema() as url:
                    rows += run_size(n, args.work, "PostgreSQL", url)
            except BenchError:
                raise
            except Exception as exc:  # the server is optional on a laptop
                notes.append(f"PostgreSQL run of {n:,} skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    report = "\n".join(
        [
            "# Scale benchmark (OpenSanctions FtM entities, baseline then 1 % changed)",
            "",
            f"Machine: {machine(load_at_start)}",
            "",
            table(rows),
            "",
            "Time: the whole poll (fetch from a local file with sha256 and archive, parse, guard, diff, one commit).",
            "CPU: the poll's process, all its threads (not the database server's), beside the floor's: on a loaded",
            "machine wall times mostly measure waiting for a core, so the CPU ratio is the steadier figure.",
            "Peak memory: ru_maxrss of a forkserver child that builds the service and runs only that poll.",
            *(f"- {n}" for n in notes),
            "",
        ]
    )
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.md").write_text(report, encoding="utf-8")
    met = all(r["maxrss_kb"] / 1024 <= GOAL_MB and ratio(r) <= goal_x(r) for r in rows)
    print("all goals met" if met else "some goals missed (marked in the table)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
