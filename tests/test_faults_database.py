"""PostgreSQL connections dropped mid-transaction and the server restarted under a running service.

A snapshot is written in one transaction (snapshot, records, change events, outbox rows, source state): cut it
anywhere and nothing of it remains; the poll is redone (by the task's retry) and its changes are recorded once.
The shared server is never restarted: connections are cut with pg_terminate_backend (found by the test's own
application_name), and the restart test runs a private cluster of its own.
"""

from __future__ import annotations

import re
import threading
import time
import uuid

import pytest
import yaml
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from notifier.app import build_service
from notifier.ingest.pipeline import poll
from notifier.settings import Settings
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.ledger import Ledger
from tests.support.receivers import WebhookReceiver
from tests.support.servers import PostgresServer, RedisServer
from tests.support.service import ServiceProcess, configure, relay_runs, settings_for, wait_for

SDN = "ofac/sdn_csv"
TABLES = ("snapshot", "record", "change", "delivery", "source_state")
WRITING = "^\\s*insert into (record|change|delivery)"  # a snapshot's transaction, past its first row


def state_of(engine) -> dict[str, object]:  # noqa: ANN001
    """Everything a poll writes, summed up: row counts, and the stored records' keys and hashes."""
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"select count(*) from {t}")).scalar() for t in TABLES}
        counts["records"] = hash(frozenset(conn.execute(text("select key, hash, removed_at from record")).all()))
        counts["source_state"] = tuple(conn.execute(text("select revision, validators from source_state")).all())
    return counts


