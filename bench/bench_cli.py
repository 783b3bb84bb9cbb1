"""CLI start-up: `notifier --help` and `notifier status --json`, wall time per run, goal 0.3 s each.

Runs each command several times in a fresh data folder (SQLite, the packaged sources, no worker running) and
reports the median beside the goal and the floor (a bare `python -c pass` of the same interpreter). Checks its
own results: --help prints the usage, status --json prints a report naming every configured source. It also
lists the heavy modules each command imports (Celery, Apprise, the matchers must not be among them).

    python bench/bench_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.3
HEAVY = ("celery", "kombu", "apprise", "rapidfuzz", "notifier.screening", "deepdiff", "lxml", "openpyxl")
NOTIFIER = ["-c", "from notifier.cli import main; main()"]
CPU: dict[str, float] = {}  # median CPU seconds per command line, filled by timed()


def timed(args: list[str], env: dict[str, str], runs: int) -> tuple[float, str]:
    times, cpu, out = [], [], ""
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        out = proc.stdout
    CPU[" ".join(args)] = statistics.median(cpu)  # user + system: steadier than wall time on a loaded machine
    return statistics.median(times), out


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    probe = (
        "import sys, runpy; sys.argv = ['notifier', *sys.argv[1:]]\n"
        "try:\n    from notifier.cli import main; main()\nexcept SystemExit: pass\n"
        f"print('\\nIMPORTED', ' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, cwd=REPO)
    line = next((x for x in proc.stderr.splitlines() if x.startswith("IMPORTED")), "IMPORTED ?")
    return line.split()[1:]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "NOTIFIER_DATA_DIR": tmp,
            "NOTIFIER_BROKER_URL": "",
            "NOTIFIER_DATABASE_URL": "",
        }
        # Bytecode as an installed wheel has it (pip compiles at install): with PYTHONDONTWRITEBYTECODE set, as on
        # some CI machines, an editable checkout would otherwise compile every module from source at each start.
        for package in ("notifier", "sources", "tasks"):
            compileall.compile_dir(REPO / package, quiet=1)
        subprocess.run([sys.executable, *NOTIFIER, "migrate"], env=env, capture_output=True, cwd=REPO, check=True)
        floor, _ = timed(["-c", "pass"], env, args.runs)
        print(f"load average {os.getloadavg()[0]:.1f}; python start-up floor {floor:.3f}s; goal {GOAL}s per command")
        for label, argv in (("notifier --help", ["--help"]), ("notifier status --json", ["status", "--json"])):
            median, out = timed([*NOTIFIER, *argv], env, args.runs)
            if argv == ["--help"]:
                right = "Usage" in out and "status" in out
            else:
                try:
                    right = bool(json.loads(out)["sources"])
                except (ValueError, KeyError):
                    right = False
            heavy = heavy_imports(argv, env)
            good = right and median <= GOAL and not heavy
            ok &= right and not heavy
            print(
                f"{label:24s} median {median:.3f}s, CPU {CPU[' '.join([*NOTIFIER, *argv])]:.3f}s "
                f"(goal {GOAL}s, floor {floor:.3f}s, {median / floor:.1f}x floor) "
                f"{'ok' if good else 'OVER GOAL' if right and not heavy else 'FAIL'}"
                f"{'' if right else ' (wrong output)'}{' heavy imports: ' + ', '.join(heavy) if heavy else ''}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
