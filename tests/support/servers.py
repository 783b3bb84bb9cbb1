"""Private Redis and PostgreSQL servers on free ports, for tests that stop, restart or flush them.

The shared servers on 6379 and 5432 belong to everyone's tests: a fault test never touches them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.receivers import free_port


def _wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    import socket

    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class RedisServer:
    """A redis-server of our own: stop() is a crash (no save), start() brings it back empty on the same port."""

    def __init__(self, folder: Path, password: str | None = None) -> None:
        if not shutil.which("redis-server"):
            pytest.skip("redis-server is not installed")
        self.folder, self.password, self.port = folder, password, free_port()
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, 10, self.proc)
        return self

    def stop(self) -> None:
        """SIGKILL: whatever was queued is gone, as when a Redis without persistence dies."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def client(self):  # noqa: ANN201 - redis.Redis
        import redis

        return redis.Redis.from_url(self.url())

    def flush(self) -> None:
        with self.client() as c:
            c.flushall()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and not shutil.which("initdb"):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    return Path(found[-1]).parent if found else Path(shutil.which("initdb")).parent


class PostgresServer:
    """A throw-away PostgreSQL cluster (trust auth, fsync off) that can be restarted under a running service.

    Its folder lives under /tmp, owned by the postgres user when we run as root (initdb refuses root).
    """

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="notifier-pg-"))
        self.data = self.folder / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.folder, "postgres")

    def url(self, db: str = "postgres", **query: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}" + (f"?{q}" if q else "")

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def start(self) -> PostgresServer:
        if not self.data.exists():
            subprocess.run(
                [
                    *self._as,
                    str(self.bin / "initdb"),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-D",
                    str(self.data),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
            )
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._ctl("-o", opts, "-l", str(self.folder / "server.log"), "-w", "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash: every connection is cut, open transactions roll back at the next start."""
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", mode, "-w", "stop")

    def restart(self, down_for: float = 0.0, mode: str = "immediate") -> None:
        self.stop(mode)
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
