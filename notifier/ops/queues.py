"""How many messages wait in the poll and deliver queues, read straight from the broker (no Celery app needed).

Mirrors kombu's own layout: a Redis list per queue and priority step; one file per message, named
`<time>_<uuid>.<queue>.msg`, in the embedded broker's folder (tasks/app.py puts it in <data_dir>/broker/queue).
"""

from __future__ import annotations

from notifier.ops.heartbeat import Unreachable, is_redis, reaching_redis, redis_client
from notifier.settings import Settings

QUEUES = ("poll", "deliver")
# kombu.transport.redis's PRIORITY_STEPS and Channel.sep, copied: importing kombu costs `notifier status` ~0.2 s
# (tests/test_ops_status.py checks that they still match kombu's).
PRIORITY_STEPS = (0, 3, 6, 9)
SEP = "\x06\x16"


def queue_lengths(settings: Settings, queues: tuple[str, ...] = QUEUES) -> dict[str, int]:
    """Messages waiting per queue (not counting those a worker holds); Unreachable when the broker is down."""
    url = settings.broker_url
    if is_redis(url):
        client = redis_client(url)
        try:
            with reaching_redis():
                return {
                    q: sum(client.llen(q if not pri else f"{q}{SEP}{pri}") for pri in PRIORITY_STEPS)
                    for q in queues
                }
        finally:
            client.close()
    if url:
        raise Unreachable(f"queue lengths are read from Redis or the embedded broker, not {url.split(':')[0]}://")
    folder = settings.data_dir / "broker" / "queue"
    names = [p.name for p in folder.glob("*.msg")] if folder.is_dir() else []
    return {q: sum(1 for n in names if n.partition(".")[2] == f"{q}.msg") for q in queues}
