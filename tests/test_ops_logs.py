"""Every log line written while a Celery task runs carries the task's id and name, in both formats."""

from __future__ import annotations

import json
import logging

import pytest
from celery import Celery

from notifier.ops.logs import setup_logging
from notifier.settings import Settings


@pytest.fixture
def notifier_logging():
    """Our handler on the root logger, writing to the captured stderr; removed afterwards."""

    def install(log_format: str) -> None:
        setup_logging(Settings(log_format=log_format, log_level="INFO"))

    yield install
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_notifier", False):
            root.removeHandler(h)


def run_task_that_logs() -> None:
    app = Celery("logtest", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="tasks.test.hello")
    def hello() -> None:
        logging.getLogger("notifier.ingest.pipeline").info("poll accepted", extra={"source": "un_sc", "snapshot": 7})

    hello.apply(task_id="0b7c1d2e-task")
    logging.getLogger("notifier.cli").info("outside any task")


def test_json_lines_inside_a_task_carry_its_id_and_name(notifier_logging, capsys):
    notifier_logging("json")
    run_task_that_logs()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    inside = next(line for line in lines if line["msg"] == "poll accepted")
    outside = next(line for line in lines if line["msg"] == "outside any task")
    assert (inside["source"], inside["snapshot"]) == ("un_sc", 7)
    assert (inside["task_id"], inside["task_name"]) == ("0b7c1d2e-task", "tasks.test.hello")
    assert "task_id" not in outside and "task_name" not in outside


def test_key_value_lines_inside_a_task_carry_its_id_and_name(notifier_logging, capsys):
    notifier_logging("kv")
    run_task_that_logs()
    err = capsys.readouterr().err
    [inside] = [line for line in err.splitlines() if 'msg="poll accepted"' in line]
    assert inside.endswith("source=un_sc snapshot=7 task_id=0b7c1d2e-task task_name=tasks.test.hello")
    [outside] = [line for line in err.splitlines() if "outside any task" in line]
    assert "task_id" not in outside
