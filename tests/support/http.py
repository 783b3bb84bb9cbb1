"""A real HTTP server on 127.0.0.1 serving sources the way publishers do (ETag, Last-Modified, errors)."""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    etag: bool = True
    last_modified: str | None = None
    content_type: str = "application/xml"
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between 1-byte chunks (a slow drip that never ends in time)
    reset_after: int | None = None  # close the connection after this many body bytes
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    declared_length: int | None = None  # a Content-Length that lies (truncated body; the connection then closes)
    repeat: int = 1  # the body is sent this many times over (a huge download without holding it in memory)
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.started = time.time()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.delay:
                    time.sleep(route.delay)
                body = gzip.compress(route.body) if route.gzip else route.body
                etag = f'"{hashlib.sha1(route.body).hexdigest()}"' if route.etag else None
                lm = route.last_modified
                if route.status == 200 and (
                    (etag and self.headers.get("If-None-Match") == etag)
                    or (lm and not etag and self.headers.get("If-Modified-Since") == lm)
                ):
                    self.send_response(304)
                    if etag:
                        self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.length:
                    self.send_header("Content-Length", str(route.declared_length or len(body) * route.repeat))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                if etag:
                    self.send_header("ETag", etag)
                if lm:
                    self.send_header("Last-Modified", lm)
                if route.gzip:
                    self.send_header("Content-Encoding", "gzip")
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    if route.drip:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    elif route.reset_after is not None:
                        self.wfile.write(body[: route.reset_after])
                        self.wfile.flush()
                        # SO_LINGER 0: closing sends a TCP RST, as a crashing proxy does, not a polite FIN.
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.close_connection = True
                    else:
                        for _ in range(route.repeat):
                            self.wfile.write(body)
                        if route.declared_length:
                            self.close_connection = True
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, **kw: object) -> str:
        self.routes[path] = Route(body=body, **kw)
        return self.url(path)

    def http_date(self, offset: float = 0) -> str:
        return formatdate(self.started + offset, usegmt=True)
