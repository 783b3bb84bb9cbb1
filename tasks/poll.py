"""Poll task: a lock per source, the pipeline, then the new outbox rows handed to the deliver queue."""

from __future__ import annotations

import logging

from celery import shared_task

from notifier.alerts.outbox import enqueue, pending_for_snapshot, pending_for_source
from notifier.app import Service
from notifier.ingest.locks import release_dead, source_lock
from notifier.ingest.pipeline import poll
from notifier.ops.heartbeat import Unreachable
from notifier.ops.liveness import Liveness, holder
from notifier.ops.recovery import POLL_LOCK
from tasks.app import DB_RETRY
from tasks.service import service

log = logging.getLogger("notifier.tasks")


def poll_and_enqueue(source_id: str, _retried: bool = False, recovered: bool = False) -> str:
    """The plain function behind the task (tested directly).

    `recovered`: the poll redoes one whose worker died (notifier.ops.recovery), which may have committed its
    snapshot and died before handing the rows over; they are handed over now, not after the relay's grace."""
    svc = service()
    if source_id not in svc.sources:
        log.error("unknown source in a poll message", extra={"source": source_id})
        return "unknown source"
    with source_lock(
        f"{POLL_LOCK}{source_id}",
        redis_url=svc.settings.broker_url,
        lock_dir=svc.settings.data_dir / "locks",
        ttl=svc.settings.poll_lock_lease,
        owner=holder(),
    ) as held:
        if not held:
            if not _retried and release_dead_holder(svc, f"{POLL_LOCK}{source_id}"):
                log.warning("poll lock of a dead worker released; polling now", extra={"source": source_id})
                return poll_and_enqueue(source_id, _retried=True, recovered=True)
            log.info("poll skipped: another worker holds the lock", extra={"source": source_id})
            return "locked"
        result = poll(svc, source_id)
    handed = pending_for_snapshot(svc.engine, result.snapshot_id) if result.snapshot_id is not None else []
    enqueue(handed)
    if recovered:
        left = sorted(set(pending_for_source(svc.engine, source_id)) - set(handed))
        if left:
            log.warning(
                "pending rows handed over again after a dead worker's poll",
                extra={"source": source_id, "rows": len(left)},
            )
        enqueue(left)
    return result.summary()


def release_dead_holder(svc: Service, name: str) -> bool:
    """The lock's holder is known dead (notifier.ops.liveness): free it now rather than at the next recovery run."""
    try:
        alive = Liveness(svc.settings)
    except Unreachable:
        return False
    settings = svc.settings
    lock_dir = settings.data_dir / "locks"
    return bool(release_dead(name, redis_url=settings.broker_url, lock_dir=lock_dir, is_dead=alive.dead, exact=True))


@shared_task(name="tasks.poll.poll_source", ignore_result=True, **DB_RETRY)
def poll_source(source_id: str, recovered: bool = False) -> str:
    return poll_and_enqueue(source_id, recovered=recovered)
