"""The embedded broker: kombu's filesystem transport, made safe for several processes writing and reading at once.

kombu's own transport writes each message straight into the queue folder, so a reader can take a file that is
still being written and the worker dies on the half message ("Unrecoverable error: JSONDecodeError", kombu#1551).
Here a message is written under a temporary name beside the queue and renamed into it (a rename is atomic on one
filesystem: a reader sees the whole file or none), a reader claims a file by renaming it out of the queue (two
readers never get the same message), and a file that still cannot be decoded is set aside with an error in the
log, never raised into the worker. bench/bench_broker.py measured it against kombu's SQLAlchemy transport on
SQLite (README, "Embedded broker").
"""

from __future__ import annotations

import logging
import os
import time
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import loads

log = logging.getLogger("notifier.broker")
SCHEME = "notifierfs"


class Channel(filesystem.Channel):
    def _folder(self, name: str) -> str:
        folder = os.path.join(os.path.dirname(os.path.abspath(self.data_folder_in)), name)
        os.makedirs(folder, exist_ok=True)
        return folder

    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        # Wall-clock nanoseconds: names sort in sending order across processes and restarts.
        name = f"{time.time_ns()}_{uuid.uuid4()}.{queue}.msg"
        tmp = os.path.join(self._folder("tmp"), name)
        try:
            with open(tmp, "wb") as f:
                f.write(filesystem.str_to_bytes(filesystem.dumps(payload)))
            os.replace(tmp, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to the queue folder: {exc}") from exc

    def _get(self, queue: str) -> dict:
        suffix = f"{queue}.msg"
        claimed = self._folder("claimed")
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != suffix:
                continue
            path = os.path.join(claimed, f"{os.getpid()}-{name}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), path)
            except FileNotFoundError:
                continue  # another reader claimed it first
            try:
                with open(path, "rb") as f:
                    body = f.read()
                payload = loads(filesystem.bytes_to_str(body))
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                bad = os.path.join(self._folder("bad"), name)
                os.replace(path, bad)
                log.error("broker: unreadable message set aside", extra={"file": bad, "error": str(exc)[:200]})
                continue
            os.remove(path)
            return payload
        raise filesystem.Empty()

    def _size(self, queue: str) -> int:
        suffix = f"{queue}.msg"
        return sum(1 for n in os.listdir(self.data_folder_in) if n.partition(".")[2] == suffix)


class Transport(filesystem.Transport):
    """Polled from the worker's event loop, so that Celery runs its asynchronous prefork pool: with kombu's
    filesystem transport Celery falls back to its blocking loop and billiard's shared-queue pool, where a pool
    process killed while it reads its next task (SIGKILL, the OOM killer) leaves the queue's lock held and the
    worker takes no task ever again (measured: tests/test_embedded_broker.py hung after one kill)."""

    Channel = Channel
    global_state = filesystem.virtual.BrokerState()
    implements = filesystem.Transport.implements.extend(asynchronous=True)
    # No host to connect to: without this kombu warns "No hostname was supplied" at every connection.
    default_connection_params: dict = {}
    driver_type = driver_name = SCHEME
    BATCH = 50  # messages taken per poll at most, so the loop stays responsive

    def register_with_event_loop(self, connection: object, loop: object) -> None:
        def drain() -> None:
            for _ in range(self.BATCH):
                try:
                    self.cycle.get(self._deliver, timeout=0)
                except filesystem.Empty:
                    return

        loop.call_repeatedly(self.polling_interval or 0.1, drain)


TRANSPORT_ALIASES.setdefault(SCHEME, "tasks.broker:Transport")
