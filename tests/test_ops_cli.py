"""The ops commands as a user runs them: `notifier outbox list|retry|ack`, `notifier prune`, `notifier settings`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.settings import env_example
from tests.support.receivers import WebhookReceiver
from tests.test_ops_status import OFAC, baseline, cli_env

NOTIFIER = Path(sys.executable).parent / "notifier"


@pytest.fixture
def dead(make_ctx, hook):
    """A service whose one alert delivery died (the webhook answered 500); its subscriber's URL holds a token."""
    url = hook.url("/hook?token=s3cr3t-t0ken")
    svc = make_ctx(OFAC, {"subscribers": [{"name": "analysts", "channels": [{"url": url}]}]}, delivery_max_attempts=1)
    baseline(svc)
    baseline(svc, "2025-12-18_CONSOLIDATED.XML")
    hook.responses = [500]
    [delivery_id] = due(svc.engine)
    assert deliver_one(svc, delivery_id).status == "dead"
    return svc, delivery_id


def cli(svc, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NOTIFIER), *args], capture_output=True, text=True, env=cli_env(svc.settings), timeout=300
    )


def test_outbox_list_shows_dead_deliveries_without_secrets(dead):
    svc, delivery_id = dead
    listing = cli(svc, "outbox", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    [row] = [json.loads(line) for line in listing.stdout.splitlines()]
    assert (row["id"], row["status"], row["subscriber"], row["channel_type"]) == (
        delivery_id,
        "dead",
        "analysts",
        "json",
    )
    assert row["last_error"] and "s3cr3t" not in listing.stdout
    table = cli(svc, "outbox", "list")
    assert "notifier outbox retry ID" in table.stdout and "s3cr3t" not in table.stdout
    assert "no pending deliveries" in cli(svc, "outbox", "list", "--status", "pending").stdout


def test_outbox_list_prints_a_receivers_error_as_text_not_as_markup(dead):
    """A receiver's answer is data: brackets in it are printed as they are (a stray closing tag crashed the table)."""
    svc, delivery_id = dead
    error = "HTTP 500: [/] [bold]not bold[/bold]"
    with svc.engine.begin() as conn:
        conn.execute(text("update delivery set last_error = :e where id = :i"), {"e": error, "i": delivery_id})
    env = {**cli_env(svc.settings), "COLUMNS": "400"}  # one line per row: the text is not folded
    table = subprocess.run([str(NOTIFIER), "outbox", "list"], capture_output=True, text=True, env=env, timeout=300)
    assert table.returncode == 0, table.stderr
    assert error in table.stdout, table.stdout


def test_outbox_retry_now_sends_a_dead_delivery(dead, hook):
    svc, delivery_id = dead
    sent = cli(svc, "outbox", "retry", str(delivery_id), "--now")
    assert (sent.returncode, sent.stdout.strip()) == (0, f"delivery {delivery_id}: sent"), sent.stderr
    assert "KAYAKIRAN, Evren" in hook.wait(1)[0]["message"]
    again = cli(svc, "outbox", "retry", str(delivery_id))
    assert again.returncode == 2 and f"delivery {delivery_id} is sent, not dead" in again.stderr


def test_outbox_retry_hands_the_row_to_the_relay(dead):
    from notifier.alerts.outbox import relay

    svc, delivery_id = dead
    queued = cli(svc, "outbox", "retry", str(delivery_id))
    assert queued.returncode == 0 and "pending again" in queued.stdout
    s = svc.settings
    assert relay(svc.engine, grace=s.relay_grace, claim_timeout=s.claim_timeout) == [delivery_id]


def test_a_delivery_that_dies_again_after_a_retry_alerts_ops_again(make_ctx, hook):
    from notifier.alerts.dead_letters import retry

    ops = WebhookReceiver()
    try:
        subs = {
            "subscribers": [
                {"name": "analysts", "channels": [{"url": hook.url()}]},
                {"name": "ops", "tags": ["ops"], "channels": [{"url": ops.url()}]},
            ]
        }
        svc = make_ctx(OFAC, subs, delivery_max_attempts=1)
        baseline(svc)
        baseline(svc, "2025-12-18_CONSOLIDATED.XML")
        hook.responses = [500, 500]
        [delivery_id] = due(svc.engine)
        first = deliver_one(svc, delivery_id)
        retry(svc.engine, delivery_id, svc.settings.relay_grace)
        second = deliver_one(svc, delivery_id)
        assert (first.status, second.status) == ("dead", "dead")
        assert len(first.ops_ids) == 1 and len(second.ops_ids) == 1 and first.ops_ids != second.ops_ids
    finally:
        ops.close()


def test_outbox_ack_clears_the_dead_delivery_from_status(dead):
    svc, delivery_id = dead
    assert "1 dead deliveries not acknowledged" in cli(svc, "status", "--json").stdout
    acked = cli(svc, "outbox", "ack", "--all")
    assert acked.returncode == 0 and acked.stdout.strip() == f"acknowledged 1 dead deliveries: {delivery_id}"
    assert "dead deliveries" not in cli(svc, "status", "--json").stdout
    assert str(delivery_id) in cli(svc, "outbox", "list", "--status", "acked").stdout


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the database plays no part


@SQLITE_ONLY
@pytest.mark.parametrize(
    "args, message",
    [
        (("outbox", "ack"), "give delivery ids, or --all"),
        (("outbox", "ack", "999999"), "no delivery 999999 in the outbox"),
        (("outbox", "retry", "999999"), "no delivery 999999 in the outbox"),
        (("outbox", "list", "--status", "lost"), "--status 'lost': use one of"),
    ],
)
def test_outbox_mistakes_are_one_line_errors(make_ctx, args, message):
    svc = make_ctx(OFAC)
    result = cli(svc, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@SQLITE_ONLY
def test_prune_dry_run_and_settings_commands(make_ctx):
    svc = make_ctx(OFAC)
    baseline(svc)
    dry = cli(svc, "prune", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would delete 0 archived snapshots (0.0 MB), kept 1")
    example = cli(svc, "settings", "--example")
    assert example.stdout == env_example()
    current = cli(svc, "settings").stdout.splitlines()
    assert f"NOTIFIER_DATA_DIR={svc.settings.data_dir}" in current
    assert "NOTIFIER_RETENTION_ARCHIVE_DAYS=90" in current


def test_status_json_prints_an_error_text_as_it_is(make_ctx):
    """Publisher and server text is data: emoji codes and brackets in it reach `status --json` unchanged."""
    svc = make_ctx(OFAC)
    baseline(svc)
    error = "HTTP 503 :warning: [b]busy[/b]"
    with svc.engine.begin() as conn:
        conn.execute(text("UPDATE source_state SET last_error = :e"), {"e": error})
    run = cli(svc, "status", "--json")
    [source] = json.loads(run.stdout)["sources"]
    assert source["last_error"] == error
