"""What the service owes against what the receivers got, part by part: the exactly-once accounting of fault tests.

The outbox says which alerts are owed; rendering each row again (the same code the workers use) gives the exact
messages, keyed by receiver and title. A worker killed while a part was on the wire cannot know whether it
arrived, so the part is sent again: `note_kill` records those parts in doubt (at most one per row being sent),
and only they may arrive twice. Any other duplicate, or any missing part, is a broken guarantee. Each part
carries an X-Notifier-Id: a receiver that drops repeated ids gets every part exactly once, crashes or not.
"""

from __future__ import annotations

from collections import Counter
from email.header import decode_header, make_header
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.deliver import _find_channel, build_messages
from notifier.store.models import Delivery
from tests.support.receivers import SmtpSink, WebhookReceiver

Key = tuple[str, str, str]


def channel_key(url: str, title: str) -> Key:
    parts = urlsplit(url)
    if parts.scheme.startswith("mailto"):
        return ("mail", parse_qs(parts.query)["to"][0], title)
    return ("hook", parts.path, title)


class Ledger:
    def __init__(self, svc, hooks: list[WebhookReceiver], sinks: list[SmtpSink], purposes=("changes",)) -> None:  # noqa: ANN001
        self.svc, self.hooks, self.sinks, self.purposes = svc, hooks, sinks, purposes
        self._rendered: dict[int, list[Key]] = {}
        self.in_doubt: Counter[Key] = Counter()
        self._counted: set[tuple[int, object, int]] = set()
        self.kills = 0

    def _keys(self, session: Session, row: Delivery) -> list[Key]:
        if row.id not in self._rendered:
            sub, channel = _find_channel(self.svc, row)
            messages = build_messages(self.svc, session, row, sub, channel)
            self._rendered[row.id] = [channel_key(channel.resolved, m.title) for m in messages]
        return self._rendered[row.id]

    def rows(self) -> list[Delivery]:
        with Session(self.svc.engine) as session:
            return list(
                session.execute(select(Delivery).where(Delivery.purpose.in_(self.purposes)).order_by(Delivery.id))
                .scalars()
                .all()
            )

    def expected(self) -> Counter[Key]:
        owed: Counter[Key] = Counter()
        with Session(self.svc.engine) as session:
            for row in self.rows():
                owed.update(self._keys(session, row))
        return owed

    def arrivals(self) -> list[tuple[Key, str | None]]:
        """Every message the receivers got, with the X-Notifier-Id it carried."""
        got = [(("hook", r["path"], r.get("title", "")), r.get("notifier_id")) for h in self.hooks for r in h.received]
        for sink in self.sinks:
            for m in list(sink.messages):
                got.append((("mail", m["To"], str(make_header(decode_header(m["Subject"])))), m["X-Notifier-Id"]))
        return got

    def received(self, dedupe: bool = False) -> Counter[Key]:
        """Messages per key; with `dedupe`, as a receiver dropping repeated X-Notifier-Ids counts them."""
        arrivals = self.arrivals()
        return Counter(key for key, _id in (set(arrivals) if dedupe else arrivals))

    def note_kill(self) -> int:
        """Call once the killed worker is gone: the part each row being sent was at is now in doubt."""
        self.kills += 1
        doubtful = 0
        with Session(self.svc.engine) as session:
            for row in self.rows():
                claim = (row.id, row.claimed_at, row.parts_sent)
                if row.status == "sending" and claim not in self._counted:  # a claim left by an earlier kill: once
                    self._counted.add(claim)
                    keys = self._keys(session, row)
                    if row.parts_sent < len(keys):
                        self.in_doubt[keys[row.parts_sent]] += 1
                        doubtful += 1
        return doubtful

    def problems(self) -> dict[str, dict[Key, int]]:
        """Missing parts, parts nobody owes, and duplicates beyond the parts in doubt (all empty when correct)."""
        owed, got, once = self.expected(), self.received(), self.received(dedupe=True)
        return {
            "missing": {k: n - got[k] for k, n in owed.items() if got[k] < n},
            "unexpected": {k: n for k, n in got.items() if k not in owed},
            "duplicated": {k: got[k] - n for k, n in owed.items() if got[k] > n + self.in_doubt[k]},
            "not once by id": {k: once[k] for k, n in owed.items() if once[k] != n},
        }

    def duplicates(self) -> int:
        """Parts that arrived more than once (each one a part in doubt at a kill)."""
        owed, got = self.expected(), self.received()
        return sum(max(0, got[k] - n) for k, n in owed.items())
