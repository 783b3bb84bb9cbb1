"""Digest task: each minute, fold due held changes into one digest per subscriber and channel, and send them."""

from __future__ import annotations

from celery import shared_task

from notifier.alerts.digests import release_due
from notifier.alerts.outbox import enqueue
from tasks.service import service


def release_and_enqueue() -> int:
    """The plain function behind the task: release due digests, hand each to the deliver queue."""
    return enqueue(release_due(service().engine))


@shared_task(name="tasks.digests.release", ignore_result=True, time_limit=120, soft_time_limit=100)
def release() -> int:
    return release_and_enqueue()
