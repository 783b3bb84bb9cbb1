"""One poll per source at a time: a Redis lock when Redis is the broker, a file lock on one machine.

Either way the database refuses a second snapshot built on the same prior state (SourceState.revision), so a
lock that expires early costs work, never a duplicate event. The Redis lock is a short lease renewed while the
poll runs: a worker killed mid-poll holds up its source for one lease, not for the poll's whole time limit, and
less when its death is known sooner: each lock names its holder (notifier.ops.liveness), and
`release_dead` frees the locks of dead holders so that their polls can be sent again at once. A file lock is
freed by the kernel when its process dies; the holder's name left in the file tells that a poll was cut short.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
def source_lock(
    name: str, *, redis_url: str | None, lock_dir: Path, ttl: float, owner: str | None = None
) -> Iterator[bool]:
    """Yields True when this process holds the lock, False when another one does (skip the work).

    `ttl` is the Redis lease, renewed every ttl/3 while the body runs; `owner` (notifier.ops.liveness.holder())
    is stored in the lock so that the lock of a dead holder can be released early.
    """
    if _is_redis(redis_url):
        import redis

        client = redis.Redis.from_url(redis_url)
        lock = client.lock(f"{REDIS_PREFIX}{name}", timeout=ttl, blocking=False, thread_local=False)
        got = lock.acquire(blocking=False, token=owner)
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
        os.ftruncate(fd, 0)
        os.pwrite(fd, (owner or "held").encode(), 0)
        try:
            yield True
        finally:
            os.ftruncate(fd, 0)  # emptied on a clean release: a name left behind means a poll cut short
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


REDIS_PREFIX = "notifier:lock:"
# Delete the lock only if it still holds the value judged dead (it may have been released and taken again).
DELETE_IF_HELD = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _is_redis(url: str | None) -> bool:
    return bool(url) and url.startswith(("redis://", "rediss://"))


def release_dead(
    prefix: str, *, redis_url: str | None, lock_dir: Path, is_dead: Callable[[bytes], bool], exact: bool = False
) -> list[str]:
    """Free the locks (named `prefix...`, or `prefix` alone when exact) whose holder is dead; returns their names,
    so that their work can be redone."""
    released = []
    pattern = prefix if exact else f"{prefix}*"
    if _is_redis(redis_url):
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        try:
            delete_if = client.register_script(DELETE_IF_HELD)
            for key in client.scan_iter(match=f"{REDIS_PREFIX}{pattern}", count=500):
                value = client.get(key)
                if value is not None and is_dead(value) and delete_if(keys=[key], args=[value]):
                    released.append(key.decode()[len(REDIS_PREFIX) :])
        finally:
            client.close()
        return released
    for path in sorted(lock_dir.glob(f"{pattern}.lock")) if lock_dir.is_dir() else ():
        with suppress(OSError):
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # only when its holder is gone
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                if os.fstat(fd).st_size:
                    os.ftruncate(fd, 0)
                    released.append(path.name[: -len(".lock")])
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
    return released
