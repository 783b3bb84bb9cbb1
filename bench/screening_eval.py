"""Precision and recall of screening on the labelled set tests/fixtures/screening/eval.csv.

The labelled counterparties form one watchlist; every record of the real OFAC SDN list of 2024-02-23 is screened
against it, as a publication would be. A hit on a row's target (or on a record sharing a name key with it, alias
included: the same name listed twice) is a true positive; any other hit is a false positive; a missed target is a
miss.

    .venv/bin/python -m bench.screening_eval /work/shared/data/real [threshold]
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from notifier.ingest.registry import get_adapter
from notifier.screening.matching import DEFAULT_THRESHOLD, Index, designation_party, make_party
from notifier.screening.names import name_keys

EVAL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "screening" / "eval.csv"


@dataclass
class Figures:
    threshold: float
    matches: int
    non_matches: int
    true_pos: int = 0
    false_pos: int = 0
    missed: list[dict] = field(default_factory=list)
    wrong: list[tuple[dict, str, float]] = field(default_factory=list)
    by_variant: Counter = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_pos) or 1)

    @property
    def recall(self) -> float:
        return (self.matches - len(self.missed)) / (self.matches or 1)


def _keys(payload: dict) -> set[str]:
    """Name keys of every name of a record: two records sharing one are the same name listed twice."""
    return {k for name in designation_party(payload).names for k in name_keys(name)}


def load_rows(path: Path = EVAL) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def evaluate(real: Path, threshold: float = DEFAULT_THRESHOLD, rows: list[dict] | None = None) -> Figures:
    rows = rows if rows is not None else load_rows()
    cls = get_adapter("us_ofac_sdn")
    records = {r.key: r.payload() for r in cls({}).parse({"main": real / "ofac/sdn_csv/2024-02-23_sdn.csv"})}
    parties = [
        make_party(
            [r["name"]],
            dates=[r["dob"]] if r["dob"] else [],
            countries=[r["country"]] if r["country"] else [],
            identifiers=[tuple(r["ids"].split(":", 1))] if r["ids"] else [],
            ref=i,
        )
        for i, r in enumerate(rows)
    ]
    index = Index(parties)
    hits: dict[int, dict[str, float]] = {}
    for key, payload in records.items():
        for hit in index.screen(designation_party(payload), threshold):
            hits.setdefault(hit.entry.ref, {})[key] = hit.score
    figures = Figures(threshold, sum(bool(r["target"]) for r in rows), sum(not r["target"] for r in rows))
    for i, row in enumerate(rows):
        found = hits.get(i, {})
        target = row["target"]
        same = _keys(records[target]) if target else set()
        for key, score in found.items():
            if key == target or (same and _keys(records[key]) & same):
                figures.true_pos += 1
            else:
                figures.false_pos += 1
                figures.wrong.append((row, records[key]["name"], score))
        if target and target not in found:
            figures.missed.append(row)
            figures.by_variant[row["variant"]] += 1
    return figures


def main() -> None:
    real = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/real")
    threshold = float(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_THRESHOLD
    f = evaluate(real, threshold)
    print(f"threshold {f.threshold}: {f.matches} true matches, {f.non_matches} non-matches")
    print(f"precision {f.precision:.3f} ({f.true_pos} right hits, {f.false_pos} wrong), recall {f.recall:.3f}")
    for row in f.missed:
        print("  missed:", row["variant"], row["name"], "->", row["target"])
    for row, name, score in f.wrong:
        print(f"  wrong: {row['variant']} {row['name']!r} ~ {name!r} ({score:.2f})")


if __name__ == "__main__":
    main()
