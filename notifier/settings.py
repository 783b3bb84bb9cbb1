"""Settings from the environment, all under one prefix (NOTIFIER_), validated at start."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifier.errors import ConfigError

ENV_PREFIX = "NOTIFIER_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    data_dir: Path = Field(Path("data"), description="Database (SQLite default), archived snapshots, broker files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/notifier.db.")
    broker_url: str | None = Field(None, description="Celery broker; default: embedded filesystem broker.")
    sources_file: Path = Field(Path("config/sources.yaml"), description="Sources to poll.")
    subscriptions_file: Path = Field(Path("config/subscriptions.yaml"), description="Subscribers and filters.")
    user_agent: str = Field(
        "Mozilla/5.0 (compatible; sanctions-notifier/0.1; +https://github.com/sanctions-notifier)",
        description="Sent with every request; some publishers refuse non-browser agents.",
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect to a publisher.")
    read_timeout: float = Field(60.0, gt=0, description="Seconds without a byte before a download fails.")
    fetch_deadline: float = Field(600.0, gt=0, description="Seconds a whole download may take (slow drips).")
    max_download_mb: float = Field(512.0, gt=0, description="Size cap per downloaded part, after decompression.")
    delivery_max_attempts: int = Field(8, ge=1, le=50, description="Sends tried before a delivery is dead.")
    delivery_backoff: float = Field(30.0, gt=0, description="Seconds before the first retry; doubles each time.")
    delivery_backoff_max: float = Field(3600.0, gt=0, description="Longest wait between two retries (seconds).")
    delivery_timeout: float = Field(30.0, gt=0, description="Seconds one send may take (per channel).")
    relay_interval: float = Field(30.0, gt=0, description="How often the relay looks for stuck outbox rows.")
    relay_grace: float = Field(120.0, gt=0, description="A due row untouched this long is re-enqueued.")
    claim_timeout: float = Field(300.0, gt=0, description="A send claimed this long ago without outcome is retried.")
    poll_time_limit: float = Field(900.0, gt=0, description="Hard time limit of one poll task (seconds).")
    worker_concurrency: int = Field(2, ge=1, description="Worker processes of `notifier run` / `notifier worker`.")
    ops_failure_threshold: int = Field(3, ge=1, description="Failed polls in a row before ops are alerted.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field("kv", description="kv (key=value) or json.")

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return v

    @field_validator("log_format")
    @classmethod
    def _format(cls, v: str) -> str:
        if v not in {"kv", "json"}:
            raise ValueError("use kv or json")
        return v

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'notifier.db').resolve()}"

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)


@cache
def get_settings() -> Settings:
    """The process's settings; a bad value fails with the variable's name and what to put there."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("environment: " + "; ".join(problems)) from None


def reset_settings() -> None:
    get_settings.cache_clear()
