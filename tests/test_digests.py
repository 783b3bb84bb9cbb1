"""Digests: a daily subscriber's changes wait in the outbox and leave as ONE digest per channel and period,
grouped by source and type with counts first; nothing is lost or repeated across a restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.digests import next_digest_at, release_due
from notifier.alerts.outbox import due, relay
from notifier.alerts.subscriptions import Subscriber
from notifier.ingest.pipeline import poll
from notifier.screening.watchlists import import_watchlist
from notifier.store.models import Delivery
from tests.conftest import real

SOURCES = {
    "us_ofac_sdn": {"url": "x", "title": "OFAC SDN"},
    "us_ofac_cons": {"url": "x", "title": "OFAC Consolidated"},
}


def sub(**kw) -> Subscriber:
    return Subscriber.model_validate({"name": "s", "channels": [{"url": "json://127.0.0.1:1/"}], **kw})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_digest_time_is_local_time_in_the_subscribers_zone_across_dst():
    london = sub(digest="daily", digest_at="08:00", timezone="Europe/London")
    assert next_digest_at(london, utc("2024-03-30T12:00:00")) == utc("2024-03-31T07:00:00"), "BST began that night"
    assert next_digest_at(london, utc("2024-03-29T07:59:00")) == utc("2024-03-29T08:00:00")
    assert next_digest_at(london, utc("2024-03-29T08:00:00")) == utc("2024-03-30T08:00:00"), "strictly after"
    tokyo = sub(digest="daily", digest_at="18:30", timezone="Asia/Tokyo")
    assert next_digest_at(tokyo, utc("2024-02-23T10:00:00")) == utc("2024-02-24T09:30:00")


def test_hourly_digest_goes_out_at_its_minute_of_every_hour():
    hourly = sub(digest="hourly", digest_at="00:15", timezone="Asia/Kolkata")  # UTC+05:30: minute 15 local = :45 UTC
    assert next_digest_at(hourly, utc("2024-02-23T10:50:00")) == utc("2024-02-23T11:45:00")
    assert next_digest_at(hourly, utc("2024-02-23T10:40:00")) == utc("2024-02-23T10:45:00")


def rows(svc, **where) -> list[Delivery]:
    with Session(svc.engine) as s:
        q = select(Delivery).order_by(Delivery.id)
        for k, v in where.items():
            q = q.where(getattr(Delivery, k) == v)
        return list(s.execute(q).scalars())


def test_a_daily_subscriber_gets_one_digest_for_the_period_and_nothing_is_lost_or_repeated_on_restart(make_ctx, hook):
    subs = {
        "subscribers": [
            {"name": "daily", "channels": [{"url": hook.url()}], "digest": "daily", "timezone": "Europe/London"},
            {"name": "now", "channels": [{"url": hook.url()}]},
        ]
    }
    svc = make_ctx(SOURCES, subs)
    import_watchlist(svc.engine, svc.subscribers[0], b"name\nOOO Novo-Vyatka\n")
    poll(svc, "us_ofac_sdn", {"main": str(real("ofac/sdn_csv/2024-02-20_sdn.csv"))})
    poll(svc, "us_ofac_cons", {"main": str(real("ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"))})
    sdn = poll(svc, "us_ofac_sdn", {"main": str(real("ofac/sdn_csv/2024-02-23_sdn.csv"))})

    [held] = rows(svc, subscriber="daily", purpose="changes")
    assert held.status == "held" and held.due_at == next_digest_at(svc.subscribers[0], held.created_at)
    [hit] = rows(svc, subscriber="daily", purpose="watchlist")
    assert hit.status == "pending", "a watchlist hit never waits for a digest"
    assert [r.status for r in rows(svc, subscriber="now")] == ["pending"]
    assert held.id not in due(svc.engine) and held.id not in relay(svc.engine, grace=0, claim_timeout=0)

    svc = make_ctx(SOURCES, subs)  # the service restarts between two publications of the same period
    cons = poll(svc, "us_ofac_cons", {"main": str(real("ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML"))})
    assert len(rows(svc, subscriber="daily", status="held")) == 2
    assert release_due(svc.engine, now=held.due_at - timedelta(minutes=1)) == [], "not before its time"

    svc = make_ctx(SOURCES, subs)  # and again before the digest time
    [digest_id] = release_due(svc.engine, now=held.due_at + timedelta(seconds=30))
    assert release_due(svc.engine, now=held.due_at + timedelta(minutes=1)) == [], "released once"
    [digest] = rows(svc, purpose="digest")
    assert digest.id == digest_id and digest.status == "pending" and digest.subscriber == "daily"
    expected = {c.id for c in sdn.changes} | {c.id for c in cons.changes}
    assert set(json.loads(digest.change_ids)) == expected and len(expected) == 553 + 8 + 1
    folded = rows(svc, subscriber="daily", purpose="changes")
    assert {(r.status, r.folded_into) for r in folded} == {("folded", digest_id)}

    hook.received.clear()
    with Session(svc.engine) as s, s.begin():  # the digest time (tomorrow) has come
        s.execute(Delivery.__table__.update().values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert deliver_one(svc, digest_id).status == "sent"
    posted = hook.wait(1)
    assert posted[0]["title"].startswith("Sanctions digest ") and "562 changes in 2 lists" in posted[0]["title"]
    first = posted[0]["message"]
    counts = first.split("\n\n", 1)[1].splitlines()[:2]
    assert counts == ["OFAC Consolidated: 1 delisting", "OFAC SDN: 8 amended, 553 new designations"]
    text = "\n".join(p["message"] for p in posted if p["title"].startswith("Sanctions digest"))
    assert text.index("== OFAC Consolidated — 1 delisting ==") < text.index("== OFAC SDN — 553 new designations ==")
    assert "KAYAKIRAN, Evren" in text


def test_a_row_held_for_a_period_already_released_gets_its_own_digest(make_ctx, hook):
    subs = {"subscribers": [{"name": "daily", "channels": [{"url": hook.url()}], "digest": "daily"}]}
    svc = make_ctx(SOURCES, subs)
    poll(svc, "us_ofac_cons", {"main": str(real("ofac/consolidated_xml/2025-10-22_CONSOLIDATED.XML"))})
    poll(svc, "us_ofac_cons", {"main": str(real("ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML"))})
    [held] = rows(svc, status="held")
    [first] = release_due(svc.engine, now=held.due_at)
    with Session(svc.engine) as s, s.begin():  # a late commit for the same period (its snapshot began before)
        late = {c.name: getattr(held, c.name) for c in Delivery.__table__.columns if c.name != "id"}
        s.execute(Delivery.__table__.insert(), [{**late, "dedupe_key": "changes:late", "status": "held"}])
    [second] = release_due(svc.engine, now=held.due_at + timedelta(minutes=1))
    assert second != first and len(rows(svc, purpose="digest")) == 2
