"""Embedded broker candidates side by side: two producer processes and one consumer on one machine.

Each candidate carries the same messages (two producers x N, with a 4 kB body like a poll or delivery message);
the consumer counts what it got, how many it could not decode, and whether it crashed. Candidates: kombu's
filesystem transport (the old default), ours (tasks/broker.py: atomic writes and claims) and kombu's SQLAlchemy
transport on a SQLite file. The check: every message arrives exactly once, no crash.

    python bench/bench_broker.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BODY = "x" * 4000


def connection(kind: str, folder: Path):  # noqa: ANN201
    from kombu import Connection

    import tasks.broker  # noqa: F401  (registers notifierfs://)

    if kind == "sqlite":
        return Connection(f"sqla+sqlite:///{folder / 'broker.db'}")
    opts = {"data_folder_in": str(folder / "q"), "data_folder_out": str(folder / "q"), "control_folder": str(folder)}
    opts["processed_folder"] = str(folder / "p")
    return Connection("filesystem://" if kind == "kombu-fs" else "notifierfs://", transport_options=opts)


def produce(kind: str, folder: Path, start: int, n: int) -> None:
    with connection(kind, folder) as conn:
        q = conn.SimpleQueue("bench")
        for i in range(start, start + n):
            q.put({"i": i, "body": BODY})
        q.close()


def consume(kind: str, folder: Path, total: int, out: mp.Queue) -> None:
    seen: list[int] = []
    error = ""
    try:
        with connection(kind, folder) as conn:
            q = conn.SimpleQueue("bench")
            idle_until = time.monotonic() + 10
            while len(seen) < total and time.monotonic() < idle_until:
                try:
                    msg = q.get(timeout=0.05)
                except q.Empty:
                    continue
                seen.append(msg.payload["i"])
                msg.ack()
                idle_until = time.monotonic() + 10
            q.close()
    except Exception as exc:  # the consumer's crash is the finding
        error = f"{type(exc).__name__}: {str(exc)[:80]}"
    out.put((seen, error))


def run(kind: str, n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for sub in ("q", "p"):
            (folder / sub).mkdir()
        produce(kind, folder, -1, 0)  # create tables / bindings before the race starts
        out: mp.Queue = mp.Queue()
        started = time.perf_counter()
        consumer = mp.Process(target=consume, args=(kind, folder, 2 * n, out))
        consumer.start()
        producers = [mp.Process(target=produce, args=(kind, folder, k * n, n)) for k in range(2)]
        for p in producers:
            p.start()
        for p in producers:
            p.join()
        seen, error = out.get()
        consumer.join()
        elapsed = time.perf_counter() - started
    return {
        "kind": kind,
        "received": len(seen),
        "unique": len(set(seen)),
        "error": error,
        "msg_per_s": len(seen) / elapsed if elapsed else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000, help="messages per producer (two producers)")
    args = parser.parse_args()
    total = 2 * args.messages
    print(f"goal: {total} messages received exactly once, consumer never crashes")
    ok = True
    for kind in ("kombu-fs", "notifierfs", "sqlite"):
        r = run(kind, args.messages)
        exact = r["received"] == r["unique"] == total and not r["error"]
        if kind != "kombu-fs":
            ok &= exact
        print(
            f"{kind:11s} received {r['received']:5d}/{total} unique {r['unique']:5d} "
            f"{r['msg_per_s']:7.0f} msg/s  {'ok' if exact else 'FAIL'} {r['error']}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
