"""Find the listed parties a text names, and which lists name them.

An index of every active designation's names (from the `record` table), keyed by notifier.screening.names forms, is
looked up with the word sequences of the text, longest first. Organizations are also indexed by their
distinctive core ("Bank Financial Corporation Otkritie" -> "otkritie") so that "Otkritie Bank" or "VTB" in a
news item finds them; a core that is a country or a generic word never matches on its own.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notifier.screening.names import forms
from notifier.screening.news import PartyLink
from notifier.store.models import Record, SourceState

GENERIC = frozenset(
    "bank banka banke group holding holdings company corporation financial finance public joint stock state "
    "development foreign economic affairs of the and for de la le und national international trading trade "
    "russia russian federation rf moscow japan united states kingdom european union new investment investments "
    "capital limited industrial industries open closed commercial credit".split()
)
_SEGMENTS = re.compile(r"[,;:()\[\]\"“”«»!?\n]|\.\s")
_WORD = re.compile(r"[^\W_][\w.\-'’]*")
MAX_WORDS = 6


def _namey(word: str) -> bool:
    """Written as a name: capitalized, all caps, or in a script without case (not "and", not "и")."""
    return not word[:1].islower()


def _key(words: Iterable[str]) -> str:
    return " ".join(sorted(words))


def _core(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w for w in words if w not in GENERIC and len(w) > 1)


class PartyIndex:
    """Names of the designations of some sources -> the sources that list them."""

    def __init__(self, titles: dict[str, str]) -> None:
        self.titles = titles  # source id -> title, for designation sources only
        self.full: dict[str, set[str]] = defaultdict(set)
        self.core: dict[str, set[str]] = defaultdict(set)
        self.populated: set[str] = set()
        self.since: dict[tuple[str, str], str] = {}  # (full-name key, source) -> "2022-03-15" or "seen 2026-12-01"

    def add(self, source: str, names: Iterable[str], organization: bool, since: str | None = None) -> None:
        self.populated.add(source)
        for name in names:
            words = forms(name).tokens
            if not words:
                continue
            self.full[_key(words)].add(source)
            if since:
                known = self.since.get((_key(words), source))
                self.since[(_key(words), source)] = min(since, known) if known else since
            core = _core(words)
            if organization and core and core != words and (len(core) > 1 or len(core[0]) >= 3):
                self.core[_key(core)].add(source)

    def load(self, engine: Engine) -> PartyIndex:
        with Session(engine) as session:
            rows = session.execute(
                select(Record.source, Record.payload, Record.first_seen).where(
                    Record.source.in_(list(self.titles)), Record.kind == "designation", Record.removed_at.is_(None)
                )
            )
            for source, payload, first_seen in rows:
                p = json.loads(payload)
                names = [p.get("name") or "", *(p.get("aliases") or [])]
                listed = str(p.get("listed_on") or "")[:10]
                since = listed if re.fullmatch(r"\d{4}-\d\d-\d\d", listed) else f"seen {first_seen:%Y-%m-%d}"
                self.add(source, names, p.get("entity_type") in ("organization", "unknown", "vessel"), since)
        return self

    def also_listed(self, payload: dict, own_source: str) -> str | None:
        """Which other lists already name this party (any of its names, exactly) and since when:
        "Also on: EU FSF since 2022-03-15, UK (seen 2026-12-01); not on: UN SC". None when we follow no other list."""
        others = sorted(self.populated - {own_source}, key=lambda s: self.titles.get(s, s))
        if not others:
            return None
        keys = {_key(w) for n in [payload.get("name") or "", *(payload.get("aliases") or [])] if (w := forms(n).tokens)}
        on = []
        for source in others:
            dates = sorted(self.since.get((k, source), "") for k in keys if source in self.full.get(k, ()))
            if dates:
                since = dates[0]
                when = f" since {since}" if since[:1].isdigit() else f" ({since})" if since else ""
                on.append(f"{self.titles.get(source, source)}{when}")
        not_on = [self.titles.get(s, s) for s in others if not any(s in self.full.get(k, ()) for k in keys)]
        if not on:
            return f"On no other list we follow ({', '.join(not_on)})"
        return f"Also on: {', '.join(on)}" + (f"; not on: {', '.join(not_on)}" if not_on else "")

    def _lookup(self, span: list[str]) -> set[str]:
        words = forms(" ".join(span)).tokens
        if not words:
            return set()
        hit = self.full.get(_key(words))
        if hit:
            return hit
        core = _core(words)
        if not core or (len(core) == 1 and len(core[0]) < 3):
            return set()
        return self.core.get(_key(core), set())

    def find(self, text: str) -> list[PartyLink]:
        """Parties named in the text, in order of appearance, each with the lists that do and do not name it."""
        found: dict[str, set[str]] = {}
        for segment in _SEGMENTS.split(text):
            words = _WORD.findall(segment)
            taken = [False] * len(words)
            for n in range(min(MAX_WORDS, len(words)), 0, -1):
                for i in range(len(words) - n + 1):
                    if any(taken[i : i + n]) or not (_namey(words[i]) and _namey(words[i + n - 1])):
                        continue
                    sources = self._lookup(words[i : i + n])
                    if sources:
                        mention = " ".join(words[i : i + n]).rstrip(".")
                        found.setdefault(mention, set()).update(sources)
                        taken[i : i + n] = [True] * n
        order = {m: text.find(m) for m in found}
        links = []
        for mention in sorted(found, key=lambda m: order[m]):
            on = [self.titles[s] for s in sorted(found[mention])]
            not_on = [self.titles[s] for s in sorted(self.populated - found[mention])]
            links.append(PartyLink(mention, on, not_on))
        return links


class PartyIndexCache:
    """The index of listed names, rebuilt only when a designation list has changed since it was built."""

    def __init__(self, engine: Engine, titles: dict[str, str]) -> None:
        self.engine = engine
        self.titles = titles  # designation source id -> title
        self._index: PartyIndex | None = None
        self._marker: tuple[Any, ...] = ()

    def current(self) -> PartyIndex:
        with Session(self.engine) as session:
            marker = tuple(
                session.execute(
                    select(SourceState.source, SourceState.revision)
                    .where(SourceState.source.in_(list(self.titles)))
                    .order_by(SourceState.source)
                ).all()
            )
        if self._index is None or self._marker != marker:
            self._index = PartyIndex(self.titles).load(self.engine)
            self._marker = marker
        return self._index

    def find(self, text: str) -> list[PartyLink]:
        return self.current().find(text)
