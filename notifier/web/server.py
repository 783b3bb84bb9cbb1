"""Running the web app: in the foreground (`notifier web`) or beside the worker (`notifier run`)."""

from __future__ import annotations

import socket
import threading

import uvicorn

from notifier.app import Service
from notifier.web.app import create_app
from notifier.web.auth import is_loopback


def _config(svc: Service, host: str, port: int) -> uvicorn.Config:
    app = create_app(svc, local=is_loopback(host))
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)


def check_port(host: str, port: int) -> None:
    """Raise OSError now when the address cannot be bound (taken port, unknown address)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(svc: Service, host: str, port: int) -> None:
    """Serve until interrupted; a port already taken fails before anything else starts."""
    check_port(host, port)
    uvicorn.Server(_config(svc, host, port)).run()


def start_in_thread(svc: Service, host: str, port: int) -> uvicorn.Server:
    """The web server on a daemon thread of this process (`notifier run` with NOTIFIER_WEB_PORT)."""
    server = uvicorn.Server(_config(svc, host, port))
    threading.Thread(target=server.run, name="web", daemon=True).start()
    return server
