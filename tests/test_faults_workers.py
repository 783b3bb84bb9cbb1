"""Workers killed with SIGKILL, over and over, while real publications change: nothing is lost, nothing doubled.

Three sources move through real successive publications (OFAC consolidated 10-22 -> 12-18, sdn.csv 02-20 ->
02-23 -> 05-03, UN 12-09 -> 12-10) served by a local server, while the worker is killed at least 20 times: in
the middle of a poll (its source lock held), in the middle of a delivery (a row being sent), and at random; half
the kills take the whole worker, the others only its pool processes (as the OOM killer would). After each kill
the tasks the dead worker may have held are sent again, as the broker redelivers them. Beat keeps running.
At the end every change event is recorded exactly once, and every subscriber's receiver got each part of each
alert exactly once; the only repeats allowed are the parts a killed worker was sending when it died (it cannot
know whether they arrived, and the service chooses a repeat over a loss), counted at each kill; and a receiver
that drops repeated X-Notifier-Ids (the same id for the same part, whatever the attempt) gets every part once.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import random
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from notifier.app import build_service
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.ledger import Ledger
from tests.support.receivers import SmtpSink, WebhookReceiver
from tests.support.servers import RedisServer
from tests.support.service import ServiceProcess, configure, relay_runs, settings_for, wait_for

pytestmark = pytest.mark.slow

KILLS = 20
VERSIONS = {
    "us_ofac_cons": [
        "ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML",
        "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML",
    ],
    "us_ofac_sdn": [
        "ofac/sdn_csv/2024-02-20_sdn.csv",
        "ofac/sdn_csv/2024-02-23_sdn.csv",
        "ofac/sdn_csv/2024-05-03_sdn.csv",
    ],
    "un_sc": ["un/2025-12-09_consolidated.xml", "un/2025-12-10_consolidated.xml"],
}
# The real changes between successive publications: (added, removed, amended); 1,287 change events in all.
CHANGES = {
    "us_ofac_cons": [(0, 0, 0), (0, 1, 0)],
    "us_ofac_sdn": [(0, 0, 0), (553, 0, 8), (587, 106, 31)],
    "un_sc": [(0, 0, 0), (0, 1, 0)],
}
TITLES = {"us_ofac_cons": "OFAC Consolidated", "us_ofac_sdn": "OFAC SDN", "un_sc": "UN Security Council"}


def snapshot_sha(body: bytes) -> str:
    """The sha256 a one-part snapshot is stored under (pipeline._combined_sha)."""
    return hashlib.sha256(f"main:{hashlib.sha256(body).hexdigest()}\n".encode()).hexdigest()


def pool_children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def dead(pid: int) -> bool:
    """Gone, or a zombie waiting to be reaped: either way it runs no more code."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Fleet:
    """The worker under fire, the beat beside it, and what the database and Redis say at any moment."""

    def __init__(self, tmp_path: Path, env: dict[str, str], redis: RedisServer, engine) -> None:  # noqa: ANN001
        self.tmp_path, self.env, self.redis, self.engine = tmp_path, env, redis, engine
        self.starts = 0
        self.worker = self._start()

    def _start(self) -> ServiceProcess:
        self.starts += 1
        return ServiceProcess(["worker", "--concurrency", "2"], self.env, self.tmp_path, f"worker{self.starts}").start()

    def ready(self) -> bool:
        return "ready" in self.worker.log() and len(pool_children(self.worker.proc.pid)) >= 2

    def polling(self) -> bool:
        with self.redis.client() as c:
            return bool(c.keys("notifier:lock:poll:*"))

    def sending(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(text("select count(*) from delivery where status = 'sending'")).scalar())

    def kill(self, whole: bool) -> None:
        """SIGKILL the worker (then start a new one) or only its pool processes; returns once they are dead."""
        if whole:
            self.worker.kill()  # waits for the main process; the pool processes die with the group
            self.worker = self._start()
            return
        children = pool_children(self.worker.proc.pid)
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: all(dead(child) for child in children), 60, interval=0.05, what="the pool processes to die")

    def progress(self) -> tuple[int, int]:
        """What the service has got done so far: accepted snapshots and sent deliveries."""
        with self.engine.connect() as conn:
            return (
                conn.execute(text("select count(*) from snapshot where status = 'accepted'")).scalar(),
                conn.execute(text("select count(*) from delivery where status = 'sent'")).scalar(),
            )

    def redeliver(self) -> int:
        """Send again every task the dead worker may have held, as Redis does once their visibility timeout ends:
        a poll per source and a delivery per unsent row (the broker delivers at least once, sometimes twice)."""
        from tasks.app import make_app

        producer = make_app(settings_for(self.env))
        with self.engine.connect() as conn:
            ids = conn.execute(text("select id from delivery where status in ('pending', 'sending')")).scalars().all()
        for delivery_id in ids:
            producer.send_task("tasks.deliver.deliver", (delivery_id,), queue="deliver")
        for source in VERSIONS:
            producer.send_task("tasks.poll.poll_source", (source,), queue="poll")
        producer.close()
        return len(ids)

    def accepted(self, source: str, body: bytes) -> bool:
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    text("select count(*) from snapshot where source = :s and sha256 = :h and status = 'accepted'"),
                    {"s": source, "h": snapshot_sha(body)},
                ).scalar()
            )


