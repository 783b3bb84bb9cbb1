"""The delta cursor of GET /api/changes never skips or repeats an event, even when snapshots commit out of order
while integrators poll (PostgreSQL hands out ids at insert, not at commit), through a real uvicorn server."""

from __future__ import annotations

import random
import threading
import time

import pytest
import requests
import yaml
from sqlalchemy import insert
from sqlalchemy.orm import Session

from tests.support.receivers import free_port
from tests.support.service import wait_for
from tests.support.web import OFAC_SOURCE

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(pg_url, tmp_path):
    from notifier.app import build_service
    from notifier.settings import Settings
    from notifier.web.auth import create_token
    from notifier.web.server import start_in_thread

    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": OFAC_SOURCE}))
    (tmp_path / "subs.yaml").write_text("subscribers: []\n")
    svc = build_service(
        Settings(
            data_dir=tmp_path / "data",
            database_url=pg_url,
            sources_file=tmp_path / "sources.yaml",
            subscriptions_file=tmp_path / "subs.yaml",
        )
    )
    port = free_port()
    web = start_in_thread(svc, "127.0.0.1", port)
    wait_for(lambda: web.started, 30, 0.05, "uvicorn to start")
    token = create_token(svc.engine, "poller", "viewer")
    yield svc, f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    web.should_exit = True


def _snapshot(session: Session) -> int:
    from notifier.store.models import Snapshot
    from notifier.timeutil import utcnow

    snap = Snapshot(source="us_ofac_cons", fetched_at=utcnow(), status="accepted", parts="{}")
    session.add(snap)
    session.flush()
    return snap.id


def _insert_changes(session: Session, snapshot_id: int, n: int, tag: str) -> list[int]:
    """The same bulk insert the store uses for a snapshot's change events."""
    from notifier.store.models import Change
    from notifier.timeutil import utcnow

    rows = [
        dict(
            source="us_ofac_cons",
            snapshot_id=snapshot_id,
            key=f"{tag}-{i}",
            kind="designation",
            change="added",
            name=f"{tag} {i}",
            after='{"kind": "designation", "programs": ["X"]}',
            created_at=utcnow(),
        )
        for i in range(n)
    ]
    return list(session.execute(insert(Change).returning(Change.id, sort_by_parameter_order=True), rows).scalars())


def _poll(base: str, auth: dict, since: int, limit: int = 100) -> dict:
    answer = requests.get(f"{base}/api/changes", params={"since": since, "limit": limit}, headers=auth, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_a_snapshot_that_commits_last_is_not_skipped_though_its_ids_are_lower(server):
    svc, base, auth = server
    with Session(svc.engine) as slow, Session(svc.engine) as fast:
        slow.begin()
        slow_ids = _insert_changes(slow, _snapshot(slow), 3, "slow")  # takes ids first...
        fast.begin()
        fast_ids = _insert_changes(fast, _snapshot(fast), 3, "fast")
        fast.commit()  # ...but commits last
        assert max(slow_ids) < min(fast_ids), "the case an id cursor gets wrong"

        first = _poll(base, auth, 0)
        assert [i["id"] for i in first["items"]] == fast_ids
        slow.commit()
    second = _poll(base, auth, first["next"])
    assert [i["id"] for i in second["items"]] == slow_ids  # an `id > max seen` cursor would have lost these
    assert _poll(base, auth, second["next"]) == {"items": [], "next": second["next"]}


def test_concurrent_polls_see_every_event_exactly_once_while_snapshots_commit_out_of_order(server):
    svc, base, auth = server
    committed: list[int] = []
    lock = threading.Lock()
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        rnd = random.Random(w)
        try:
            for t in range(12):
                with Session(svc.engine) as session:
                    session.begin()
                    ids = _insert_changes(session, _snapshot(session), rnd.randint(1, 5), f"w{w}t{t}")
                    # Hold the transaction open a random while so that others take later ids and commit first
                    # (load shaping only: no assertion depends on this timing).
                    time.sleep(rnd.random() * 0.05)
                    if rnd.random() < 0.1:
                        session.rollback()  # an aborted snapshot: its events must never appear
                        continue
                    session.commit()
                with lock:
                    committed.extend(ids)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    seen: dict[int, list[int]] = {p: [] for p in range(3)}

    def poller(p: int) -> None:
        cursor = 0
        try:
            while True:
                finished = writers_done.is_set()
                answer = _poll(base, auth, cursor, limit=7)
                assert answer["next"] >= cursor
                seen[p].extend(i["id"] for i in answer["items"])
                cursor = answer["next"]
                if finished and not answer["items"]:
                    return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    pollers = [threading.Thread(target=poller, args=(p,)) for p in range(3)]
    for t in writers + pollers:
        t.start()
    for t in writers:
        t.join(120)
    writers_done.set()
    for t in pollers:
        t.join(120)
    assert not errors, errors
    assert len(committed) > 40
    for p, ids in seen.items():
        assert len(ids) == len(set(ids)), f"poller {p} got an event twice"
        assert set(ids) == set(committed), f"poller {p} missed {sorted(set(committed) - set(ids))[:10]}"
