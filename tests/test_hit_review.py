"""Review that sticks: a pair marked false positive alerts nobody again until the designation's names, dates or
identifiers change; every decision is kept with who, when and why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.screening.review import ReviewError, hit_detail, list_hits, review_hit
from notifier.screening.watchlists import import_watchlist, watchlist_rows
from notifier.store.models import Delivery, HitReview
from notifier.timeutil import utcnow


@dataclass
class Change:
    """What watchlist_rows reads of a change event."""

    id: int
    change: str
    after: dict[str, Any]
    before: dict[str, Any] | None = None
    kind: str = "designation"
    source: str = "us_ofac_sdn"


ROMASHKA = {"kind": "designation", "key": "1", "name": "ROMASHKA LLC", "entity_type": "organization"}


@pytest.fixture
def svc(make_ctx, tmp_path):
    subs = {"subscribers": [{"name": "acme", "channels": [{"url": f"json://localhost:9/{tmp_path.name}"}]}]}
    svc = make_ctx({"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}}, subs)
    import_watchlist(svc.engine, svc.subscribers[0], b"name,reference\nOOO Romashka,R1\nZAO Lyutik,R2\n")
    return svc


def alerts(svc, change: Change) -> list[dict]:
    with Session(svc.engine) as session, session.begin():
        rows = watchlist_rows(session, svc.subscribers, [change], 1, utcnow())
    return [h for r in rows for h in json.loads(r["body"])["hits"]]


def test_a_false_positive_stays_quiet_until_the_designations_names_dates_or_identifiers_change(svc):
    [first] = alerts(svc, Change(1, "added", ROMASHKA))
    assert first["entry"]["reference"] == "R1" and first["hit_id"]
    done = review_hit(svc.engine, first["hit_id"], "false_positive", "anna", "our Romashka is in Kazan, theirs in Omsk")
    assert done["status"] == "false_positive"
    assert done["reviews"][0]["actor"] == "anna" and "Kazan" in done["reviews"][0]["note"]

    relisted = {**ROMASHKA, "programs": ["RUSSIA-EO14024"]}  # programmes changed: not what the reviewer judged
    assert alerts(svc, Change(2, "added", ROMASHKA)) == [], "the same designation published again"
    assert alerts(svc, Change(3, "amended", relisted, ROMASHKA)) == []
    import_watchlist(svc.engine, svc.subscribers[0], b"name,reference\nOOO Romashka,R1\nZAO Lyutik,R2\nX,R3\n")
    with Session(svc.engine) as s:
        [report] = s.execute(select(Delivery).where(Delivery.purpose == "watchlist_report")).scalars().all()[-1:]
    assert json.loads(report.body)["hits"] == [], "a re-imported list's report leaves the false positive out"

    renamed = {**relisted, "aliases": ["ROMASHKA TRADING"]}
    [again] = alerts(svc, Change(4, "amended", renamed, relisted))
    assert again["hit_id"] == first["hit_id"], "the same pair, reopened because the listing's names changed"
    dated = {**renamed, "identifiers": [{"type": "INN", "number": "7700000001"}]}
    assert len(alerts(svc, Change(5, "amended", dated, renamed))) == 1, "a new identifier reopens it too"


def test_a_confirmed_hit_keeps_alerting_and_every_decision_is_kept_with_who_when_why(svc):
    [hit] = alerts(svc, Change(1, "added", ROMASHKA))
    review_hit(svc.engine, hit["hit_id"], "false_positive", "anna", "looks different")
    review_hit(svc.engine, hit["hit_id"], "confirmed", "boris", "same INN after all")
    assert len(alerts(svc, Change(2, "added", ROMASHKA))) == 1
    detail = hit_detail(svc.engine, hit["hit_id"])
    assert [(r["decision"], r["actor"], r["note"]) for r in detail["reviews"]] == [
        ("false_positive", "anna", "looks different"),
        ("confirmed", "boris", "same INN after all"),
    ]
    assert all(r["at"] for r in detail["reviews"])
    assert [h["status"] for h in list_hits(svc.engine, "acme")] == ["confirmed"]
    with Session(svc.engine) as s:
        assert s.execute(select(HitReview)).scalars().all()[0].fingerprint


@pytest.mark.parametrize(
    ("hit", "decision", "actor", "message"),
    [(999, "false_positive", "anna", "no watchlist hit 999"), (None, "maybe", "anna", "not one of"),
     (None, "confirmed", " ", "reviewer's name")],
)  # fmt: skip
def test_a_review_that_cannot_be_recorded_says_why(svc, hit, decision, actor, message):
    [found] = alerts(svc, Change(1, "added", ROMASHKA))
    with pytest.raises(ReviewError, match=message):
        review_hit(svc.engine, hit or found["hit_id"], decision, actor, "")
    assert hit_detail(svc.engine, found["hit_id"])["reviews"] == []
