"""Structured logs: key=value by default, JSON by setting; secrets are scrubbed from every line."""

from __future__ import annotations

import json
import logging
import sys

from notifier.redact import scrub
from notifier.settings import Settings

HOUSEKEEPING = ("alembic", "apprise", "celery.worker.strategy", "celery.worker.request", "celery.beat")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None}


def _kv(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=\n')) else text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"ts={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_kv(record.getMessage())}",
        ]
        parts += [f"{k}={_kv(v)}" for k, v in _fields(record).items()]
        if record.exc_info:
            parts.append(f"exc={_kv(self.formatException(record.exc_info))}")
        return scrub(" ".join(parts))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(data, ensure_ascii=False, default=str))


class TaskContext(logging.Filter):
    """Adds the Celery task id and name to every record logged while a task runs, so one grep finds a task's lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        state = sys.modules.get("celery._state")  # no Celery loaded: no task can be running
        task = state.get_current_task() if state else None
        task_id = getattr(getattr(task, "request", None), "id", None)
        if task_id and getattr(record, "task_id", None) is None:
            record.task_id = task_id
            record.task_name = task.name
        return True


class NoSuccessLines(logging.Filter):
    """Celery's "Task ... succeeded in 0.02s: 'failed: ...'" says nothing true or new; its retries and failures do."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "succeeded in" not in str(record.msg)


def formatter(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format == "json" else KeyValueFormatter()


def setup_logging(settings: Settings) -> None:
    """Configure the root logger once (idempotent)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_notifier", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings))
    handler.addFilter(TaskContext())
    handler._notifier = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Housekeeping only at DEBUG: Alembic announces every start; Celery each task received and each
    # "succeeded" (even for a poll that failed: the pipeline logs each poll's outcome), beat each task it sends,
    # Apprise each notification (notifier.alerts.deliver logs each delivery's outcome). Task failures and
    # retries, and every warning, still show.
    for name in HOUSEKEEPING:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    trace = logging.getLogger("celery.app.trace")
    for f in [f for f in trace.filters if isinstance(f, NoSuccessLines)]:
        trace.removeFilter(f)
    if root.level > logging.DEBUG:
        trace.addFilter(NoSuccessLines())
