"""config/subscriptions.yaml: who gets which changes, through which channels, in which format.

Channel URLs are Apprise URLs whose secrets come from the environment (${VAR}); a literal secret in the
file is refused. Every problem names the file, the subscriber, the key and the fix.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from notifier.config import ENV_VAR, describe_validation, expand_env, load_yaml
from notifier.errors import ConfigError
from notifier.records import ENTITY_TYPES
from notifier.redact import register_url

CHANGE_TYPES = ("added", "removed", "amended")
KINDS = ("designation", "export_control", "news", "publication")
FORMATS = ("slack", "email", "text", "markdown")
# Apprise schemes whose URL always carries a token or password in its path or user part.
_TOKEN_SCHEMES = {
    "slack",
    "discord",
    "tgram",
    "msteams",
    "pover",
    "pbul",
    "ntfys",
    "gotify",
    "gotifys",
    "matrix",
    "matrixs",
    "mmost",
    "mmosts",
    "rocket",
    "rockets",
    "zulip",
    "signal",
    "signals",
    "twilio",
    "sns",
    "ses",
    "mailgun",
    "sendgrid",
    "sparkpost",
    "opsgenie",
    "pagerduty",
    "join",
    "ifttt",
    "apprise",
    "apprises",
}


class Filters(BaseModel):
    """Empty list = no restriction. Every non-empty filter must match (AND); values within one are OR."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] = Field(default_factory=list)
    jurisdictions: list[str] = Field(default_factory=list)
    kinds: list[Literal["designation", "export_control", "news", "publication"]] = Field(default_factory=list)
    changes: list[Literal["added", "removed", "amended"]] = Field(default_factory=list)
    programs: list[str] = Field(default_factory=list)
    entity_types: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("entity_types")
    @classmethod
    def _entity_types(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if t not in ENTITY_TYPES]
        if bad:
            raise ValueError(f"unknown entity type {bad[0]!r}; use {', '.join(ENTITY_TYPES)}")
        return v

    @field_validator("jurisdictions")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return [j.upper() for j in v]


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str  # as written in the file, with ${VAR} placeholders
    format: Literal["slack", "email", "text", "markdown"] | None = None
    tags: list[str] = Field(default_factory=list)
    resolved: str = Field("", exclude=True)  # the URL with the environment filled in; never logged

    @property
    def id(self) -> str:
        """Stable id of the channel within its subscriber (the template, not the secret, is hashed)."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    @property
    def scheme(self) -> str:
        return urlsplit(self.resolved or self.url).scheme.lower()

    @property
    def effective_format(self) -> str:
        if self.format:
            return self.format
        if self.scheme in ("mailto", "mailtos"):
            return "email"
        if self.scheme == "slack" or "hooks.slack.com" in self.resolved:
            return "slack"
        return "text"


class Subscriber(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    channels: list[Channel] = Field(min_length=1)
    filters: Filters = Field(default_factory=Filters)
    tags: list[str] = Field(default_factory=list)
    format: Literal["slack", "email", "text", "markdown"] | None = None
    digest: Literal["immediate", "hourly", "daily"] = "immediate"
    digest_at: str = "08:00"
    timezone: str = "UTC"
    watchlist: str | None = None
    watchlist_threshold: float = Field(0.88, gt=0, le=1)
    # a publication with more changes than this keeps the summary and first entries in the message and comes
    # with the whole change set as CSV and JSON attachments (channels that carry files); null: never attach
    attach_above: int | None = Field(100, ge=0)

    @field_validator("digest_at")
    @classmethod
    def _at(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError("use HH:MM, 24-hour clock")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Europe/London") from None
        return v

    @property
    def is_ops(self) -> bool:
        return "ops" in self.tags

    def channel_format(self, channel: Channel) -> str:
        return channel.format or self.format or channel.effective_format


def _literal_secret(url: str) -> str | None:
    """Why a URL as written in the file holds a secret, or None."""
    masked = ENV_VAR.sub("VAR", url)
    parts = urlsplit(masked)
    if parts.password and parts.password != "VAR":
        return "a password"
    scheme = parts.scheme.lower()
    if scheme in _TOKEN_SCHEMES and "VAR" not in masked:
        return f"a {scheme}:// token"
    if scheme in ("http", "https") and "hooks.slack.com" in masked and "VAR" not in masked:
        return "a Slack webhook path"
    return None


# Apprise schemes whose effect stays on this machine: refused unless listed in NOTIFIER_CHANNEL_SCHEMES.
LOCAL_EFFECT_SCHEMES = frozenset(
    {"dbus", "kde", "qt", "glib", "gnome", "macosx", "windows", "syslog", "rsyslog", "file", "script", "exec"}
)
# Schemes whose URL host is the server contacted (in slack://, tgram://, discord://... it is a token instead).
_HOST_SCHEMES = frozenset(
    {"json", "jsons", "form", "forms", "xml", "xmls", "http", "https", "mailto", "mailtos", "gotify", "gotifys",
     "matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets", "apprise", "apprises", "signal", "signals"}
)
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".localdomain", ".internal", ".lan", ".home.arpa")


def private_host(host: str) -> bool:
    """A host on this machine or its private network: loopback, private, link-local, reserved, a local name.

    A name without a dot resolves only on the local network, so it counts as private too.
    """
    host = host.strip("[]").lower().rstrip(".")
    if not host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host or any(host == n.lstrip(".") or host.endswith(n) for n in _LOCAL_NAMES)
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified or ip.is_multicast


@dataclass(frozen=True)
class ChannelPolicy:
    """Which channels subscriptions may use: allowed Apprise schemes, and whether private hosts are allowed.

    A subscription file is configuration that reaches the network from inside the deployment: a channel must
    not become a way to pop desktop notifications, write syslog, or post to internal services.
    """

    schemes: frozenset[str]
    allow_private: bool = False

    @classmethod
    def from_settings(cls, schemes: str, allow_private: bool) -> ChannelPolicy:
        return cls(frozenset(s.strip().lower() for s in schemes.split(",") if s.strip()), allow_private)

    def problem(self, url: str) -> str | None:
        """Why the (resolved) channel URL is refused, or None."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            what = "has a local effect on this machine" if scheme in LOCAL_EFFECT_SCHEMES else "is not allowed"
            return (
                f"the {scheme}:// scheme {what} (allowed: NOTIFIER_CHANNEL_SCHEMES; add {scheme} there to allow it)"
            )
        if self.allow_private:
            return None
        hosts = [parts.hostname or ""] if scheme in _HOST_SCHEMES else []
        hosts += [h for key in ("smtp", "host") for h in parse_qs(parts.query).get(key, [])]
        for host in hosts:
            if private_host(host):
                return (
                    f"targets {host}, a loopback/private/local address (set NOTIFIER_CHANNEL_ALLOW_PRIVATE=true to "
                    "allow channels inside your network)"
                )
        return None


