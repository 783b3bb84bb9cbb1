"""Channels failing under real workers: an SMTP server down for a while, webhooks answering 500, 429 with
Retry-After, or hanging without an answer, and one that never recovers.

Every alert arrives once after its channel recovers, within the retry policy (NOTIFIER_DELIVERY_MAX_ATTEMPTS,
exponential backoff); the channel that never recovers ends dead after its last attempt and ops hear of it once.
Counted part by part at the receivers (tests.support.ledger): no worker dies here, so no part may repeat.

Retry-After: Apprise's result object reports the 429 status but not the response's headers (its plugins call
requests themselves), so the service cannot read the value; it backs off exponentially instead, which with the
default settings (30 s doubling, 8 attempts) outlasts any sane Retry-After.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.app import build_service
from notifier.store.models import Delivery
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.ledger import Ledger
from tests.support.receivers import SmtpSink, WebhookReceiver
from tests.support.servers import RedisServer
from tests.support.service import ServiceProcess, configure, relay_runs, settings_for, wait_for

pytestmark = pytest.mark.slow
CONS = "ofac/consolidated_xml"
MAX_ATTEMPTS = 5


def rows_by_subscriber(engine) -> dict[str, Delivery]:  # noqa: ANN001
    with Session(engine) as s:
        return {r.subscriber: r for r in s.execute(select(Delivery).where(Delivery.purpose == "changes")).scalars()}


def test_failing_channels_deliver_once_after_recovery_or_end_dead_with_one_ops_alert(tmp_path, pg_url):
    flaky, limited, hanging, broken, ops = (WebhookReceiver() for _ in range(5))
    flaky.responses = [500, 500, 500]
    limited.responses, limited.retry_after = [429, 429], "2"
    hanging.stall, hanging.stall_for = 2, 8.0  # the first two requests get no answer at all
    broken.responses = [500] * 50
    smtp = SmtpSink()  # down: nothing listens on its port yet
    redis = RedisServer(tmp_path / "redis").start()
    procs: list[ServiceProcess] = []
    try:
        with LocalServer() as server:
            server.serve("/cons", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
            subscribers = [
                {"name": "mail", "channels": [{"url": smtp.url()}]},
                {"name": "flaky", "channels": [{"url": flaky.url("/flaky")}]},
                {"name": "limited", "channels": [{"url": limited.url("/limited")}]},
                {"name": "hanging", "channels": [{"url": hanging.url("/hanging")}]},
                {"name": "broken", "channels": [{"url": broken.url("/broken")}]},
                {"name": "ops", "tags": ["ops"], "channels": [{"url": ops.url("/ops")}]},
            ]
            env = configure(
                tmp_path,
                {"us_ofac_cons": {"url": server.url("/cons"), "schedule": "5s", "title": "OFAC Consolidated"}},
                subscribers,
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=pg_url,
                NOTIFIER_DELIVERY_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
                NOTIFIER_DELIVERY_TIMEOUT="2",
                NOTIFIER_CLAIM_TIMEOUT="6",
                NOTIFIER_RELAY_GRACE="4",
            )
            svc = build_service(settings_for(env))
            recovering = [flaky, limited, hanging]
            ledger = Ledger(svc, recovering, [smtp])
            procs = [
                ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker").start(),
                ServiceProcess(["beat"], env, tmp_path, "beat").start(),
            ]
            wait_for(lambda: "poll accepted" in procs[0].log(), 60, what="the baseline")
            server.serve("/cons", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes())
            wait_for(
                lambda: (r := rows_by_subscriber(svc.engine).get("mail")) and r.attempts >= 2, 60, what="SMTP down"
            )
            smtp.start()  # the mail server is back
            wait_for(lambda: rows_by_subscriber(svc.engine)["broken"].status == "dead", 90, what="the dead row")

            def settled() -> bool:
                rows = rows_by_subscriber(svc.engine)
                return all(rows[n].status == "sent" for n in ("mail", "flaky", "limited", "hanging")) and ops.received

            wait_for(settled, 120, what="every recovering channel")
            relay_runs(env)  # a few relay runs later: still once
            rows = rows_by_subscriber(svc.engine)
            problems = ledger.problems()
            broken_owed = {k for k in problems["missing"] if k[1] == "/broken"}
    finally:
        for p in procs:
            p.stop(10)
        for r in (flaky, limited, hanging, broken, ops):
            r.close()
        smtp.stop()
        redis.stop()
    assert set(problems["missing"]) == broken_owed and broken_owed, problems
    assert problems["unexpected"] == {} and problems["duplicated"] == {}, problems
    assert [k for k in ledger.expected() if k[1] != "/broken" and ledger.received()[k] != 1] == []
    attempts = {name: row.attempts for name, row in rows.items()}
    assert attempts["flaky"] == 4 and attempts["limited"] == 3 and attempts["hanging"] == 3, attempts
    assert 2 <= attempts["mail"] <= MAX_ATTEMPTS, attempts
    assert rows["broken"].attempts == MAX_ATTEMPTS and "500" in rows["broken"].last_error
    assert broken.hits == MAX_ATTEMPTS, "no attempt after the last one"
    [alert] = ops.received
    assert "broken" in alert["message"] and f"failed {MAX_ATTEMPTS} times" in alert["message"]
    assert limited.hits == 3 and hanging.hits == 3 and flaky.hits == 4
