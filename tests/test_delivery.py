"""Routing, rendering and delivery through Apprise to real receivers on 127.0.0.1 (no Celery here)."""

from __future__ import annotations

import json
from datetime import datetime
from email.header import decode_header, make_header

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.alerts.render import render_changes, summary
from notifier.ingest.pipeline import poll
from notifier.store.models import Delivery
from tests.conftest import real
from tests.support.receivers import SmtpSink, WebhookReceiver, parts

CONS = "ofac/consolidated_xml"
SDN = "ofac/sdn_csv"


def deliver_all(svc) -> list[str]:
    return [deliver_one(svc, i).status for i in due(svc.engine)]


def deliveries(svc) -> list[Delivery]:
    with Session(svc.engine) as s:
        return list(s.execute(select(Delivery).order_by(Delivery.id)).scalars())


def test_a_removal_reaches_email_with_html_and_text_parts_and_a_webhook(make_ctx, hook):
    with SmtpSink() as smtp:
        subs = {"subscribers": [{"name": "analysts", "channels": [{"url": smtp.url()}, {"url": hook.url()}]}]}
        svc = make_ctx({"us_ofac_cons": {"url": "x", "title": "OFAC Consolidated"}}, subs)
        poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
        assert deliveries(svc) == [], "the baseline alerts nobody"
        poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML"))})
        assert deliver_all(svc) == ["sent", "sent"]
        [mail] = smtp.wait(1)
        subject = str(make_header(decode_header(mail["Subject"])))
        assert subject.startswith("OFAC Consolidated 20") and subject.endswith(" — 1 delisting")
        body = parts(mail)
        assert "KAYAKIRAN, Evren" in body["text/html"] and "KAYAKIRAN, Evren" in body["text/plain"]
        assert "FSE-IR" in body["text/plain"] and "26182" in body["text/plain"]
        [posted] = hook.wait(1)
        assert "Delisted: KAYAKIRAN, Evren (person, 26182)" in posted["message"]
        assert deliver_all(svc) == [], "sent rows are never sent again"
        assert len(smtp.messages) == 1 and len(hook.received) == 1


