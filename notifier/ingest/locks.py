"""One poll per source at a time: a Redis lock when Redis is the broker, a file lock on one machine.

Either way the database refuses a second snapshot built on the same prior state (SourceState.revision), so a
lock that expires early costs work, never a duplicate event. The Redis lock is a short lease renewed while the
poll runs: a worker killed mid-poll holds up its source for one lease, not for the poll's whole time limit.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("notifier.ingest.locks")


def _renew(lock: object, every: float, done: threading.Event) -> None:
    import redis

    while not done.wait(every):
        try:
            lock.reacquire()
        except redis.exceptions.LockError:
            return  # expired or flushed meanwhile; the revision check still protects the data
        except redis.exceptions.RedisError as exc:
            log.warning("poll lock not renewed", extra={"error": str(exc)})


@contextmanager
def source_lock(name: str, *, redis_url: str | None, lock_dir: Path, ttl: float) -> Iterator[bool]:
    """Yields True when this process holds the lock, False when another one does (skip the work).

    `ttl` is the Redis lease, renewed every ttl/3 while the body runs.
    """
    if redis_url and redis_url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(redis_url)
        lock = client.lock(f"notifier:lock:{name}", timeout=ttl, blocking=False, thread_local=False)
        got = lock.acquire(blocking=False)
        done = threading.Event()
        if got:
            threading.Thread(target=_renew, args=(lock, ttl / 3, done), name=f"lease-{name}", daemon=True).start()
        try:
            yield bool(got)
        finally:
            done.set()
            if got:
                try:
                    lock.release()
                except redis.exceptions.LockError:
                    pass  # expired meanwhile; the revision check still protects the data
            client.close()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
