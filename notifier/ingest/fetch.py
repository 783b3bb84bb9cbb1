"""Download one part of a snapshot: conditional, bounded in size and time, streamed to a temp file.

Validators are the server's own (ETag, Last-Modified), replayed as the server gave them; our clock is never
used for If-Modified-Since. `file://` URLs and plain paths go through the same size cap and hashing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import requests
import urllib3

from notifier.redact import mask_url

CHUNK = 1 << 16


class FetchError(Exception):
    """The part could not be downloaded; the message is safe to log and store (URL masked)."""


@dataclass(slots=True)
class Fetched:
    part: str
    url: str
    not_modified: bool
    path: Path | None = None  # temp file holding the body; the caller removes it
    sha256: str | None = None
    size: int = 0
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None  # where the body came from after redirects (relative links resolve against it)


def is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def local_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)


def _arriving(resp: requests.Response, what: str) -> Iterator[bytes]:
    """The body as it arrives (decoded), one network read at a time.

    requests' iter_content waits for a full chunk, so a server dripping a byte at a time would never let the
    deadline be checked; read1 returns whatever one read gave, and each read is bounded by the read timeout.
    """
    try:
        while chunk := resp.raw.read1(CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.ReadTimeoutError:
        raise FetchError(f"{what}: timed out in the middle of the download") from None
    except urllib3.exceptions.HTTPError as exc:
        reason = mask_url(str(exc.args[0] if exc.args else exc))
        raise FetchError(f"{what}: connection broken in the middle of the download ({reason})") from None


def _copy_capped(src: BinaryIO | object, dst: BinaryIO, cap: int, deadline: float, what: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    chunks = _arriving(src, what) if isinstance(src, requests.Response) else iter(lambda: src.read(CHUNK), b"")
    for chunk in chunks:
        if not chunk:
            continue
        size += len(chunk)
        if size > cap:
            raise FetchError(f"{what}: body exceeds the size cap of {cap // (1024 * 1024)} MB; download stopped")
        if time.monotonic() > deadline:
            raise FetchError(f"{what}: download took longer than the deadline; stopped after {size} bytes")
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest(), size


def fetch_part(
    part: str,
    url: str,
    *,
    tmp_dir: Path,
    etag: str | None = None,
    last_modified: str | None = None,
    user_agent: str,
    connect_timeout: float,
    read_timeout: float,
    deadline_seconds: float,
    max_bytes: int,
    session: requests.Session | None = None,
) -> Fetched:
    """Fetch one part; a 304 answer comes back as not_modified without a body."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + deadline_seconds
    shown = mask_url(url)
    fd, name = tempfile.mkstemp(prefix=f"{part}-", suffix=".part", dir=tmp_dir)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            if is_local(url):
                path = local_path(url)
                try:
                    with open(path, "rb") as src:
                        sha, size = _copy_capped(src, out, max_bytes, deadline, shown)
                except OSError as exc:
                    raise FetchError(f"{shown}: cannot read: {exc.strerror or exc}") from None
                return Fetched(part, url, False, tmp, sha, size)
            headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            http = session or requests
            try:
                with http.get(url, headers=headers, stream=True, timeout=(connect_timeout, read_timeout)) as resp:
                    if resp.status_code == 304:
                        tmp.unlink(missing_ok=True)
                        return Fetched(part, url, True, etag=etag, last_modified=last_modified)
                    if resp.status_code >= 400:
                        raise FetchError(f"{shown}: HTTP {resp.status_code} {resp.reason or ''}".rstrip())
                    length = resp.headers.get("Content-Length")
                    if (
                        length
                        and length.isdigit()
                        and int(length) > max_bytes
                        and not resp.headers.get("Content-Encoding")
                    ):
                        raise FetchError(
                            f"{shown}: Content-Length {length} exceeds the size cap of {max_bytes // (1024 * 1024)} MB"
                        )
                    sha, size = _copy_capped(resp, out, max_bytes, deadline, shown)
                    return Fetched(
                        part,
                        url,
                        False,
                        tmp,
                        sha,
                        size,
                        etag=resp.headers.get("ETag"),
                        last_modified=resp.headers.get("Last-Modified"),
                        final_url=resp.url,
                    )
            except FetchError:
                raise
            except requests.exceptions.Timeout:
                raise FetchError(f"{shown}: timed out") from None
            except requests.exceptions.RequestException as exc:
                raise FetchError(f"{shown}: {type(exc).__name__}: {_reason(exc)}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _reason(exc: Exception) -> str:
    """The innermost reason of a requests error, without the URL (which may hold a token)."""
    inner = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    return mask_url(text)