def _with_app_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["snapshot", "record", "change", "delivery", "source_state", "commit"])
def test_a_connection_cut_anywhere_in_the_snapshot_transaction_leaves_nothing_and_the_redo_records_once(
    tmp_path, pg_url, pg_admin, where
):
    app_name = f"fault-{uuid.uuid4().hex[:10]}"
    url = _with_app_name(pg_url, app_name)
    hook = WebhookReceiver()
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": {"us_ofac_sdn": {"url": "unused"}}}))
    subs = {"subscribers": [{"name": "desk", "channels": [{"url": hook.url("/desk")}]}]}
    (tmp_path / "subs.yaml").write_text(yaml.safe_dump(subs))
    svc = build_service(
        Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            sources_file=tmp_path / "sources.yaml",
            subscriptions_file=tmp_path / "subs.yaml",
        )
    )
    try:
        poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
        before = state_of(svc.engine)
        cut: list[int] = []

        def terminate() -> None:
            with pg_admin.connect() as conn:
                cut.extend(
                    conn.execute(
                        text(
                            "select pg_terminate_backend(pid) from pg_stat_activity "
                            "where application_name = :n and xact_start is not null"
                        ),
                        {"n": app_name},
                    ).scalars()
                )

        def before_statement(conn, cursor, statement, params, context, executemany):  # noqa: ANN001, ANN202
            head = statement.lstrip().lower()
            if not cut and (
                (where == "source_state" and head.startswith("update source_state set") and "last_success_at" in head)
                or (where != "source_state" and head.startswith(f"insert into {where}"))
            ):
                terminate()

        def before_commit(conn):  # noqa: ANN001, ANN202
            if where == "commit" and not cut and conn.in_transaction():
                statements = conn.info.get("fault_writes", 0)
                if statements:
                    terminate()

        def count_writes(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
            if statement.lstrip().lower().startswith(("insert", "update")):
                conn.info["fault_writes"] = conn.info.get("fault_writes", 0) + 1

        event.listen(svc.engine, "before_cursor_execute", before_statement)
        event.listen(svc.engine, "before_cursor_execute", count_writes)
        event.listen(svc.engine, "commit", before_commit)
        with pytest.raises(OperationalError):
            poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
        assert cut == [True], f"the transaction was cut at {where}"
        event.remove(svc.engine, "before_cursor_execute", before_statement)
        event.remove(svc.engine, "commit", before_commit)
        assert state_of(svc.engine) == before, "no partial snapshot: not one row of the cut transaction remains"

        redo = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
        assert (redo.status, redo.added, redo.removed, redo.amended) == ("accepted", 553, 0, 8)
        after = state_of(svc.engine)
        assert (after["snapshot"], after["change"], after["delivery"]) == (before["snapshot"] + 1, 561, 1)
    finally:
        hook.close()


class BackendCutter(threading.Thread):
    """Watches pg_stat_activity and cuts the service's connection the first time it is mid-way through writing
    a snapshot (inside the transaction, at or after its records)."""

    def __init__(self, admin_url: str, app_name: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.app_name, self.cut, self.stop = app_name, 0, threading.Event()

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.is_set() and not self.cut:
                self.cut = sum(
                    conn.execute(
                        text(
                            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = :n "
                            f"and xact_start is not null and query ~* '{WRITING}'"
                        ),
                        {"n": self.app_name},
                    ).scalars()
                )
                time.sleep(0.003)
        self.engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_worker_whose_connection_is_cut_mid_commit_retries_the_poll_by_itself(tmp_path, pg_url):
    app_name = f"fault-{uuid.uuid4().hex[:10]}"
    hook = WebhookReceiver()
    redis = RedisServer(tmp_path / "redis").start()
    worker = None
    try:
        with LocalServer() as server:
            server.serve("/sdn.csv", real(f"{SDN}/2024-02-20_sdn.csv").read_bytes(), content_type="text/csv")
            env = configure(
                tmp_path,
                {"us_ofac_sdn": {"url": server.url("/sdn.csv"), "schedule": "1h"}},
                [{"name": "desk", "channels": [{"url": hook.url("/desk")}]}],
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=_with_app_name(pg_url, app_name),
            )
            svc = build_service(settings_for({**env, "NOTIFIER_DATABASE_URL": pg_url}))
            ledger = Ledger(svc, [hook], [])
            worker = ServiceProcess(["worker", "--concurrency", "1"], env, tmp_path, "worker").start()
            from tasks.app import make_app

            producer = make_app(settings_for(env))
            producer.send_task("tasks.poll.poll_source", ("us_ofac_sdn",), queue="poll")
            wait_for(lambda: state_of(svc.engine)["snapshot"] == 1, 60, what="the baseline")

            server.serve("/sdn.csv", real(f"{SDN}/2024-02-23_sdn.csv").read_bytes(), content_type="text/csv")
            cutter = BackendCutter(pg_url.split("?")[0], app_name)
            cutter.start()
            producer.send_task("tasks.poll.poll_source", ("us_ofac_sdn",), queue="poll")
            producer.close()
            wait_for(lambda: cutter.cut, 120, what="the worker's connection to be cut mid-commit")
            wait_for(lambda: state_of(svc.engine)["snapshot"] == 2, 120, what="the retried poll")
            wait_for(lambda: ledger.rows() and all(r.status == "sent" for r in ledger.rows()), 90, what="alerts")
            time.sleep(2)
            log = worker.log()
            problems = ledger.problems()
    finally:
        if worker:
            worker.stop(10)
        hook.close()
        redis.stop()
    assert "Retry in" in log and "OperationalError" in log, "the task retried itself after the cut"
    with svc.engine.connect() as conn:
        assert conn.execute(text("select count(*) from change")).scalar() == 561, "the changes recorded once"
        assert conn.execute(text("select count(*) from snapshot where status = 'accepted'")).scalar() == 2
    assert problems == {"missing": {}, "unexpected": {}, "duplicated": {}, "not once by id": {}}, problems


@pytest.mark.slow
def test_postgresql_restarted_mid_commit_under_a_running_service_loses_and_doubles_nothing(tmp_path):
    hook = WebhookReceiver()
    hook.hang = 0.2
    redis = RedisServer(tmp_path / "redis").start()
    pg = PostgresServer().start()
    procs: list[ServiceProcess] = []
    try:
        with create_engine(pg.url(), isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("create database notifier"))
        db_url = pg.url("notifier")
        with LocalServer() as server:
            server.serve("/sdn.csv", real(f"{SDN}/2024-02-20_sdn.csv").read_bytes(), content_type="text/csv")
            env = configure(
                tmp_path,
                {"us_ofac_sdn": {"url": server.url("/sdn.csv"), "schedule": "5s", "title": "OFAC SDN"}},
                # Every entry in the message, no attachment: an alert of several parts, so the restart lands
                # while its parts are being sent and recorded.
                [{"name": "desk", "attach_above": None, "channels": [{"url": hook.url("/desk")}]}],
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=_with_app_name(db_url, "notifier-service"),
                NOTIFIER_CLAIM_TIMEOUT="10",  # a sent part's record waits up to half of it for the database
            )
            svc = build_service(settings_for({**env, "NOTIFIER_DATABASE_URL": db_url}))
            ledger = Ledger(svc, [hook], [])
            procs = [
                ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker").start(),
                ServiceProcess(["beat"], env, tmp_path, "beat").start(),
            ]
            wait_for(lambda: state_of(svc.engine)["snapshot"] >= 1, 60, what="the baseline")

            server.serve("/sdn.csv", real(f"{SDN}/2024-02-23_sdn.csv").read_bytes(), content_type="text/csv")
            mid_commit = False
            end = time.monotonic() + 120
            with create_engine(pg.url(), isolation_level="AUTOCOMMIT").connect() as conn:
                while time.monotonic() < end and not mid_commit:
                    mid_commit = bool(
                        conn.execute(
                            text(
                                "select count(*) from pg_stat_activity where application_name = 'notifier-service' "
                                f"and xact_start is not null and query ~* '{WRITING}'"
                            )
                        ).scalar()
                    )
                    time.sleep(0.003)
            assert mid_commit, "caught the poll in the middle of its transaction"
            pg.restart(down_for=2)  # an immediate stop: a crash, every connection cut
            svc.engine.dispose()
            wait_for(lambda: state_of(svc.engine)["snapshot"] >= 2, 90, what="the poll redone after the restart")
            # And once more while the alert's parts are being sent.
            wait_for(lambda: any(r.status == "sending" for r in ledger.rows()), 90, what="a delivery under way")
            pg.restart(down_for=1)
            svc.engine.dispose()
            wait_for(lambda: all(r.status == "sent" for r in ledger.rows()), 120, what="every alert delivered")
            relay_runs(env)  # a few relay runs later: nothing is sent twice
            problems = ledger.problems()
            assert [p.proc.poll() for p in procs] == [None, None]
            log = procs[0].log()
            with svc.engine.connect() as conn:
                accepted = conn.execute(
                    text("select added, removed, amended from snapshot where status = 'accepted' order by id")
                ).all()
                events = conn.execute(text("select count(*) from change")).scalar()
            svc.engine.dispose()
    finally:
        for p in procs:
            p.stop(10)
        hook.close()
        redis.stop()
        pg.close()
    assert accepted == [(0, 0, 0), (553, 0, 8)] and events == 561, "one snapshot per publication, changes once"
    assert problems["missing"] == {} and problems["unexpected"] == {} and problems["not once by id"] == {}, problems
    assert problems["duplicated"] == {}, "no part sent twice: a sent part's record survives the restart"
    assert "retry: Retry in" in log, "the poll task retried itself"
    # Where the restart lands in a send is timing: a part's record waits for the database, or the deliver task
    # retries and resumes after the parts already recorded. Either way no part went twice (asserted above).
    waited = "recording a sent part failed; retrying" in log
    resumed = re.search(r"tasks\.deliver\.deliver\[[^\]]+\] retry: Retry in", log) is not None
    assert waited or resumed, "the restart hit a send: its record waited for the database or the task resumed"


def test_two_polls_racing_on_one_source_commit_one_snapshot(make_ctx):
    """Without any lock, the revision check alone lets one of two identical polls commit; the other is dropped."""
    svc = make_ctx({"us_ofac_sdn": {"url": "unused"}})
    poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
    both_ready = threading.Barrier(2, timeout=120)

    def at_the_commit(conn, cursor, statement, params, context, executemany):  # noqa: ANN001, ANN202
        if statement.lstrip().lower().startswith("update source_state set last_poll_at"):
            both_ready.wait()  # both polls have diffed the same prior state; now both try to commit

    event.listen(svc.engine, "before_cursor_execute", at_the_commit)
    results = []
    racers = [
        threading.Thread(
            target=lambda: results.append(poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))}))
        )
        for _ in range(2)
    ]
    for t in racers:
        t.start()
    for t in racers:
        t.join(300)
    event.remove(svc.engine, "before_cursor_execute", at_the_commit)
    assert sorted(r.status for r in results) == ["accepted", "skipped"]
    with svc.engine.connect() as conn:
        assert conn.execute(text("select count(*) from change")).scalar() == 561
        assert conn.execute(text("select count(*) from snapshot where status = 'accepted'")).scalar() == 2
