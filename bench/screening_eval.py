"""Precision and recall of screening on the labelled sets of `bench/screening_sets.py`, per category, on the
held-out part (never used for tuning) beside the tuning part, with the goals in the same output.

Each list is screened as a publication would be: its records (as the set's view of them: an original-script or
alias name taken out where the row asks for it) against one watchlist holding that list's positive rows and
every hard negative; a cross-list alias row (`Row.published`) is screened against its target as published, even
where another row changed the set's view of it. A hit on the row's target is right; a hit on another record of
the list sharing a name key with the target is the same name listed twice, and a hit on a record that lists the
row's own name (equal up to order, case, legal form, spelling skeleton: "Abu Luqman" is an alias on two records)
is that name listed there: neither is counted. Any other hit is a false alarm. `proposed` says how often
candidate generation put the target before the scorer at all.

    .venv/bin/python -m bench.screening_eval /work/shared/data/real [threshold]
    .venv/bin/python -m bench.screening_eval /work/shared/data/real --write-fixture   (the tests' subset)
    .venv/bin/python -m bench.screening_eval /work/shared/data/real --freeze   (rebuild and write the frozen sets)
    .venv/bin/python -m bench.screening_eval /work/shared/data/real --rebuild  (build the sets anew, not frozen)

The sets are read from `bench/data/screening_sets.csv` (names, labels and splits; the records are read from the
real files): building them uses the matcher's own readings (`sound`, `latin`), so a set rebuilt after a matcher
change would move rows between runs; the frozen file keeps every figure on the same rows.
"""

from __future__ import annotations

import random
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.screening_sets import FROZEN, NEGATIVE, POSITIVE, Row, Sets, build, frozen, read_rows, write_rows
from notifier.screening.matching import DEFAULT_THRESHOLD, Index, Party, designation_party, make_party
from notifier.screening.names import name_keys

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "screening" / "labelled.csv"
FLOORS = {  # what tests/test_screening.py pins on the committed subset (a little below its measured figures)
    "script": 0.70, "script_un": 0.55, "alias": 0.36, "alias_same": 0.36, "translit": 0.88, "order": 0.88,
    "missing_middle": 0.84, "legal_form": 0.90, "typo": 0.88, "precision": 0.95,
}  # fmt: skip
GOALS = {  # recall floors per category, precision floor on everything (hard negatives included)
    "script": 0.80, "script_un": 0.80, "alias": 0.80, "alias_same": None, "translit": 0.90, "order": 0.90,
    "missing_middle": 0.90, "legal_form": 0.90, "typo": 0.90, "precision": 0.97,
}  # fmt: skip
LABELS = {"alias": "alias, other list", "alias_same": "alias, same record without it"}


@dataclass
class Figures:
    found: Counter = field(default_factory=Counter)
    proposed: Counter = field(default_factory=Counter)
    total: Counter = field(default_factory=Counter)
    alarms: Counter = field(default_factory=Counter)  # negative rows with any hit, per category
    right: int = 0
    wrong: int = 0
    missed: list[Row] = field(default_factory=list)
    wrong_hits: list[tuple[Row, str, float]] = field(default_factory=list)

    def recall(self, category: str) -> float:
        return self.found[category] / (self.total[category] or 1)

    @property
    def precision(self) -> float:
        return self.right / ((self.right + self.wrong) or 1)


def view(payload: dict[str, Any], names: list[str], changed: bool) -> dict[str, Any]:
    if not changed:
        return payload
    return {**payload, "name": names[0], "aliases": names[1:], "remarks": ""}


def evaluate(sets: Sets, rows: list[Row] | None = None, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Figures]:
    rows = sets.rows if rows is None else rows
    by_split = {"tune": Figures(), "heldout": Figures()}
    negatives = [r for r in rows if not r.positive]
    hits: dict[int, dict[str, float]] = defaultdict(dict)
    proposed: set[int] = set()
    sources = sorted({k.split(":")[0] for k in sets.records})
    all_rows = {id(r): r for r in rows}
    for source in sources:
        mine = [r for r in rows if r.target.startswith(source + ":")] + negatives
        index = Index(make_party([r.name], ref=id(r)) for r in mine)
        published = [r for r in mine if r.published]
        as_published = Index(make_party([r.name], ref=id(r)) for r in published) if published else None
        target_of = defaultdict(list)
        for r in mine:
            if r.positive:
                target_of[r.target].append(id(r))

        def run(key: str, subject: Party, on: Index, wanted: Callable[[Row], bool], targets: dict) -> None:
            cands = {on.entries[i].ref for i in on.candidates(subject)}
            proposed.update(c for c in targets.get(key, ()) if c in cands and wanted(all_rows[c]))
            for hit in on.screen(subject, threshold):
                if wanted(all_rows[hit.entry.ref]):
                    hits[hit.entry.ref][key] = hit.score

        for key, payload in sets.records.items():
            if not key.startswith(source + ":"):
                continue
            names = sets.views[key]
            changed = names != _names(payload)
            if names:
                subject = designation_party(view(payload, names, changed))
                run(key, subject, index, lambda r, changed=changed: not (changed and r.published), target_of)
            if changed and as_published is not None:  # cross-list rows meet the record as its list publishes it
                run(key, designation_party(payload), as_published, lambda r: True, target_of)
    keys_cache: dict[str, set[str]] = {}

    def keys(k: str) -> set[str]:
        if k not in keys_cache:
            keys_cache[k] = {x for n in _names(sets.records[k]) for x in name_keys(n)}
        return keys_cache[k]

    for rid, row in all_rows.items():
        f = by_split[row.split]
        found = hits.get(rid, {})
        if row.positive:
            f.total[row.category] += 1
            f.found[row.category] += row.target in found
            f.proposed[row.category] += rid in proposed
            if row.target not in found:
                f.missed.append(row)
            own = name_keys(row.name)
            for k, score in found.items():
                if k == row.target:
                    f.right += 1
                elif not keys(k) & (keys(row.target) | own):  # the same name listed twice is no false alarm
                    f.wrong += 1
                    f.wrong_hits.append((row, sets.records[k]["name"], score))
        else:
            f.total[row.category] += 1
            f.alarms[row.category] += bool(found)
            f.wrong += len(found)
            for k, score in found.items():
                f.wrong_hits.append((row, sets.records[k]["name"], score))
    return by_split


