"""The beat scheduler with Redis: celery-redbeat, made to outlive a Redis restart or flush.

redbeat keeps its schedule and its one-leader lock in Redis. When Redis restarts empty or is flushed, plain
redbeat either dies (the lock it extends is gone, or Redis is down when it starts) or schedules nothing (the
entries are gone). This one waits for Redis, takes the lock again (or stands by while another beat leads) and
re-installs the entries.
"""

from __future__ import annotations

import logging
import time

import redis.exceptions
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis

log = logging.getLogger("notifier.beat")
STANDBY_SECONDS = 5.0


class ResilientRedBeatScheduler(RedBeatScheduler):
    def setup_schedule(self) -> None:
        """At start too, Redis may be down: wait for it rather than exit."""
        while True:
            try:
                return super().setup_schedule()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning("beat: Redis unreachable (%s); retrying in %ss", exc, STANDBY_SECONDS)
                time.sleep(STANDBY_SECONDS)

    def _lead(self) -> bool:
        """True when this beat holds the lock, taking it (without waiting) if it is free."""
        if not self.lock_key:
            return True
        if self.lock is None:
            client = get_redis(self.app)
            self.lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            self.lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if self.lock.owned():
            return True
        if not self.lock.acquire(blocking=False):
            return False
        log.warning("beat: took the scheduler lock (Redis was restarted or flushed); re-installing the schedule")
        self.setup_schedule()
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
