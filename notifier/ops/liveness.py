"""Who holds a piece of work (a delivery claim, a poll lock, the beat's lock), and is that process known dead?

Work is tagged with its holder: the worker's node name, the host, the pid and when it was taken. A holder is
dead as soon as either (a) it ran on this host and its pid is gone, or (b) its worker's heartbeat stopped, or
the heartbeat, written after the work was taken, no longer lists the pid among the worker's pool processes (a
pool process killed on its own). Then the work is released at once; the fixed timeouts stay as the last resort.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass

from notifier.ops.heartbeat import Heartbeat, heartbeat_store, stale_after
from notifier.settings import Settings
from notifier.timeutil import utcnow

SEP = "|"
HANDED_OVER = "handed_over_at"  # set on a dead worker's heartbeat once its pending rows went back to the queue
NO_NODE = "-"  # a process outside any worker (the CLI, a test): judged by its pid alone


@dataclass(frozen=True)
class Holder:
    node: str
    host: str
    pid: int
    since: float  # unix time the work was taken


def holder(node: str | None = None) -> str:
    """This process as the holder of a claim or lock (inside a Celery task, the task's worker node)."""
    if node is None:
        state = sys.modules.get("celery._state")  # Celery not loaded: not inside a task
        task = state.get_current_task() if state else None
        node = getattr(getattr(task, "request", None), "hostname", None) or NO_NODE
    return SEP.join([node, socket.gethostname(), str(os.getpid()), f"{time.time():.3f}", uuid.uuid4().hex[:8]])


def parse(text: str | bytes | None) -> Holder | None:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    parts = (text or "").split(SEP)
    if len(parts) < 4:
        return None  # written by an older version, or not ours: only the timeouts apply
    try:
        return Holder(parts[0], parts[1], int(parts[2]), float(parts[3]))
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def node_of(beat: Heartbeat) -> str:
    """A worker heartbeat is named `<node>[<queues>]`."""
    return beat.name.split("[", 1)[0]


class Liveness:
    """One reading of the worker heartbeats, asked about many holders."""

    def __init__(self, settings: Settings, workers: list[Heartbeat] | None = None) -> None:
        self.settings = settings
        self.host = socket.gethostname()
        self.workers = {node_of(b): b for b in (workers if workers is not None else self._read())}
        self.now = utcnow()

    def _read(self) -> list[Heartbeat]:
        return heartbeat_store(self.settings).read("worker")  # Unreachable: the caller releases nothing

    def dead(self, text: str | bytes | None) -> bool:
        h = parse(text)
        if h is None:
            return False
        if h.host == self.host and not pid_alive(h.pid):
            return True
        if h.node == NO_NODE:
            return False
        beat = self.workers.get(h.node)
        limit = stale_after(self.settings)
        if beat is None:  # stopped cleanly (its work finished) or never reported: give it one heartbeat period
            return self.now.timestamp() - h.since > limit
        if beat.age(self.now) > limit:
            # Work taken after that heartbeat, and recently, is a worker restarted under the same name that has
            # not reported yet (`notifier worker --name`): give it one heartbeat period of its own.
            return beat.seen_at.timestamp() >= h.since or self.now.timestamp() - h.since > limit
        pids = beat.info.get("pids")
        return bool(pids) and h.pid != beat.pid and h.pid not in pids and beat.seen_at.timestamp() > h.since + 1

    def dead_workers(self) -> list[Heartbeat]:
        """Workers whose heartbeat stopped or whose pid is gone (same host), not yet handed over: the messages
        they had reserved but not started (no claim) are lost with them until Redis's visibility timeout."""
        limit = stale_after(self.settings)
        return [
            b
            for b in self.workers.values()
            if HANDED_OVER not in b.info and (b.age(self.now) > limit or (b.host == self.host and not pid_alive(b.pid)))
        ]
