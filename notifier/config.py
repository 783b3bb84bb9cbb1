"""config/sources.yaml: which sources are polled, from where, how often, and how strictly guarded.

Every problem is reported as `file: key: problem (fix)` so a wrong config fails at start, not at 3 a.m.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from notifier.errors import ConfigError
from notifier.redact import register_secret
from notifier.timeutil import utcnow

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """Seconds from 300, "300", "30s", "5m", "1h" or "1d"."""
    if isinstance(value, bool):
        raise ValueError("a duration, e.g. 300 or 5m")
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration; write seconds (300) or 30s / 5m / 1h / 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


_FETCHABLE = ("http", "https", "file")


def check_url(url: str) -> str:
    """A source URL we can fetch: http(s)://, file:// or a local path (or a ${VAR} filled in at start)."""
    if not url.strip():
        raise ValueError("empty; write the list's http(s):// URL, a file:// URL or a local path")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme and scheme not in _FETCHABLE and not url.startswith("${"):
        raise ValueError(f"{scheme}:// cannot be fetched; use http(s)://, file:// or a local path")
    return url


ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str, where: str, env: Mapping[str, str]) -> str:
    """${VAR} filled from the environment (one rule for every config file); each value is registered as a
    secret, since variables are where tokens and passwords live. A missing variable names `where`."""
    missing = [name for name in ENV_VAR.findall(text) if name not in env]
    if missing:
        raise ConfigError(f"{where}: environment variable {missing[0]} is not set (export it, or fix the name)")
    for name in ENV_VAR.findall(text):
        register_secret(env[name])
    return ENV_VAR.sub(lambda m: env[m.group(1)], text)


class GuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    """How strictly a source's snapshots are guarded (notifier.ingest.guard); defaults calibrated on real
    publications (bench/guard_calibration.py). Fractions are of the records in the last accepted snapshot."""

    min_records: int = Field(1, ge=1, description="Fewer records than this: quarantined.")
    max_drop: float = Field(
        0.02, gt=0, le=1, description="More than this fraction removed at once (or a part shrinking so): quarantined."
    )
    drop_grace: int = Field(
        3, ge=0, description="Removals, amendments or lost rows up to this count never trip a fraction check."
    )
    max_amend: float = Field(0.30, gt=0, le=1, description="More than this fraction amended at once: quarantined.")
    max_field_change: float = Field(
        0.50, gt=0, le=1, description="One field changing in more than this fraction of records: a format change."
    )
    max_rekey: float = Field(
        0.02, gt=0, le=1, description="More than this fraction re-appearing under new keys: a renumbering."
    )
    max_lossy: int = Field(
        3, ge=0, description="More amended records than this whose names only lost letters to '?'/U+FFFD."
    )


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class Hop(BaseModel):
    """One step of discovery (notifier.ingest.discovery): a link to follow, or a value read from a JSON answer."""

    model_config = ConfigDict(extra="forbid")
    href: str | None = Field(None, description="Regular expression searched in the link's absolute URL.")
    text: str | None = Field(None, description="Regular expression searched in the link's text (NFKC).")
    within: str | None = Field(None, description="CSS selector: only links inside the elements it selects.")
    pick: Literal["newest", "first", "last"] = "newest"
    announce: bool | str = Field(
        True, description="New links matching this hop (or, given a pattern, whose URL matches it) are publications."
    )
    json_value: str | None = Field(None, description="JSON hop: path of the value, e.g. titles[number=15].date")
    value_pattern: str | None = Field(None, description="JSON hop: the whole value must match this expression.")
    url: str | None = Field(None, description="JSON hop: the next URL, {value} standing for the value read.")

    @field_validator("href", "text", "value_pattern")
    @classmethod
    def _patterns(cls, v: str | None) -> str | None:
        return _regex(v)

    @field_validator("announce")
    @classmethod
    def _announce(cls, v: bool | str) -> bool | str:
        return v if isinstance(v, bool) else _regex(v)

    @field_validator("within")
    @classmethod
    def _css(cls, v: str | None) -> str | None:
        if v is not None:
            from cssselect import SelectorError
            from lxml.cssselect import CSSSelector

            try:
                CSSSelector(v)
            except SelectorError as exc:
                raise ValueError(f"not a valid CSS selector: {exc}") from None
        return v

    @model_validator(mode="after")
    def _kind(self) -> Hop:
        if self.json_value is not None:
            if self.href or self.text or self.within:
                raise ValueError("a hop either follows a link (href/text/within) or reads JSON (json_value), not both")
            if not self.url or "{value}" not in self.url:
                raise ValueError("a json_value hop needs url: with {value} where the value goes")
        elif not (self.href or self.text):
            raise ValueError("a link hop needs href: and/or text: (regular expressions) to pick its link")
        elif self.url or self.value_pattern:
            raise ValueError("url: and value_pattern: belong to json_value hops")
        return self


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    adapter: str
    title: str | None = None  # how alerts name the source ("OFAC SDN"); default: the adapter's title
    url: str
    parts: dict[str, str] = Field(default_factory=dict)
    schedule: float = 900.0
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    # The file is found from `url` (its landing page) by these hops at every poll.
    discover: list[Hop] = Field(default_factory=list, max_length=5)
    _file: str = PrivateAttr("")  # the sources file, for error messages
    _env_urls: dict[str, str] | None = PrivateAttr(None)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)

    @field_validator("parts")
    @classmethod
    def _parts(cls, v: dict[str, str]) -> dict[str, str]:
        for url in v.values():
            check_url(url)
        return v

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> float:
        seconds = parse_duration(v)
        if seconds < 5:
            raise ValueError("poll at most every 5 seconds")
        return seconds

    @property
    def urls(self) -> dict[str, str]:
        """Every part's URL as written in the file (placeholders unresolved), main first."""
        return {"main": self.url, **self.parts}

    def resolve_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The part URLs with ${VAR} filled from the environment; a missing variable is a ConfigError.

        Resolved URLs and the variables' values are secrets (tokens, API keys): registered for scrub().
        """
        if self._env_urls is None:
            env = os.environ if env is None else env
            resolved = {}
            for part, url in self.urls.items():
                key = "url" if part == "main" else f"parts.{part}"
                resolved[part] = expand_env(url, f"{self._file}: sources.{self.id}.{key}", env)
                if resolved[part] != url:
                    register_secret(resolved[part])
            self._env_urls = resolved
        return dict(self._env_urls)

    def fetch_urls(self, today: date | None = None) -> dict[str, str]:
        """The URLs to fetch now: environment filled in, and {date} as today's UTC date (YYYY-MM-DD)."""
        day = (today or utcnow().date()).isoformat()
        written, fetched = self.urls, {}
        for part, url in self.resolve_env().items():
            fetched[part] = url.replace("{date}", day)
            if url != written[part]:  # it holds a value from the environment
                register_secret(fetched[part])
        return fetched


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml parses 20x faster (start-up)
    """safe_load that refuses a key written twice in one mapping (YAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (remove or rename one)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path, what: str) -> Any:
    """A YAML file, with its absence or a syntax error reported against the file."""
    if not path.exists():
        raise ConfigError(f"{path}: not found ({what}); create it or point the setting at it")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML: {where}{problem} (fix the syntax there)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


# What to write instead, by pydantic error type (pydantic's own wording names the problem, not the fix).
_FIXES = {
    "extra_forbidden": "unknown key (misspelt? remove it or check the README for the allowed keys)",
    "missing": "required key missing (add it)",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number, e.g. 5",
    "int_parsing": "expected a whole number, e.g. 5",
    "int_from_float": "expected a whole number, e.g. 5",
    "float_type": "expected a number, e.g. 0.5",
    "float_parsing": "expected a number, e.g. 0.5",
    "string_type": "expected text (put it in quotes)",
    "list_type": "expected a list, e.g. [a, b] (or one `- item` per line)",
    "dict_type": "expected a mapping of `key: value` lines",
    "model_type": "expected a mapping of `key: value` lines",
    "model_attributes_type": "expected a mapping of `key: value` lines",
    "too_short": "needs at least one entry",
    "string_too_short": "must not be empty",
}


def explain(err: Mapping[str, Any]) -> str:
    """A pydantic error as the problem and its fix, with the value given when it is short."""
    kind = err["type"]
    msg = _FIXES.get(kind) or str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if kind not in ("missing", "extra_forbidden") and isinstance(value, (str, int, float, bool)) and value != "":
        shown = repr(value)
        if len(shown) <= 60:
            msg += f" (got {shown})"
    return msg


def dotted(prefix: str, loc: tuple[Any, ...]) -> str:
    """("channels", 0, "url") under "subscribers[a]" -> "subscribers[a].channels[0].url"."""
    key = prefix
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key.strip(".")


def describe_validation(path: Path, prefix: str, exc: ValidationError) -> str:
    """One line per problem: file, dotted key, problem and fix."""
    return "\n".join(f"{path}: {dotted(prefix, err['loc'])}: {explain(err)}" for err in exc.errors())


def load_sources(
    path: Path, known_adapters: set[str] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, SourceConfig]:
    """Parse and check the sources file; unknown adapters are named with the installed ones.

    ${VAR} placeholders of enabled sources must be set now (fail at start); a disabled source's are
    resolved only when it is polled, so a fresh machine can keep sources it has no token for.
    """
    data = load_yaml(path, "the sources to poll")
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise ConfigError(f"{path}: sources: expected a mapping `sources:` of source id -> settings")
    result: dict[str, SourceConfig] = {}
    problems: list[str] = []
    for source_id, body in data["sources"].items():
        if not isinstance(body, dict):
            problems.append(f"{path}: sources.{source_id}: expected a mapping with at least `url:`")
            continue
        body = {"adapter": source_id, **body, "id": str(source_id)}
        try:
            cfg = SourceConfig.model_validate(body)
        except ValidationError as exc:
            problems.append(describe_validation(path, f"sources.{source_id}", exc))
            continue
        if known_adapters is not None and cfg.adapter not in known_adapters:
            problems.append(
                f"{path}: sources.{source_id}.adapter: no adapter {cfg.adapter!r} is installed "
                f"(installed: {', '.join(sorted(known_adapters))})"
            )
            continue
        cfg._file = str(path)
        if cfg.enabled:
            try:
                cfg.resolve_env(env)
            except ConfigError as exc:
                problems.append(str(exc))
                continue
        result[cfg.id] = cfg
    if problems:
        raise ConfigError("\n".join(problems))
    return result
