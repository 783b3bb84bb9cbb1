"""Proof of life for workers, beat and housekeeping tasks, readable by `notifier status` and health checks.

Celery's own ping cannot reach workers on kombu's filesystem transport (measured: no replies), so every
process writes its own heartbeat: a Redis key with a time to live when Redis is the broker (shared by every
machine), a small JSON file in the data folder otherwise (one machine). Reading one costs a GET or a file read.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from notifier.redact import scrub
from notifier.settings import Settings
from notifier.timeutil import utcnow

FORGET_AFTER = 3600.0  # a process silent this long is forgotten (scaled down, or long dead)
STALE_FACTOR = 3  # alive while its last heartbeat is younger than this many intervals
KEY_PREFIX = "notifier:heartbeat"


@dataclass
class Heartbeat:
    kind: str  # worker | beat | task
    name: str  # celery@host[queues], beat@host, or a task's short name (relay)
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: datetime = field(default_factory=utcnow)
    seen_at: datetime = field(default_factory=utcnow)
    info: dict[str, Any] = field(default_factory=dict)

    def age(self, now: datetime | None = None) -> float:
        return ((now or utcnow()) - self.seen_at).total_seconds()

    def to_json(self) -> str:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["seen_at"] = self.seen_at.isoformat()
        return json.dumps(data, default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> Heartbeat:
        data = json.loads(text)
        data["started_at"] = datetime.fromisoformat(data["started_at"])
        data["seen_at"] = datetime.fromisoformat(data["seen_at"])
        return cls(**data)


class Unreachable(Exception):
    """The store (the broker's Redis) did not answer; the caller reports it as unhealthy."""


def stale_after(settings: Settings) -> float:
    return settings.heartbeat_interval * STALE_FACTOR


class HeartbeatStore(Protocol):
    def write(self, beat: Heartbeat) -> None: ...
    def remove(self, kind: str, name: str) -> None: ...
    def read(self, kind: str) -> list[Heartbeat]: ...


class RedisHeartbeats:
    """Keys expire by themselves: a process gone for an hour leaves nothing behind."""

    def __init__(self, url: str) -> None:
        self.client = redis_client(url)

    def write(self, beat: Heartbeat) -> None:
        with reaching_redis():
            # Forgotten FORGET_AFTER after it was last seen, also when rewritten later (a dead worker marked).
            ttl = max(1, int(FORGET_AFTER - max(0.0, beat.age())))
            self.client.set(f"{KEY_PREFIX}:{beat.kind}:{beat.name}", beat.to_json(), ex=ttl)

    def remove(self, kind: str, name: str) -> None:
        with reaching_redis():
            self.client.delete(f"{KEY_PREFIX}:{kind}:{name}")

    def read(self, kind: str) -> list[Heartbeat]:
        with reaching_redis():
            keys = sorted(self.client.scan_iter(match=f"{KEY_PREFIX}:{kind}:*", count=500))
            values = self.client.mget(keys) if keys else []
        return [Heartbeat.from_json(v) for v in values if v]


def redis_client(url: str) -> Any:
    """A client that gives up within seconds: health checks and scrapes must not hang on a dead Redis."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)


@contextmanager
def reaching_redis() -> Iterator[None]:
    import redis

    try:
        yield
    except redis.exceptions.RedisError as exc:
        raise Unreachable(f"Redis did not answer: {scrub(str(exc))}") from None


class FileHeartbeats:
    """One JSON file per process, replaced atomically; files older than FORGET_AFTER are ignored and removed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, kind: str, name: str) -> Path:
        return self.folder / kind / (re.sub(r"[^A-Za-z0-9_.@-]", "_", name) + ".json")

    def write(self, beat: Heartbeat) -> None:
        path = self._path(beat.kind, beat.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.fchmod(fd, 0o644)  # `notifier status` may run as another user than the worker
        with os.fdopen(fd, "w") as f:
            f.write(beat.to_json())
        os.replace(tmp, path)

    def remove(self, kind: str, name: str) -> None:
        self._path(kind, name).unlink(missing_ok=True)

    def read(self, kind: str) -> list[Heartbeat]:
        beats = []
        now = utcnow()
        for path in sorted((self.folder / kind).glob("*.json")):
            try:
                beat = Heartbeat.from_json(path.read_text())
            except (OSError, ValueError, TypeError, KeyError):
                continue  # removed meanwhile, or half-written by an older version: not a live process
            if beat.age(now) > FORGET_AFTER:
                with suppress(OSError):  # another user's file: ignoring it is enough
                    path.unlink(missing_ok=True)
                continue
            beats.append(beat)
        return beats


def is_redis(url: str | None) -> bool:
    return bool(url) and url.startswith(("redis://", "rediss://"))


def heartbeat_store(settings: Settings) -> HeartbeatStore:
    """Redis when the broker is Redis (every machine sees every process), else files in the data folder."""
    if is_redis(settings.broker_url):
        return RedisHeartbeats(settings.broker_url)
    return FileHeartbeats(settings.data_dir / "heartbeats")
