"""config/sources.yaml: which sources are polled, from where, how often, and how strictly guarded.

Every problem is reported as `file: key: problem (fix)` so a wrong config fails at start, not at 3 a.m.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from notifier.errors import ConfigError

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


class GuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_records: int = Field(1, ge=1, description="Fewer records than this: quarantined.")
    max_drop: float = Field(0.10, gt=0, le=1, description="A drop of more than this fraction: quarantined.")


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

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> float:
        seconds = parse_duration(v)
        if seconds < 5:
            raise ValueError("poll at most every 5 seconds")
        return seconds

    @property
    def urls(self) -> dict[str, str]:
        """Every part's URL, main first."""
        return {"main": self.url, **self.parts}


def load_yaml(path: Path, what: str) -> Any:
    """A YAML file, with its absence or a syntax error reported against the file."""
    if not path.exists():
        raise ConfigError(f"{path}: not found ({what}); create it or point the setting at it")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def describe_validation(path: Path, prefix: str, exc: ValidationError) -> str:
    """One line per problem: file, dotted key, message."""
    lines = []
    for err in exc.errors():
        key = ".".join([prefix, *(str(p) for p in err["loc"])]).strip(".")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt? remove it or check the README for the allowed keys)"
        elif err["type"] == "missing":
            msg = "required key missing (add it)"
        lines.append(f"{path}: {key}: {msg}")
    return "\n".join(lines)


def load_sources(path: Path, known_adapters: set[str] | None = None) -> dict[str, SourceConfig]:
    """Parse and check the sources file; unknown adapters are named with the installed ones."""
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
        result[cfg.id] = cfg
    if problems:
        raise ConfigError("\n".join(problems))
    return result
