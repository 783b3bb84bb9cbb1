"""Delivery tasks: send one outbox row (retries are scheduled from the row's own next attempt time), and
the relay that re-enqueues rows whose broker message was lost."""

from __future__ import annotations

from celery import shared_task

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import enqueue
from notifier.alerts.outbox import relay as find_stuck
from tasks.app import DB_RETRY
from tasks.service import service


def deliver_and_schedule(delivery_id: int) -> str:
    """The plain function behind the task: send, then schedule the retry or the ops alerts it caused."""
    svc = service()
    outcome = deliver_one(svc, delivery_id)
    if outcome.status == "retry" and outcome.retry_in is not None:
        enqueue([delivery_id], countdown=outcome.retry_in)
    enqueue(outcome.ops_ids)
    return outcome.status


def relay_stuck() -> int:
    svc = service()
    ids = find_stuck(svc.engine, grace=svc.settings.relay_grace, claim_timeout=svc.settings.claim_timeout)
    return enqueue(ids)


@shared_task(name="tasks.deliver.deliver", ignore_result=True, time_limit=300, soft_time_limit=270, **DB_RETRY)
def deliver(delivery_id: int) -> str:
    return deliver_and_schedule(delivery_id)


@shared_task(name="tasks.deliver.relay", ignore_result=True, time_limit=120, soft_time_limit=100, **DB_RETRY)
def relay() -> int:
    return relay_stuck()
