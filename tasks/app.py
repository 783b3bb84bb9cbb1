"""The Celery app: broker, queues, reliability settings and the beat schedule from config/sources.yaml.

Without NOTIFIER_BROKER_URL the service runs on one machine with the embedded broker (tasks/broker.py: files in
the data folder, written atomically; no server);
with redis:// it scales out, and beat uses celery-redbeat so that several beat processes schedule once.
"""

from __future__ import annotations

import logging

from celery import Celery, signals
from kombu import Queue
from sqlalchemy.exc import InterfaceError, OperationalError

from notifier.ops.heartbeat import is_redis
from notifier.settings import Settings, get_settings
from tasks.broker import SCHEME

POLL_QUEUE = "poll"
DELIVER_QUEUE = "deliver"

# A lost database connection or a restarting server: redo the task (a poll's revision check makes a redo safe,
# and an interrupted transaction left nothing behind).
DB_RETRY = dict(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
)


def broker_settings(settings: Settings) -> dict:
    # Longer than any task's hard limit and any retry countdown, so Redis never redelivers a running task.
    visibility = int(max(settings.poll_time_limit, settings.delivery_backoff_max) + 600)
    if is_redis(settings.broker_url):
        return {
            "broker_url": settings.broker_url,
            "broker_transport_options": {"visibility_timeout": visibility},
            "beat_scheduler": "tasks.beat:ResilientRedBeatScheduler",
            "redbeat_redis_url": settings.broker_url,
            # Short, and renewed at every tick (at least three per lock period): a killed beat's schedule
            # resumes within one lock period (tasks/beat.py).
            "redbeat_lock_timeout": settings.beat_lock_timeout,
            "beat_max_loop_interval": settings.beat_lock_timeout / 3,
            "redbeat_key_prefix": "notifier:redbeat",
        }
    if settings.broker_url:
        return {"broker_url": settings.broker_url, "broker_transport_options": {"visibility_timeout": visibility}}
    folder = (settings.data_dir / "broker").resolve()
    for sub in ("queue", "processed", "control", "tmp", "claimed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": f"{SCHEME}://",
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),  # broadcast/pidbox files: out of the working directory
            "store_processed": False,
            # kombu looks for new files this often (default 1 s, paid at each hop: beat -> poll -> deliver);
            # 0.1 s keeps an alert within ~2 s of its poll's start and costs two directory listings per tick.
            "polling_interval": 0.1,
        },
        "beat_scheduler": "tasks.beat:EmbeddedScheduler",
        "beat_schedule_filename": str(folder / "beat-schedule"),
    }


def beat_schedule(settings: Settings) -> dict:
    """One entry per enabled source, plus the relay; poll messages expire after one interval."""
    from notifier.app import load_source_configs

    schedule = {
        "digest-release": {
            "task": "tasks.digests.release",
            "schedule": 60.0,
            "options": {"queue": DELIVER_QUEUE, "expires": 60},
        },
        "outbox-relay": {
            "task": "tasks.deliver.relay",
            "schedule": settings.relay_interval,
            "options": {"queue": DELIVER_QUEUE, "expires": settings.relay_interval},
        },
        "ops-stale-check": {
            "task": "tasks.ops.check_stale",
            "schedule": settings.ops_check_interval,
            "options": {"queue": DELIVER_QUEUE, "expires": settings.ops_check_interval},
        },
        "recover-dead-work": {  # as often as heartbeats tell a death (notifier/ops/recovery.py)
            "task": "tasks.ops.recover",
            "schedule": settings.heartbeat_interval,
            "options": {"queue": DELIVER_QUEUE, "expires": settings.heartbeat_interval},
        },
        "ops-prune": {  # on the poll queue: poll workers hold the raw snapshot archive
            "task": "tasks.ops.prune",
            "schedule": 86400.0,
            "options": {"queue": POLL_QUEUE, "expires": 3600},
        },
    }
    for sid, cfg in load_source_configs(settings).items():
        if cfg.enabled:
            schedule[f"poll:{sid}"] = {
                "task": "tasks.poll.poll_source",
                "schedule": cfg.schedule,
                "args": (sid,),
                "options": {"queue": POLL_QUEUE, "expires": cfg.schedule},
            }
    return schedule


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("notifier", include=["tasks.poll", "tasks.deliver", "tasks.digests", "tasks.ops"])
    app.conf.update(
        **broker_settings(settings),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_queues=(Queue(POLL_QUEUE), Queue(DELIVER_QUEUE)),
        task_default_queue=DELIVER_QUEUE,
        task_routes={
            "tasks.poll.*": {"queue": POLL_QUEUE},
            "tasks.deliver.*": {"queue": DELIVER_QUEUE},
            "tasks.digests.*": {"queue": DELIVER_QUEUE},
        },
        task_time_limit=settings.poll_time_limit,
        task_soft_time_limit=settings.poll_time_limit * 0.9,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
    )
    from tasks.ops import WorkerHeartbeat  # also connects the beat heartbeat and relay signal handlers

    app.steps["consumer"].add(WorkerHeartbeat)
    return app


@signals.setup_logging.connect
def _logging(**_kw: object) -> None:
    from notifier.ops.logs import setup_logging

    setup_logging(get_settings())


@signals.worker_process_init.connect
def _after_fork(**_kw: object) -> None:
    # Pooled connections must not cross a fork.
    from notifier.store.db import dispose_engines

    dispose_engines()
    logging.getLogger("notifier.worker").debug("worker process ready")


app = make_app()
