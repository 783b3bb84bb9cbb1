"""Hits that stay reviewed: every (counterparty, designation) pair screening finds is kept, a reviewer marks it
confirmed or false positive, and a pair marked false positive alerts nobody again until the designation's
names, dates or identifiers change (its fingerprint). Every decision is kept, never edited: who, when, why.

The CLI (`notifier watchlist review`) and the web view call `review_hit`; `watchlists` calls `note_hits` inside
the transaction that writes the alerts, so a suppressed pair and the alert it did not cause agree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notifier.errors import NotifierError
from notifier.ingest.canonical import dumps
from notifier.screening.matching import designation_party
from notifier.store.models import HitReview, WatchlistHit
from notifier.timeutil import utcnow

DECISIONS = ("confirmed", "false_positive")


class ReviewError(NotifierError):
    """A review that cannot be recorded (unknown hit, unknown decision, no reviewer named)."""


def fingerprint(payload: dict[str, Any]) -> str:
    """What a reviewer judged: the designation's names, dates and identifiers (not its programmes or remarks'
    other text). A change in any of them reopens a false positive."""
    party = designation_party(payload)  # names, dates and numbers, also those OFAC leaves in the remarks
    facts = {
        "names": sorted(party.names),
        "dates": sorted(str(d) for d in party.dates),
        "ids": sorted(f"{kind}:{value}" for kind, value, _ in party.identifiers),
    }
    return hashlib.sha256(dumps(facts).encode()).hexdigest()


def entry_key(entry: dict[str, Any]) -> str:
    """A counterparty's identity across imports: the subscriber's reference, else its name."""
    return str(entry.get("reference") or f"name:{entry.get('name')}")[:300]


@dataclass(frozen=True)
class Noted:
    hit_id: int
    state: str  # "new" | "seen" | "suppressed" (a false positive, unchanged) | "reopened" (false positive, changed)


def note_hits(session: Session, subscriber: str, found: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[Noted]:
    """Record each (hit view, designation payload) and say whether it may alert; adds `hit_id` to each view."""
    now = utcnow()
    noted = []
    for view, payload in found:
        entry, des = view["entry"], view["designation"]
        key = (subscriber, entry_key(entry), str(des["source"]), str(des["key"]))
        fp = fingerprint(payload)
        hit = session.execute(
            select(WatchlistHit).where(
                WatchlistHit.subscriber == key[0],
                WatchlistHit.entry_key == key[1],
                WatchlistHit.source == key[2],
                WatchlistHit.record_key == key[3],
            )
        ).scalar_one_or_none()
        why = dumps({k: view.get(k) for k in ("entry_name", "matched_name", "agreed", "disagreed")})
        if hit is None:
            hit = WatchlistHit(
                subscriber=key[0],
                entry_key=key[1],
                entry_name=str(entry.get("name") or ""),
                source=key[2],
                record_key=key[3],
                record_name=str(des.get("name") or ""),
                fingerprint=fp,
                score=float(view.get("score") or 0.0),
                why=why,
                first_seen_at=now,
                last_seen_at=now,
            )
            session.add(hit)
            session.flush()
            state = "new"
        else:
            state = "seen"
            if hit.status == "false_positive":
                judged = _last_review(session, hit.id)
                state = "suppressed" if judged is not None and judged.fingerprint == fp else "reopened"
            hit.fingerprint, hit.score, hit.why, hit.last_seen_at = fp, float(view.get("score") or 0.0), why, now
            hit.record_name = str(des.get("name") or "")
        view["hit_id"] = hit.id
        noted.append(Noted(hit.id, state))
    return noted


def _last_review(session: Session, hit_id: int) -> HitReview | None:
    return session.execute(
        select(HitReview).where(HitReview.hit_id == hit_id).order_by(HitReview.id.desc()).limit(1)
    ).scalar_one_or_none()


def review_hit(engine: Engine, hit_id: int, decision: str, actor: str, note: str = "") -> dict[str, Any]:
    """Record a decision on a hit (and make it the hit's status); returns the hit with its full history."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    actor = (actor or "").strip()
    if not actor:
        raise ReviewError("a review needs the reviewer's name (who decided)")
    with Session(engine, expire_on_commit=False) as session, session.begin():
        hit = session.get(WatchlistHit, int(hit_id), with_for_update=True)
        if hit is None:
            raise ReviewError(f"no watchlist hit {hit_id} (see `notifier watchlist hits SUBSCRIBER`)")
        session.add(
            HitReview(
                hit_id=hit.id,
                decision=decision,
                actor=actor[:200],
                note=note or "",
                fingerprint=hit.fingerprint,
                decided_at=utcnow(),
            )
        )
        hit.status = decision
    return hit_detail(engine, int(hit_id))


def hit_detail(engine: Engine, hit_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        hit = session.get(WatchlistHit, int(hit_id))
        if hit is None:
            raise ReviewError(f"no watchlist hit {hit_id}")
        reviews = session.execute(select(HitReview).where(HitReview.hit_id == hit.id).order_by(HitReview.id)).scalars()
        return {**_hit_dict(hit), "reviews": [_review_dict(r) for r in reviews]}


def list_hits(engine: Engine, subscriber: str, status: str | None = None) -> list[dict[str, Any]]:
    """A subscriber's hits, newest first, with their current status."""
    with Session(engine) as session:
        q = select(WatchlistHit).where(WatchlistHit.subscriber == subscriber)
        if status:
            q = q.where(WatchlistHit.status == status)
        return [_hit_dict(h) for h in session.execute(q.order_by(WatchlistHit.id.desc())).scalars()]


def _iso(value: datetime) -> str:
    return value.isoformat()


def _hit_dict(hit: WatchlistHit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "subscriber": hit.subscriber,
        "entry": hit.entry_key,
        "entry_name": hit.entry_name,
        "source": hit.source,
        "key": hit.record_key,
        "record_name": hit.record_name,
        "score": round(hit.score, 3),
        "why": json.loads(hit.why),
        "status": hit.status,
        "first_seen_at": _iso(hit.first_seen_at),
        "last_seen_at": _iso(hit.last_seen_at),
    }


def _review_dict(r: HitReview) -> dict[str, Any]:
    return {"decision": r.decision, "actor": r.actor, "note": r.note, "at": _iso(r.decided_at)}
