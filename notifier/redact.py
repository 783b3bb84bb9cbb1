"""Masking of secrets before anything reaches a log line, the CLI or the database.

Apprise URLs carry tokens in user, password, path and query; publishers' URLs may carry API keys.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]{1,20})://([^\s'\"<>]+)")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|key|apikey|api_key|access_token|secret|password|pass|sig|signature)=)[^&\s]+"
)
# Publishers', databases' and brokers' URLs: the path says which file or database; only credentials are secret.
_SAFE_SCHEMES = {"http", "https", "file", "sqlite", "postgres", "postgresql", "redis", "rediss"}


def _mask_one(scheme: str, rest: str) -> str:
    parts = urlsplit(f"{scheme}://{rest}")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if scheme.lower().split("+")[0] in _SAFE_SCHEMES:
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
_LONGEST_FIRST: list[tuple[str, ...]] = [()]  # the secrets, longest first (a secret may contain another)


def register_secret(value: str) -> None:
    """Remember a secret (a channel URL, a token from the environment) so that scrub() hides it anywhere."""
    if value and len(value) >= 6 and value not in _SECRETS:
        _SECRETS.add(value)
        _LONGEST_FIRST[0] = tuple(sorted(_SECRETS, key=len, reverse=True))


_NOT_SECRET = re.compile(r"^(\d+|[a-z0-9.-]+\.[a-z]{2,}|\d{1,3}(\.\d{1,3}){3}|[^@\s]+@[^@\s]+|localhost)$")


def _may_be_secret(part: str) -> bool:
    """A URL part shaped like a token or password (not a word, a host name, an address or a number)."""
    if len(part) < 6 or _NOT_SECRET.match(part):
        return False
    return len(part) >= 16 or any(c.isdigit() for c in part) or (part.lower() != part and part.upper() != part)


def register_url(url: str) -> None:
    """Remember a notification URL and each part of it that may be a credential.

    Apprise and urllib3 log the URLs they build at DEBUG (`http://host/path/TOKEN`, `POST /path/TOKEN`), so a
    secret hidden only as part of the whole URL would still leak: the password, the user, a token-like host,
    path segments and query values are remembered one by one.
    """
    register_secret(url)
    parts = urlsplit(url)
    if parts.password:
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    candidates = [*re.split(r"[:@]", parts.netloc), *parts.path.split("/")]  # tgram://BOT:TOKEN/chat too
    candidates += [value for _key, value in parse_qsl(parts.query, keep_blank_values=False)]
    for part in candidates:
        for form in {part, unquote(part)}:
            if _may_be_secret(form):
                register_secret(form)


def scrub(text: str) -> str:
    """Hide registered secrets, then mask URLs: the last step before text is logged, printed or stored."""
    for secret in _LONGEST_FIRST[0]:
        if secret in text:
            text = text.replace(secret, "***")
    return mask_url(text)