def _names(p: dict[str, Any]) -> list[str]:
    return [n for n in dict.fromkeys([p.get("name") or "", *(p.get("aliases") or [])]) if n.strip()]


def report(by_split: dict[str, Figures], threshold: float) -> bool:
    ok = True
    print(f"threshold {threshold}")
    print(f"{'category':16} {'held-out recall':>22} {'proposed':>9} {'tuning recall':>20}   goal")
    for cat in POSITIVE:
        h, t = by_split["heldout"], by_split["tune"]
        if not h.total[cat] and not t.total[cat]:
            continue
        goal = GOALS[cat]
        passed = goal is None or h.recall(cat) >= goal
        ok &= passed
        proposed = h.proposed[cat] / (h.total[cat] or 1)
        verdict = "(reported, no goal)" if goal is None else f">= {goal:.2f} {'ok' if passed else 'BELOW'}"
        print(f"{cat:16} {h.recall(cat):8.3f} ({h.found[cat]:4}/{h.total[cat]:4}) {proposed:9.3f}"
              f" {t.recall(cat):8.3f} ({t.found[cat]:4}/{t.total[cat]:4})   {verdict}"
              + (f"  [{LABELS[cat]}]" if cat in LABELS else ""))  # fmt: skip
    print(f"{'hard negatives':16} {'rows with an alarm':>22}")
    for cat in NEGATIVE:
        h, t = by_split["heldout"], by_split["tune"]
        print(f"{cat:16} {h.alarms[cat]:8} of {h.total[cat]:5} held-out   {t.alarms[cat]:5} of {t.total[cat]:5} tuning")
    for split in ("heldout", "tune"):
        f = by_split[split]
        passed = f.precision >= GOALS["precision"]
        ok &= passed or split == "tune"
        print(f"precision ({split}): {f.precision:.3f} ({f.right} right hits, {f.wrong} false alarms)"
              f"   goal >= {GOALS['precision']} {'ok' if passed else 'BELOW'}")  # fmt: skip
    return ok


def write_fixture(sets: Sets, per_category: int = 25, seed: int = 3) -> None:
    """A small committed subset for the tests (names and labels only; the records come from the real files)."""
    rng = random.Random(seed)
    chosen: list[Row] = []
    for cat in (*POSITIVE, *NEGATIVE):
        pool = [r for r in sets.rows if r.category == cat and r.split == "heldout"]
        chosen += rng.sample(pool, min(per_category, len(pool)))
    write_rows(sets, chosen, FIXTURE)
    print(f"{FIXTURE}: {len(chosen)} rows")


def read_fixture(records: dict[str, dict[str, Any]], path: Path = FIXTURE) -> Sets:
    return read_rows(records, path)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    real = Path(args[0] if args else "../shared/data/real")
    threshold = float(args[1]) if len(args) > 1 else DEFAULT_THRESHOLD
    if "--freeze" in sys.argv:
        sets = build(real)
        write_rows(sets, sets.rows, FROZEN)
        print(f"{FROZEN}: {len(sets.rows)} rows frozen")
    else:
        sets = build(real) if "--rebuild" in sys.argv else frozen(real)
    counts = Counter((r.category, r.split) for r in sets.rows)
    print("rows:", ", ".join(f"{c} {counts[c, 'tune']}+{counts[c, 'heldout']}" for c in (*POSITIVE, *NEGATIVE)),
          "(tuning+held-out)")  # fmt: skip
    if "--write-fixture" in sys.argv:
        write_fixture(sets)
        print("on the committed subset (what the tests pin):")
        report(evaluate(read_fixture(sets.records)), threshold)
        return
    by_split = evaluate(sets, threshold=threshold)
    ok = report(by_split, threshold)
    if "-v" in sys.argv:
        for row in by_split["tune"].missed:
            print("  missed (tuning):", row.category, row.detail, repr(row.name), "->", row.target,
                  sets.records[row.target]["name"])  # fmt: skip
        for row, name, score in by_split["tune"].wrong_hits:
            print(f"  false alarm (tuning): {row.category} {row.name!r} ~ {name!r} ({score:.2f})")
    print("PASS" if ok else "BELOW GOAL")


if __name__ == "__main__":
    main()