def test_twenty_sigkills_mid_poll_and_mid_delivery_lose_and_double_nothing(tmp_path, pg_url):
    rng = random.Random(20251218)
    bodies = {s: [real(p).read_bytes() for p in paths] for s, paths in VERSIONS.items()}
    desk, russia = WebhookReceiver(), WebhookReceiver()
    desk.hang = russia.hang = 0.25  # a receiver taking its time: deliveries are long enough to be killed mid-way
    mail = SmtpSink().start()
    redis = RedisServer(tmp_path / "redis").start()
    fleet = beat = None
    stats = {"kills": 0, "whole": 0, "mid_poll": 0, "mid_delivery": 0, "parts_in_doubt": 0, "redelivered": 0}
    try:
        with LocalServer() as server:
            serving = dict.fromkeys(VERSIONS, 0)

            def publish(source: str) -> None:
                kind = "text/csv" if source == "us_ofac_sdn" else "application/xml"
                server.serve(f"/{source}", bodies[source][serving[source]], delay=0.7, content_type=kind)

            for source in VERSIONS:
                publish(source)
            sources = {s: {"url": server.url(f"/{s}"), "schedule": "5s", "title": TITLES[s]} for s in VERSIONS}
            subscribers = [
                {"name": "desk", "channels": [{"url": desk.url("/desk")}]},
                {"name": "mail", "channels": [{"url": mail.url("compliance@example.com")}]},
                {
                    "name": "russia",
                    "channels": [{"url": russia.url("/russia")}],
                    "filters": {"programs": ["RUSSIA-EO14024"]},
                },
            ]
            env = configure(
                tmp_path,
                sources,
                subscribers,
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=pg_url,
                NOTIFIER_POLL_LOCK_LEASE="3",
            )
            svc = build_service(settings_for(env))
            ledger = Ledger(svc, [desk, russia], [mail])
            beat = ServiceProcess(["beat"], env, tmp_path, "beat").start()
            fleet = Fleet(tmp_path, env, redis, svc.engine)

            def advance() -> bool:
                """Publish each source's next version once the current one is stored; True when all are done."""
                done = True
                for source, versions in bodies.items():
                    if fleet.accepted(source, versions[serving[source]]):
                        if serving[source] + 1 < len(versions):
                            serving[source] += 1
                            publish(source)
                            done = False
                    else:
                        done = False
                return done

            def owed() -> bool:
                """Something is left to do: a version not yet stored, or an alert not yet sent."""
                return not finished or any(r.status != "sent" for r in ledger.rows())

            def moved(before: tuple[int, int]) -> bool:
                nonlocal finished
                finished = advance() or finished
                return fleet.progress() != before or not owed()

            targets = itertools.cycle(["poll", "delivery", "poll", "random", "delivery", "poll"])
            finished = False
            while not (finished and stats["kills"] >= KILLS):
                wait_for(fleet.ready, 120, what=f"the worker to be ready ({stats})")
                target = next(targets)
                condition = {"poll": fleet.polling, "delivery": fleet.sending, "random": lambda: False}[target]
                # A delivery kill waits for a delivery on the wire while any is still to come (a version not yet
                # stored, a row not yet sent): a loaded worker can take a while to reach one. A poll comes within
                # the 5 s schedule.
                patient = target == "delivery" and owed()
                end = time.monotonic() + (rng.uniform(0.3, 2.5) if target == "random" else 120 if patient else 6)
                while time.monotonic() < end and not condition():
                    finished = advance() or finished
                    time.sleep(0.02)
                time.sleep(rng.uniform(0, 0.25))  # where the kill lands: random, not a wait for an outcome
                mid_poll, mid_delivery = fleet.polling(), fleet.sending()
                whole = stats["kills"] % 2 == 0
                fleet.kill(whole)
                doubtful = ledger.note_kill()
                stats["redelivered"] += fleet.redeliver()
                stats["kills"] += 1
                stats["whole"] += whole
                stats["mid_poll"] += mid_poll
                stats["mid_delivery"] += mid_delivery or bool(doubtful)
                stats["parts_in_doubt"] += doubtful
                finished = advance() or finished

                # The next kill waits for the service to get one more thing done (a snapshot stored, a delivery
                # sent). On a loaded machine a poll of sdn.csv can take longer than the kills are apart: killing
                # every attempt would be the test's livelock, not the service's. A service that cannot make
                # progress after a kill still fails here, after a generous bound.
                moved_since = functools.partial(moved, fleet.progress())
                wait_for(moved_since, 180, interval=0.1, what=f"progress after a kill ({stats}, {serving})")

            # No more kills: everything owed must arrive, and nothing more.
            def settled() -> bool:
                advance()
                if any(r.status != "sent" for r in ledger.rows()):
                    return False
                return not ledger.problems()["missing"]

            wait_for(settled, 120, interval=0.5, what="every alert to be delivered")
            relay_runs(env)  # several relay runs later: nothing is sent twice
            problems = ledger.problems()
            stats["alerts_owed"] = sum(ledger.expected().values())
            stats["duplicates"] = ledger.duplicates()
            arrivals = ledger.arrivals()
    finally:
        for p in (fleet.worker if fleet else None, beat):
            if p:
                p.stop(10)
        desk.close()
        russia.close()
        mail.stop()
        redis.stop()
    print(f"worker kills: {stats}")

    with svc.engine.connect() as conn:
        snaps = conn.execute(
            text("select source, added, removed, amended from snapshot where status = 'accepted' order by id")
        ).all()
        events = conn.execute(text("select count(*), count(distinct (snapshot_id, key)) from change")).one()
        rows = conn.execute(
            text("select count(*), count(distinct (snapshot_id, subscriber, channel)) from delivery")
        ).one()
    for source, expected in CHANGES.items():
        assert [(a, r, m) for s, a, r, m in snaps if s == source] == expected, f"{source}: one snapshot per version"
    assert events == (1287, 1287), "every change event recorded exactly once"
    assert rows[0] == rows[1], "one outbox row per (snapshot, subscriber, channel)"
    assert problems == {"missing": {}, "unexpected": {}, "duplicated": {}, "not once by id": {}}, problems
    assert all(message_id for _key, message_id in arrivals), "every part carries its X-Notifier-Id"
    assert stats["kills"] >= KILLS and stats["mid_poll"] >= 3 and stats["mid_delivery"] >= 3, stats