def _apprise_accepts(url: str) -> bool:
    """Whether Apprise can build a sender from the URL; its own error log line is held back (ours names the key)."""
    import apprise

    logger = logging.getLogger("apprise")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None
    finally:
        logger.setLevel(level)


def load_subscribers(
    path: Path,
    known_sources: set[str] | None = None,
    env: dict[str, str] | None = None,
    policy: ChannelPolicy | None = None,
) -> list[Subscriber]:
    """Parse, validate and resolve the subscriptions file; all problems are reported together.

    With a `policy` (at start and in `subscriptions check`), channels it refuses are problems too.
    """
    env = dict(os.environ if env is None else env)
    data = load_yaml(path, "subscribers and their channels")
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("subscribers", []), list):
        raise ConfigError(f"{path}: subscribers: expected a list `subscribers:` of subscriber entries")
    problems: list[str] = []
    result: list[Subscriber] = []
    names: set[str] = set()
    for i, raw in enumerate(data.get("subscribers") or []):
        label = raw.get("name") if isinstance(raw, dict) and raw.get("name") else f"#{i + 1}"
        where = f"{path}: subscribers[{label}]"
        try:
            sub = Subscriber.model_validate(raw)
        except ValidationError as exc:
            problems.append(describe_validation(path, f"subscribers[{label}]", exc))
            continue
        if sub.name in names:
            problems.append(f"{where}.name: duplicate subscriber name (names must be unique)")
            continue
        names.add(sub.name)
        for j, ch in enumerate(sub.channels):
            ch_where = f"{where}.channels[{j}].url"
            why = _literal_secret(ch.url)
            if why:
                problems.append(f"{ch_where}: holds {why}; put it in an environment variable and write ${{VAR}}")
                continue
            try:
                ch.resolved = expand_env(ch.url, ch_where, env)
            except ConfigError as exc:
                problems.append(str(exc))
                continue
            register_url(ch.resolved)
            refused = policy.problem(ch.resolved) if policy is not None else None
            accepted = _apprise_accepts(ch.resolved)
            if refused and (accepted or ch.scheme in LOCAL_EFFECT_SCHEMES):
                problems.append(f"{ch_where}: {refused}")
                continue
            if not accepted:
                problems.append(f"{ch_where}: not a URL Apprise can send to (see the Apprise wiki for the scheme)")
        for src in sub.filters.sources:
            if known_sources is not None and src not in known_sources:
                problems.append(
                    f"{where}.filters.sources: unknown source {src!r} (configured: {', '.join(sorted(known_sources))})"
                )
        result.append(sub)
    if problems:
        raise ConfigError("\n".join(problems))
    return result
