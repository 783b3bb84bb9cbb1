"""A counterparty file screened at once against every current designation (`notifier screen`): the same
parsing as watchlists, the same matcher as alerts; nothing of the counterparties stored (only the lists' name
forms, `stored_forms`, so that the next run does not compute them again)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.screening import stored_forms
from notifier.screening.matching import DEFAULT_THRESHOLD, Hit, Index, collector_paused, designation_party
from notifier.screening.watchlists import WatchlistError, active_designations, entry_party, parse_csv


@dataclass
class BatchResult:
    entries: int
    records: int = 0
    sources: set[str] = field(default_factory=set)
    hits: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return len({h["line"] for h in self.hits})


def hit_row(entry: dict[str, Any], source: str, payload: dict[str, Any], hit: Hit) -> dict[str, Any]:
    """One hit as `notifier screen --json` prints it."""
    return {
        "reference": entry.get("reference") or entry["name"],
        "name": entry["name"],
        "line": entry["line"],
        "source": source,
        "key": payload.get("key"),
        "record_name": payload.get("name"),
        "entity_type": payload.get("entity_type"),
        "programs": payload.get("programs") or [],
        "score": round(hit.score, 3),
        "why": {
            "entry_name": hit.entry_name,
            "matched_name": hit.matched_name,
            "name_score": round(hit.name_score, 3),
            "agreed": hit.agreed,
            "disagreed": hit.disagreed,
        },
    }


def screen_entries(
    entries: list[dict[str, Any]],
    designations: Any,
    threshold: float = DEFAULT_THRESHOLD,
    forms_file: Path | None = None,
) -> tuple[list[dict[str, Any]], int, set[str]]:
    """Hits of parsed counterparty rows on (source, payload) designations, best first per counterparty. With
    `forms_file`, the lists' name forms are read from it and written back when new ones were computed."""
    rows, records, sources = [], 0, set()
    listed: set[str] = set()
    if forms_file is not None:
        stored_forms.load(forms_file)
    with collector_paused():
        index = Index(entry_party({**e, "id": n}) for n, e in enumerate(entries))
        for source, payload in designations:
            records += 1
            sources.add(source)
            subject = designation_party(payload)
            listed.update(subject.names)
            for hit in index.screen(subject, threshold):
                rows.append(hit_row(entries[hit.entry.ref], source, payload, hit))
    if forms_file is not None:
        stored_forms.save(forms_file, listed)
    rows.sort(key=lambda r: (r["line"], -r["score"], r["source"], str(r["key"])))
    return rows, records, sources


def screen_file(
    engine: Engine,
    data: bytes,
    *,
    label: str = "counterparties",
    sources: list[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    forms_file: Path | None = None,
) -> BatchResult:
    """Screen a counterparty CSV against the stored current records; bad rows are reported and left out.
    `forms_file`: see `screen_entries`."""
    parsed = parse_csv(data, label)
    if not parsed.entries:
        raise WatchlistError(f"{label}: no valid row" + "".join(f"\n{p}" for p in parsed.problems[:20]))
    result = BatchResult(len(parsed.entries), problems=[*parsed.warnings, *parsed.problems])
    with Session(engine) as session:
        result.hits, result.records, result.sources = screen_entries(
            parsed.entries, active_designations(session, sources), threshold, forms_file
        )
    if not result.records:
        raise WatchlistError(
            "no current designations stored" + (f" for {', '.join(sources)}" if sources else "")
            + " (poll the lists first: `notifier poll SOURCE` or `notifier replay`)"
        )  # fmt: skip
    return result
