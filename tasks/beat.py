"""The beat schedulers: every source polled at start (spread over a few seconds), then on its schedule.

On one machine beat keeps its schedule in a local file (celery's PersistentScheduler). With Redis it is
celery-redbeat, made to recover in seconds: redbeat's own start-up blocks on its lock, retrying every
max_interval (300 s), while a killed beat's lock is still live; here the lock is short (NOTIFIER_BEAT_LOCK_TIMEOUT,
renewed at each tick, every third of it), every tick tries to take it without waiting, a lock whose holder is
known dead (same host, pid gone) is taken at once, and a standby beat retries every STANDBY_SECONDS. Beat also
outlives a Redis restart or flush: it waits for Redis, takes the lock again and re-installs the entries.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

import redis.exceptions
from celery import signals
from celery.beat import PersistentScheduler
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, acquire_distributed_beat_lock, get_redis

from notifier.ingest.locks import DELETE_IF_HELD
from notifier.ops.liveness import NO_NODE, Liveness, holder
from notifier.settings import get_settings

log = logging.getLogger("notifier.beat")
STANDBY_SECONDS = 1.0
POLL_ENTRY = "poll:"  # tasks/app.py names each source's entry poll:<source>

# redbeat's start-up handler waits for the lock with sleep=max_interval: our first tick takes it instead.
signals.beat_init.disconnect(acquire_distributed_beat_lock)


def first_poll_delays(names: list[str], jitter: float, rng: random.Random | None = None) -> dict[str, float]:
    """Seconds from now of each first poll: one per slot of the jitter window, in random order, so that 20
    sources started together never hit the network (or one publisher) at the same moment."""
    rng = rng or random.Random()
    order = list(names)
    rng.shuffle(order)
    slot = jitter / len(order) if order else 0.0
    return {name: (i + rng.random()) * slot for i, name in enumerate(order)}


def first_poll_stamps(
    entries: dict[str, tuple[timedelta, datetime | None]],
    now: datetime,
    jitter: float,
    live_within: float,
    rng: random.Random | None = None,
) -> dict[str, datetime]:
    """last_run_at of each poll entry (name: (interval, stored last_run_at)) when a beat starts scheduling.

    Each source falls due within the first-poll window (spread one per slot), but never later than its running
    schedule had it due: a beat taking over from a killed leader keeps a 5 s source at 5 s (the spread alone
    put a poll up to the whole window away, the kill storm's slowest alerts), and sends at once what the dead
    leader left overdue. A schedule overdue by more than `live_within` seconds stood still (a start after an
    outage, or never run): then the spread alone, so that sources started together do not poll at one moment.
    """
    delays = first_poll_delays(sorted(entries), jitter, rng)
    stamps = {}
    for name, (every, last) in entries.items():
        spread = now - every + timedelta(seconds=delays[name])
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=now.tzinfo)
        if last is None or (now - (last + every)).total_seconds() > live_within:
            stamps[name] = spread
        else:
            stamps[name] = min(last, spread)
    return stamps


def _poll_soon(entries: dict, now: datetime) -> dict[str, datetime]:
    """last_run_at for each poll entry so that it falls due within the first-poll window (first_poll_stamps)."""
    polls = {
        n: (e.schedule.run_every, e.last_run_at)
        for n, e in entries.items()
        if n.startswith(POLL_ENTRY) and hasattr(e.schedule, "run_every")
    }
    settings = get_settings()
    # A leader's lock outlives it by at most beat_lock_timeout: a schedule overdue by less was live at the kill.
    stamps = first_poll_stamps(polls, now, settings.first_poll_jitter, live_within=2 * settings.beat_lock_timeout)
    if stamps:
        log.info("first polls at start", extra={"sources": len(stamps), "within_s": settings.first_poll_jitter})
    return stamps


class EmbeddedScheduler(PersistentScheduler):
    """The one-machine scheduler: as celery's, plus every source's first poll at start."""

    leading = True

    def setup_schedule(self) -> None:
        super().setup_schedule()
        self.leading_since = self.app.now()
        for name, last_run_at in _poll_soon(self.schedule, self.app.now()).items():
            self.schedule[name].last_run_at = last_run_at
        self.sync()


class ResilientRedBeatScheduler(RedBeatScheduler):
    leading = False
    leading_since: datetime | None = None
    _started_polls = False

    def setup_schedule(self) -> None:
        """At start too, Redis may be down: wait for it rather than exit."""
        while True:
            try:
                return super().setup_schedule()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning("beat: Redis unreachable (%s); retrying in %ss", exc, STANDBY_SECONDS)
                time.sleep(STANDBY_SECONDS)

    def _take_from_dead(self, client: redis.Redis) -> bool:
        """The lock of a beat known dead is deleted (only if it still holds that beat's token)."""
        token = client.get(self.lock_key)
        if token is None or not Liveness(get_settings(), workers=[]).dead(token):
            return False
        return bool(client.eval(DELETE_IF_HELD, 1, self.lock_key, token))

    def _lead(self) -> bool:
        """True when this beat holds the lock, taking it (without waiting) if it is free."""
        if not self.lock_key:
            return True
        client = get_redis(self.app)
        if self.lock is None:
            self.lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=STANDBY_SECONDS)
            self.lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if self.lock.owned():
            return True
        took = self.lock.acquire(blocking=False, token=holder(NO_NODE))
        if not took and self._take_from_dead(client):
            took = self.lock.acquire(blocking=False, token=holder(NO_NODE))
        if not took:
            if self.leading:
                log.warning("beat: lost the scheduler lock to another beat; standing by")
            self.leading = False
            return False
        if self.leading_since is not None:
            # Held it before: Redis was restarted or flushed meanwhile, so the entries may be gone too.
            log.warning("beat: took the scheduler lock back; re-installing the schedule")
            self.setup_schedule()
        else:
            log.info("beat: took the scheduler lock; scheduling")
        self.leading, self.leading_since = True, self.app.now()
        if not self._started_polls:
            self._started_polls = True
            names = [n for n in self.app.redbeat_conf.schedule if n.startswith(POLL_ENTRY)]
            entries = {n: self.Entry.from_key(self.Entry.generate_key(self.app, n), app=self.app) for n in names}
            for name, last_run_at in _poll_soon(entries, self.app.now()).items():
                entries[name].reschedule(last_run_at)
        return True

    def tick(self, *args: object, **kwargs: object) -> float:
        try:
            if not self._lead():
                return STANDBY_SECONDS
            return super().tick(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("beat: Redis unreachable (%s); retrying in %ss", exc, STANDBY_SECONDS)
            return STANDBY_SECONDS
        except redis.exceptions.LockError:
            return STANDBY_SECONDS  # lost between the check and the extend; the next tick sorts it out