def test_program_filter_gets_exactly_the_matching_entries_of_a_real_publication(make_ctx, hook):
    subs = {
        "subscribers": [
            {
                "name": "russia",
                "channels": [{"url": hook.url()}],
                "filters": {"programs": ["RUSSIA-EO14024"]},
                "attach_above": None,  # every entry in the messages themselves
            }
        ]
    }
    svc = make_ctx({"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}}, subs)
    poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
    result = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
    expected = {
        c.id
        for c in result.changes
        if any("RUSSIA-EO14024" in p for pl in (c.after, c.before) if pl for p in pl.get("programs", []))
    }
    [row] = deliveries(svc)
    assert set(json.loads(row.change_ids)) == expected and 0 < len(expected) < len(result.changes)
    assert deliver_all(svc) == ["sent"]
    messages = hook.wait(1)
    text = "\n".join(m["message"] for m in messages)
    names = {c.name for c in result.changes if c.id in expected}
    assert all(name.replace("*", "\\*") in text or name in text for name in names)
    assert messages[0]["title"].startswith("OFAC SDN 20")


def test_removed_only_filter_gets_exactly_the_106_delistings(make_ctx, hook):
    subs = {
        "subscribers": [{"name": "delistings", "channels": [{"url": hook.url()}], "filters": {"changes": ["removed"]}}]
    }
    svc = make_ctx({"us_ofac_sdn": {"url": "x"}}, subs)
    poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
    result = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-05-03_sdn.csv"))})
    [row] = deliveries(svc)
    assert sorted(json.loads(row.change_ids)) == sorted(c.id for c in result.changes if c.change == "removed")
    assert len(json.loads(row.change_ids)) == 106


def test_the_553_designations_arrive_as_one_digest_with_the_summary_line_first(make_ctx):
    svc = make_ctx({"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}})
    poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
    result = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
    views = result.changes
    meta = svc.router.meta("us_ofac_sdn")
    when = datetime(2024, 2, 23)
    assert summary(meta, when, views) == "OFAC SDN 2024-02-23 — 8 amended, 553 new designations"
    [email] = render_changes(meta, when, views, "email", 100_000 * 10)
    assert email.body.count("<li><b>Designated: ") == 553 and email.body.count("<li><b>Amended: ") == 8
    assert email.title == "OFAC SDN 2024-02-23 — 8 amended, 553 new designations"
    amended = next(v for v in views if v.change == "amended")
    assert "added: " in email.body and amended.name in email.body  # amendments list the items that changed
    chat = render_changes(meta, when, views, "markdown", 35000)
    assert 1 < len(chat) < 20 and all(len(m.body) <= 35000 for m in chat)
    assert chat[0].title.startswith("OFAC SDN 2024-02-23 — amendments to listed parties, ")
    assert chat[0].title.endswith(f", 1/{len(chat)}") and chat[-1].title.endswith(f"/{len(chat)}")
    assert sum(m.body.count("• **") for m in chat) == 561


def test_slack_gets_mrkdwn_within_its_limits_where_apprise_hands_it_to_http(make_ctx, monkeypatch):
    import apprise.plugins.slack as slack_plugin

    posted = []

    class Response:
        status_code = 200
        content = b"ok"
        text = "ok"
        headers: dict = {}

    def fake_request(method, url, data=None, headers=None, **kw):
        posted.append((url, json.loads(data)))
        return Response()

    monkeypatch.setattr(slack_plugin.requests, "request", fake_request)
    monkeypatch.setenv("SLACK_WEBHOOK", "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx")
    subs = {"subscribers": [{"name": "slack", "channels": [{"url": "${SLACK_WEBHOOK}"}]}]}
    svc = make_ctx({"us_ofac_cons": {"url": "x", "title": "OFAC Consolidated"}}, subs)
    poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
    poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML"))})
    assert deliver_all(svc) == ["sent"]
    [(url, payload)] = posted
    assert url.startswith("https://hooks.slack.com/services/")
    text = json.dumps(payload)
    assert "*Delisted: KAYAKIRAN, Evren (person, 26182)*" in text
    assert "|official source>" in text
    assert len(text) < 40000


def test_a_receiver_failing_every_attempt_makes_the_row_dead_and_alerts_ops(make_ctx, hook):
    ops = WebhookReceiver()
    try:
        subs = {
            "subscribers": [
                {"name": "analysts", "channels": [{"url": hook.url()}]},
                {"name": "ops", "tags": ["ops"], "channels": [{"url": ops.url("/ops")}]},
            ]
        }
        svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subs, delivery_max_attempts=3, delivery_backoff=0.01)
        poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
        poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML"))})
        hook.responses = [500, 500, 500]
        [row] = deliveries(svc)
        statuses = []
        for _ in range(3):
            import time

            time.sleep(0.05)
            outcome = deliver_one(svc, row.id)
            statuses.append(outcome.status)
        assert statuses == ["retry", "retry", "dead"]
        assert hook.hits == 3 and hook.received == []
        assert [deliver_one(svc, i).status for i in outcome.ops_ids] == ["sent"]
        [alert] = ops.wait(1)
        assert "failed 3 times" in alert["message"] and "analysts" in alert["message"]
        dead = deliveries(svc)[0]
        assert dead.status == "dead" and "500" in dead.last_error
    finally:
        ops.close()


def test_smtp_down_for_a_while_then_up_delivers_once_after_recovery(make_ctx):
    smtp = SmtpSink()
    subs = {"subscribers": [{"name": "mail", "channels": [{"url": smtp.url()}]}]}
    svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subs, delivery_backoff=0.01)
    poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
    poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-12-18_CONSOLIDATED.XML"))})
    [row] = deliveries(svc)
    assert deliver_one(svc, row.id).status == "retry"
    smtp.start()
    try:
        import time

        time.sleep(0.05)
        assert deliver_one(svc, row.id).status == "sent"
        assert deliver_one(svc, row.id).status == "skipped"
        assert len(smtp.wait(1)) == 1
    finally:
        smtp.stop()


def test_a_quarantined_snapshot_alerts_ops_and_no_subscriber(make_ctx, hook, tmp_path):
    ops = WebhookReceiver()
    try:
        subs = {
            "subscribers": [
                {"name": "analysts", "channels": [{"url": hook.url()}]},
                {"name": "ops", "channels": [{"url": ops.url("/ops"), "tags": ["ops"]}]},
            ]
        }
        svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subs)
        poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"))})
        empty = tmp_path / "empty.xml"
        empty.write_bytes(b"")
        poll(svc, "us_ofac_cons", {"main": str(empty)})
        assert deliver_all(svc) == ["sent"]
        [alert] = ops.wait(1)
        assert "quarantined" in alert["title"] and "empty download" in alert["message"]
        assert hook.received == []
    finally:
        ops.close()


def test_one_polls_subscribers_share_one_rendering_and_another_snapshot_never_gets_it(
    make_ctx, hook, monkeypatch, tmp_path
):
    import notifier.alerts.deliver as deliver_module

    rendered = []
    render = deliver_module.render_changes
    monkeypatch.setattr(deliver_module, "render_changes", lambda *a, **kw: rendered.append(a[1]) or render(*a, **kw))
    subs = {"subscribers": [{"name": f"s{i}", "channels": [{"url": hook.url(f"/s{i}")}]} for i in range(3)]}
    svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subs)
    old, new = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML"), real(f"{CONS}/2025-12-18_CONSOLIDATED.XML")
    poll(svc, "us_ofac_cons", {"main": str(old)})
    poll(svc, "us_ofac_cons", {"main": str(new)})
    assert deliver_all(svc) == ["sent"] * 3
    assert len(rendered) == 1
    # 26182 listed again by a later publication (the old bytes as such would be a stale copy): another digest
    relisted = tmp_path / "relisted.xml"
    relisted.write_bytes(old.read_bytes().replace(b"<Publish_Date>10/22/2025<", b"<Publish_Date>12/19/2025<"))
    poll(svc, "us_ofac_cons", {"main": str(relisted)})
    assert deliver_all(svc) == ["sent"] * 3
    assert len(rendered) == 2
    messages = [m["message"] for m in hook.wait(6)]
    assert sum("Delisted: KAYAKIRAN" in m for m in messages) == 3
    assert sum("Designated: KAYAKIRAN" in m for m in messages) == 3
