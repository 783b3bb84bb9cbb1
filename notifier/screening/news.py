"""Which news items are sanctions news, and what they say: measures, jurisdictions, goods, listed parties.

Rules (notifier/data/news_rules.yaml, overridable) are multilingual term lists. An item is sanctions news when it
names a measure. The parties it names are linked to the list records that designate them, so an analyst reads
"VTB: on OFAC SDN, EU FSF; not on UN Security Council" before any list changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.errors import ConfigError
from notifier.store.changes import Change
from notifier.store.models import Record

DEFAULT_RULES = Path(__file__).parents[1] / "data" / "news_rules.yaml"


def _term_pattern(term: str) -> str:
    parts = []
    for word in term.split(" "):
        if word == "*":
            parts.append(r"[^.!?]{0,80}?")
        else:
            parts.append(re.escape(word.rstrip("*")) + (r"\w*" if word.endswith("*") else ""))
    body = r"\s+".join(parts)
    if term.isascii():
        return rf"(?<!\w){body}(?!\w)" if not term.endswith("*") else rf"(?<!\w){body}"
    return body


def _compile(terms: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(_term_pattern(t) for t in terms), re.IGNORECASE)


@dataclass(frozen=True)
class Good:
    name: str
    hs: str | None
    pattern: re.Pattern[str]


@dataclass
class Rules:
    measures: dict[str, re.Pattern[str]]
    jurisdictions: dict[str, re.Pattern[str]]
    goods: list[Good]


def load_rules(path: Path | None = None) -> Rules:
    """The rules file, checked: a wrong entry names the file and the key."""
    path = path or DEFAULT_RULES
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read as YAML: {exc}") from None
    try:
        measures = {name: _compile(terms) for name, terms in data["measures"].items()}
        jurisdictions = {code: _compile(terms) for code, terms in data["jurisdictions"].items()}
        goods = [Good(name, g.get("hs"), _compile(g["terms"])) for name, g in (data.get("goods") or {}).items()]
    except (KeyError, TypeError, AttributeError, re.error) as exc:
        raise ConfigError(
            f"{path}: expected `measures`, `jurisdictions` (name -> list of terms) and `goods` "
            f"(name -> {{terms, hs}}): {type(exc).__name__}: {exc}"
        ) from None
    return Rules(measures, jurisdictions, goods)


@dataclass
class PartyLink:
    mention: str
    on: list[str]  # source titles that list it
    not_on: list[str]  # designation sources that do not


@dataclass
class Assessment:
    relevant: bool
    measures: list[str] = field(default_factory=list)
    jurisdictions: list[str] = field(default_factory=list)
    goods: list[Good] = field(default_factory=list)
    parties: list[PartyLink] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What an alert says under the headline."""
        out = []
        if self.measures:
            out.append(
                "Measures: " + ", ".join(m for m in self.measures if m != "sanctions" or len(self.measures) == 1)
            )
        if self.jurisdictions:
            out.append("Jurisdictions named: " + ", ".join(self.jurisdictions))
        if self.goods:
            out.append("Goods: " + ", ".join(f"{g.name} (HS {g.hs})" if g.hs else g.name for g in self.goods))
        for p in self.parties:
            listed = f"on {', '.join(p.on)}" if p.on else "on no list we poll"
            out.append(f"{p.mention}: {listed}" + (f"; not on {', '.join(p.not_on)}" if p.not_on else ""))
        return out


def news_text(payload: dict[str, Any]) -> str:
    return f"{payload.get('title_text') or ''}\n{payload.get('summary') or ''}"


def assess(text: str, rules: Rules, parties: list[PartyLink] | None = None) -> Assessment:
    measures = [name for name, pattern in rules.measures.items() if pattern.search(text)]
    if not measures:
        return Assessment(relevant=False)
    return Assessment(
        relevant=True,
        measures=measures,
        jurisdictions=[code for code, pattern in rules.jurisdictions.items() if pattern.search(text)],
        goods=[g for g in rules.goods if g.pattern.search(text)],
        parties=parties or [],
    )


_LINK = re.compile(r"^(?:https?://)?(?:www\.)?", re.IGNORECASE)


def story_keys(payload: dict[str, Any]) -> set[str]:
    """Keys under which the same story from another feed (or a re-post) is recognised."""
    keys = set()
    link = (payload.get("link") or "").split("#")[0].split("?")[0].rstrip("/")
    if link:
        keys.add("link:" + _LINK.sub("", link).casefold())
    title = " ".join(re.sub(r"[^\w]+", " ", payload.get("title_text") or "").casefold().split())
    if len(title) >= 20:
        keys.add("title:" + title)
    return keys


@dataclass
class NewsScreen:
    """What news alerts need: the rules (read at first use), the parties a text names, the de-duplication window."""

    rules_file: Path | None
    dedupe_days: float
    find_parties: Callable[[str], list[PartyLink]] = lambda _text: []
    _rules: Rules | None = field(default=None, repr=False)

    @property
    def rules(self) -> Rules:
        if self._rules is None:
            self._rules = load_rules(self.rules_file)
        return self._rules

    def fresh(self, session: Session, changes: list[Change], at: datetime) -> tuple[list[Change], dict[int, set[str]]]:
        """New items that are sanctions news and not a story already seen in another feed (or re-posted); with
        the jurisdictions each names (change id -> codes)."""
        seen: set[str] = set()
        recent = session.execute(
            select(Record.payload).where(
                Record.kind == "news",
                Record.first_seen >= at - timedelta(days=self.dedupe_days),
                Record.first_seen < at,
            )
        ).scalars()
        for payload in recent:
            seen |= story_keys(json.loads(payload))
        kept, named = [], {}
        for change in changes:
            if change.change != "added" or not change.after:
                continue  # an item edited in place or scrolled away alerts nobody again
            keys = story_keys(change.after)
            if keys & seen:
                continue
            seen |= keys
            verdict = assess(news_text(change.after), self.rules)
            if verdict.relevant:
                kept.append(change)
                named[change.id] = set(verdict.jurisdictions)
        return kept, named

    def notes(self, payload: dict[str, Any]) -> list[str]:
        """What a news alert says under its headline: measures, jurisdictions, goods, listed parties."""
        text = news_text(payload)
        verdict = assess(text, self.rules)
        if verdict.relevant:
            verdict.parties = self.find_parties(text)
        return verdict.lines()
