"""The embedded broker under stress: `notifier run` with two pool processes takes thousands of poll and delivery
messages, written by several processes at once while its pool processes are killed, and never dies.

kombu's filesystem transport let a reader take a message file that was still being written and the worker died
on the half message (kombu#1551); tasks/broker.py writes under a temporary name and renames. A message file
that is damaged anyway is set aside with an error line, and the worker goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from tasks.app import make_app
from tests.support.http import LocalServer
from tests.support.receivers import WebhookReceiver
from tests.support.service import ServiceProcess, configure, settings_for, wait_for
from tests.test_faults_workers import pool_children

pytestmark = pytest.mark.slow
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "un_sc", "consolidated.xml")
PER_PRODUCER = 500  # two producers, each half polls half deliveries: 2,000 messages

PRODUCE = """
import sys
from tasks.app import make_app
app = make_app()
n = int(sys.argv[1])
for i in range(n):
    if i % 2:
        app.send_task("tasks.poll.poll_source", ("un_sc",), queue="poll")
    else:
        app.send_task("tasks.deliver.deliver", (10_000_000 + i,), queue="deliver")
"""


def pool_pids(data_dir, pid: int) -> list[int]:  # noqa: ANN001
    """The pool processes as the worker's heartbeat lists them (the embedded beat is a child process too)."""
    from notifier.ops.heartbeat import FileHeartbeats

    beats = [b for b in FileHeartbeats(data_dir / "heartbeats").read("worker") if b.pid == pid]
    alive = set(pool_children(pid))
    return [p for b in beats for p in b.info.get("pids", []) if p in alive]


def snapshots(data_dir) -> int:  # noqa: ANN001
    engine = create_engine(f"sqlite:///{data_dir / 'notifier.db'}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from snapshot")).scalar()
    finally:
        engine.dispose()


def queued(data_dir) -> int:  # noqa: ANN001
    return sum(1 for _ in (data_dir / "broker" / "queue").glob("*.msg"))


def test_notifier_run_takes_thousands_of_messages_from_racing_writers_and_pool_kills_without_dying(tmp_path):
    hook = WebhookReceiver()
    with open(FIXTURE, "rb") as f:
        body = f.read()
    with LocalServer() as server:
        url = server.serve("/un.xml", body)
        env = configure(
            tmp_path,
            {"un_sc": {"url": url, "schedule": "5m", "title": "UN Security Council"}},
            [{"name": "desk", "channels": [{"url": hook.url()}]}],
            NOTIFIER_BROKER_URL="",
            NOTIFIER_FIRST_POLL_JITTER="0",
        )
        data = tmp_path / "data"
        run = ServiceProcess(["run", "--concurrency", "2"], env, tmp_path, "run").start()
        try:
            wait_for(lambda: "poll accepted" in run.log(), 90, what="the baseline poll")
            producers = [
                subprocess.Popen(
                    [sys.executable, "-c", PRODUCE, str(PER_PRODUCER)],
                    env={**os.environ, **env, "PYTHONPATH": os.getcwd()},
                    cwd=tmp_path,
                )
                for _ in range(2)
            ]
            kills = 0
            while any(p.poll() is None for p in producers):
                children = pool_pids(data, run.proc.pid)
                if kills < 6 and len(children) >= 2:
                    os.kill(children[kills % 2], signal.SIGKILL)  # as the OOM killer would
                    kills += 1
                time.sleep(1)  # pacing the kills, not waiting for an outcome
                assert run.proc.poll() is None, run.log()[-3000:]
            assert [p.wait() for p in producers] == [0, 0]
            wait_for(lambda: not queued(data), 600, what="the queues to drain")
            # Still working after all that: one more poll is taken and stored.
            before = snapshots(data)
            producer = make_app(settings_for(env))
            producer.send_task("tasks.poll.poll_source", ("un_sc",), queue="poll")
            producer.close()
            wait_for(lambda: snapshots(data) > before, 60, what="a poll after the storm")
            assert run.proc.poll() is None
        finally:
            code = run.stop(30)
            hook.close()
    log = run.log()
    assert kills >= 1, "pool processes were killed while messages flowed"
    assert "Unrecoverable error" not in log and "JSONDecodeError" not in log
    assert not list((data / "broker" / "bad").glob("*")), "no message was unreadable"
    assert code == 0, "the worker was still alive and stopped cleanly"
