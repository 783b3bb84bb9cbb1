"""Heartbeats and queue lengths on both stores: Redis (a private server) when it is the broker, files otherwise."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis

from notifier.ops.heartbeat import FORGET_AFTER, FileHeartbeats, Heartbeat, Unreachable, heartbeat_store
from notifier.ops.queues import queue_lengths
from notifier.settings import Settings, reset_settings
from notifier.timeutil import utcnow


@pytest.fixture
def redis_server(tmp_path):
    from tests.support.servers import RedisServer

    with RedisServer(tmp_path / "redis") as server:
        yield server


def test_redis_heartbeats_round_trip_and_expire_by_themselves(tmp_path, redis_server):
    store = heartbeat_store(Settings(broker_url=redis_server.url(3), data_dir=tmp_path))
    beat = Heartbeat("worker", "celery@a[poll]", info={"queues": ["poll"]})
    store.write(beat)
    store.write(Heartbeat("beat", "beat@a"))
    [read] = store.read("worker")
    assert (read.name, read.info, read.seen_at) == ("celery@a[poll]", {"queues": ["poll"]}, beat.seen_at)
    ttl = redis.Redis.from_url(redis_server.url(3)).ttl("notifier:heartbeat:worker:celery@a[poll]")
    assert 0 < ttl <= FORGET_AFTER
    store.remove("worker", "celery@a[poll]")
    assert store.read("worker") == [] and [b.name for b in store.read("beat")] == ["beat@a"]


def test_redis_queue_lengths_count_every_priority_list(tmp_path, redis_server):
    client = redis.Redis.from_url(redis_server.url(0))
    client.lpush("poll", "a", "b")
    client.lpush("poll\x06\x163", "c")  # kombu's list for priority step 3
    client.lpush("deliver", "d")
    assert queue_lengths(Settings(broker_url=redis_server.url(0), data_dir=tmp_path)) == {"poll": 3, "deliver": 1}


def test_a_redis_that_is_down_is_unreachable_not_a_hang(tmp_path, redis_server):
    settings = Settings(broker_url=redis_server.url(0), data_dir=tmp_path)
    redis_server.stop()
    with pytest.raises(Unreachable):
        heartbeat_store(settings).read("worker")
    with pytest.raises(Unreachable):
        queue_lengths(settings)


def test_file_heartbeats_are_replaced_atomically_and_forgotten_after_an_hour(tmp_path):
    store = heartbeat_store(Settings(data_dir=tmp_path))
    assert isinstance(store, FileHeartbeats)
    store.write(Heartbeat("worker", "celery@a[deliver,poll]", info={"queues": ["deliver", "poll"]}))
    store.write(Heartbeat("worker", "celery@b[poll]", seen_at=utcnow() - timedelta(seconds=FORGET_AFTER + 1)))
    old = Heartbeat("worker", "celery@c[poll]")
    store.write(old)
    old.seen_at = utcnow() - timedelta(seconds=FORGET_AFTER + 1)
    (tmp_path / "heartbeats" / "worker" / "celery@c_poll_.json").write_text(old.to_json())
    (tmp_path / "heartbeats" / "worker" / "torn.json").write_text('{"kind": "wor')
    assert [b.name for b in store.read("worker")] == ["celery@a[deliver,poll]"]
    assert sorted(p.name for p in (tmp_path / "heartbeats" / "worker").iterdir()) == [
        "celery@a_deliver_poll_.json",
        "torn.json",
    ]
    assert json.loads((tmp_path / "heartbeats" / "worker" / "celery@a_deliver_poll_.json").read_text())["pid"]


def test_embedded_broker_queue_lengths_count_message_files(tmp_path):
    folder = tmp_path / "broker" / "queue"
    folder.mkdir(parents=True)
    for name in ("1_a.poll.msg", "2_b.poll.msg", "3_c.deliver.msg", "4_d.celery.pidbox.msg"):
        (folder / name).write_bytes(b"{}")
    assert queue_lengths(Settings(data_dir=tmp_path)) == {"poll": 2, "deliver": 1}
    assert queue_lengths(Settings(data_dir=tmp_path / "fresh")) == {"poll": 0, "deliver": 0}
    with pytest.raises(Unreachable, match="amqp://"):
        queue_lengths(Settings(data_dir=tmp_path, broker_url="amqp://guest@localhost//"))


def test_a_heartbeat_that_cannot_reach_redis_is_a_warning_and_the_heartbeat_goes_on(
    tmp_path, redis_server, monkeypatch, caplog, request
):
    """The beat's heartbeat thread writes through this; an error in the warning itself (a reserved LogRecord
    field as an extra key) killed the thread at the first Redis outage, and the beat looked dead for good."""
    from tasks.ops import _write

    monkeypatch.setenv("NOTIFIER_BROKER_URL", redis_server.url(0))
    monkeypatch.setenv("NOTIFIER_DATA_DIR", str(tmp_path))
    reset_settings()  # the process's settings are cached: an earlier test's would point elsewhere
    request.addfinalizer(reset_settings)
    redis_server.stop()
    with caplog.at_level("WARNING", logger="notifier.ops"):
        _write(Heartbeat("beat", "beat-1@a"))
    assert [r.heartbeat for r in caplog.records if r.getMessage() == "heartbeat not written"] == ["beat-1@a"]
    redis_server.start()
    _write(Heartbeat("beat", "beat-1@a"))
    assert [
        b.name for b in heartbeat_store(Settings(broker_url=redis_server.url(0), data_dir=tmp_path)).read("beat")
    ] == ["beat-1@a"]
