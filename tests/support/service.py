"""The service as ops run it: `notifier run|worker|beat` subprocesses with their own environment and logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NOTIFIER = Path(sys.executable).parent / "notifier"


class ServiceProcess:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, name: str) -> None:
        self.args, self.env, self.cwd, self.name = args, env, cwd, name
        self.log_path = cwd / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(NOTIFIER), *self.args],
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker's children too): nothing gets to clean up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as an orchestrator stops a container: a warm shutdown."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):  # noqa: ANN001, ANN201
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def relay_runs(env: dict[str, str], runs: int = 3, timeout: float = 90) -> None:
    """Wait until the outbox relay has run `runs` more times (its heartbeat moves at each run): what a test waits
    for before it says nothing was sent twice. A fixed sleep would see fewer runs the busier the machine is."""
    from notifier.ops.heartbeat import heartbeat_store
    from notifier.ops.status import RELAY_TASK

    store, seen = heartbeat_store(settings_for(env)), set()

    def ran() -> bool:
        seen.update(b.seen_at for b in store.read("task") if b.name == RELAY_TASK)
        return len(seen) > runs  # the first time seen may be a run from before the call

    wait_for(ran, timeout, interval=0.1, what=f"{runs} more runs of the outbox relay")


def configure(folder: Path, sources: dict, subscribers: list[dict], **env: str) -> dict[str, str]:
    """Write config/sources.yaml and config/subscriptions.yaml in `folder`; the environment to run the service there.

    Timings are short so that retries, relay runs and stale claims play out in seconds, not minutes.
    """
    import yaml

    (folder / "config").mkdir(parents=True, exist_ok=True)
    (folder / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    (folder / "config" / "subscriptions.yaml").write_text(yaml.safe_dump({"subscribers": subscribers}))
    return {
        "NOTIFIER_DATA_DIR": str(folder / "data"),
        "NOTIFIER_SOURCES_FILE": str(folder / "config" / "sources.yaml"),
        "NOTIFIER_SUBSCRIPTIONS_FILE": str(folder / "config" / "subscriptions.yaml"),
        "NOTIFIER_LOG_LEVEL": "INFO",
        "NOTIFIER_CHANNEL_ALLOW_PRIVATE": "true",  # the tests' receivers listen on 127.0.0.1
        "NOTIFIER_DELIVERY_BACKOFF": "0.5",
        "NOTIFIER_DELIVERY_BACKOFF_MAX": "2",
        "NOTIFIER_DELIVERY_TIMEOUT": "3",
        "NOTIFIER_RELAY_INTERVAL": "1",
        "NOTIFIER_RELAY_GRACE": "2",
        "NOTIFIER_CLAIM_TIMEOUT": "4",
        "NOTIFIER_READ_TIMEOUT": "5",
        **env,
    }


def settings_for(env: dict[str, str]):  # noqa: ANN201 - notifier.settings.Settings
    """The Settings a service process started with `env` sees (for checks from the test process)."""
    from notifier.settings import Settings

    fields = {k[len("NOTIFIER_") :].lower(): v for k, v in env.items() if k.startswith("NOTIFIER_") and v != ""}
    return Settings(**fields)
