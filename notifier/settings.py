"""Settings from the environment, all under one prefix (NOTIFIER_), validated at start."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifier.errors import ConfigError

ENV_PREFIX = "NOTIFIER_"


# Apprise schemes subscriptions may use unless NOTIFIER_CHANNEL_SCHEMES says otherwise: remote services only.
# Left out on purpose: schemes with a local effect (desktop notifications: dbus, kde, glib, qt, gnome, macosx,
# windows; syslog, rsyslog; anything writing files) and plain http.
DEFAULT_CHANNEL_SCHEMES = (
    "slack,mailto,mailtos,msteams,workflows,discord,tgram,matrix,matrixs,mmost,mmosts,rocket,rockets,zulip,"
    "gotify,gotifys,ntfy,ntfys,pover,pbul,opsgenie,pagerduty,signal,signals,twilio,sns,ses,mailgun,sendgrid,"
    "sparkpost,wxteams,json,jsons,form,forms,xml,xmls,https,apprise,apprises"
)


class Settings(BaseSettings):
    # An empty variable means the default (a .env line left as `NOTIFIER_METRICS_PORT=` must not break a start).
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", validate_default=True, env_ignore_empty=True
    )

    data_dir: Path = Field(Path("data"), description="Database (SQLite default), archived snapshots, broker files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/notifier.db.")
    broker_url: str | None = Field(None, description="Celery broker; default: the embedded broker (files in data_dir).")
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
    relay_interval: float = Field(
        5.0, gt=0, description="How often the relay looks for stuck outbox rows and work held by dead workers."
    )
    relay_grace: float = Field(120.0, gt=0, description="A due row untouched this long is re-enqueued.")
    claim_timeout: float = Field(
        300.0, gt=0, description="Last resort: a send claimed this long ago is retried even if its worker seems alive."
    )
    poll_time_limit: float = Field(900.0, gt=0, description="Hard time limit of one poll task (seconds).")
    poll_lock_lease: float = Field(
        30.0, gt=0, description="Seconds a crashed worker's poll lock outlives it (renewed while a poll runs)."
    )
    worker_concurrency: int = Field(2, ge=1, description="Worker processes of `notifier run` / `notifier worker`.")
    ops_failure_threshold: int = Field(3, ge=1, description="Failed polls in a row before ops are alerted.")
    news_rules_file: Path | None = Field(None, description="News rules (YAML); default: the packaged rules.")
    news_dedupe_days: float = Field(7.0, gt=0, description="A story seen in another feed this recently: no alert.")
    ops_outbox_max_age: float = Field(3600.0, gt=0, description="A delivery due this long but unsent: unhealthy.")
    ops_relay_backlog: int = Field(100, ge=1, description="Rows re-enqueued by one relay run before ops hear of it.")
    ops_check_interval: float = Field(60.0, gt=0, description="How often beat looks for stale sources (seconds).")
    heartbeat_interval: float = Field(
        3.0, gt=0, description="Workers and beat prove they live this often (s); 3 missed: dead, its work released."
    )
    beat_lock_timeout: float = Field(
        6.0, ge=2, description="Seconds a killed beat's scheduler lock outlives it before a standby beat takes over."
    )
    first_poll_jitter: float = Field(
        10.0, ge=0, description="At start every source is polled within this many seconds, spread at random."
    )
    metrics_port: int | None = Field(None, ge=1, le=65535, description="Serve Prometheus metrics from each worker.")
    metrics_addr: str = Field(
        "127.0.0.1", description="Address the metrics endpoint listens on (0.0.0.0 to expose it to other hosts)."
    )
    retention_archive_days: int = Field(90, ge=0, description="Raw snapshots unused this long are pruned (0: never).")
    retention_delivery_days: int = Field(90, ge=0, description="Sent deliveries older than this are pruned (0: never).")
    web_port: int | None = Field(None, ge=1, le=65535, description="Serve the web pages and API in `notifier run`.")
    web_host: str = Field("127.0.0.1", description="Address of that web server (non-loopback: tokens needed to read).")
    channel_schemes: str = Field(
        DEFAULT_CHANNEL_SCHEMES,
        description="Apprise schemes channels may use (comma-separated); add local-effect ones only deliberately.",
    )
    channel_allow_private: bool = Field(
        False, description="Allow channels on loopback/private/local hosts (local receivers, an internal relay)."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field("kv", description="kv (key=value) or json.")

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, v: str | None) -> str | None:
        if v and "://" not in v:
            raise ValueError("not a broker URL; use redis://host:6379/0, or leave it unset for the embedded broker")
        return v or None

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """Settings that are each valid but contradict one another."""
        if self.delivery_backoff > self.delivery_backoff_max:
            raise ValueError(
                f"{ENV_PREFIX}DELIVERY_BACKOFF ({self.delivery_backoff:g}) is longer than {ENV_PREFIX}"
                f"DELIVERY_BACKOFF_MAX ({self.delivery_backoff_max:g}); raise the maximum or lower the first wait"
            )
        if self.fetch_deadline >= self.poll_time_limit:
            raise ValueError(
                f"{ENV_PREFIX}FETCH_DEADLINE ({self.fetch_deadline:g}) must be shorter than {ENV_PREFIX}"
                f"POLL_TIME_LIMIT ({self.poll_time_limit:g}), or the poll is killed before its download fails cleanly"
            )
        if self.claim_timeout <= self.delivery_timeout:
            raise ValueError(
                f"{ENV_PREFIX}CLAIM_TIMEOUT ({self.claim_timeout:g}) must be longer than {ENV_PREFIX}"
                f"DELIVERY_TIMEOUT ({self.delivery_timeout:g}), or a slow send is taken from a live worker and repeated"
            )
        return self

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
        from notifier.config import explain

        problems = []
        for err in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {explain(err)}" if err["loc"] else explain(err))
        raise ConfigError("environment: " + "; ".join(problems)) from None


def reset_settings() -> None:
    get_settings.cache_clear()


def env_example() -> str:
    """The text of .env.example: every setting, commented out at its default, so the file cannot drift."""
    lines = [
        "# sanctions-notifier settings: every variable with its default. Copy to .env, uncomment what you change.",
        "# Generated from notifier/settings.py by `notifier settings --example` (tests check that it matches).",
        "# docker-compose.yml passes .env to every container: put the secrets that config/subscriptions.yaml",
        "# names as ${VAR} here too (OPS_WEBHOOK_URL=...), POSTGRES_PASSWORD=... for its database, and",
        "# FLOWER_BASIC_AUTH=user:password to protect Flower.",
        "",
    ]
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else str(info.default)
        lines += [f"# {info.description}", f"#{ENV_PREFIX}{name.upper()}={default}", ""]
    return "\n".join(lines)
