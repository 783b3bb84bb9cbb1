"""Masking of secrets before anything reaches a log line, the CLI or the database.

Apprise URLs carry tokens in user, password, path and query; publishers' URLs may carry API keys.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]{1,20})://([^\s'\"<>]+)")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|key|apikey|api_key|access_token|secret|password|pass|sig|signature)=)[^&\s]+"
)
_SAFE_SCHEMES = {"http", "https", "file"}


def _mask_one(scheme: str, rest: str) -> str:
    parts = urlsplit(f"{scheme}://{rest}")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if scheme.lower() in _SAFE_SCHEMES:
        # Publishers' URLs: keep the path (it tells ops which file), hide credentials and secret query values.
        auth = "***@" if parts.username or parts.password else ""
        query = _SECRET_QUERY.sub(r"\1***", f"?{parts.query}") if parts.query else ""
        return f"{scheme}://{auth}{host}{parts.path}{query}"
    # Notification URLs (slack://, mailto://, json://...): everything after the host may be a secret.
    shown_host = host if "." in host or host in ("localhost",) else "***"
    return f"{scheme}://{shown_host}/***" if rest else f"{scheme}://"


def mask_url(text: str) -> str:
    """Every URL in the text with its secrets replaced by ***."""
    return _URL.sub(lambda m: _mask_one(m.group(1), m.group(2)), text)


_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret (a channel URL, a token from the environment) so that scrub() hides it anywhere."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def scrub(text: str) -> str:
    """Hide registered secrets, then mask URLs: the last step before text is logged, printed or stored."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return mask_url(text)
