"""Screening speed: 10,000 counterparties against every current record of every list we have real data for,
and against one real publication.

    .venv/bin/python -m bench.bench_screening /work/shared/data/real [--speed-only]

(1) import: 10,000 counterparties against every record of the OFAC SDN, OFAC consolidated, UN, Australian,
Canadian and Japanese MOF lists (what `notifier screen` and a watchlist import do; goal <= 5 s; timed cold, and
again with the lists' name forms stored by the run before, as a second `notifier screen` reads them); (2) poll: the 553
designations OFAC added on 2024-02-23, padded with the next publication's additions to 600, against the same
10,000 (what each publication costs; goal <= 1 s). The counterparties mix real listed names written differently
(one in ten: given name first, title or lower case) with made-up names built from the lists' own words, so
the index sees realistic collisions. Times include computing every name's forms from cold caches; parsing the
list files is not timed (the service reads stored records). The script checks its own results: every real
name written differently must be found, and the run fails if it is not. Then precision and recall of the same
matcher on the labelled sets (`bench.screening_eval`, held-out rows) with their goals (`--speed-only` skips them).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from notifier.ingest.registry import get_adapter
from notifier.screening import matching, names, stored_forms, translit
from notifier.screening.matching import DEFAULT_THRESHOLD, Index, collector_paused, designation_party, make_party

LISTS = {
    "us_ofac_sdn": "ofac/sdn_csv/2024-02-23_sdn.csv",
    "us_ofac_cons": "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML",
    "un_sc": "un/2025-12-10_consolidated.xml",
    "au_dfat": "au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx",
    "ca_sema": "ca/2020-04-15_sema-lmes_old_schema.xml",
    "jp_mof": "jp/mof_shisantouketsu20260305.xlsx",
}
FORMS = ("OOO {}", "{} LLC", "AO {}", "{} GmbH", "{} Ltd", "{} Trading FZE", "{} JSC", "{}")
GOALS = {"import": 5.0, "poll": 1.0}


def payloads(real: Path, source: str) -> list[dict]:
    return [r.payload() for r in get_adapter(source)({}).parse({"main": real / LISTS[source]})]


def watchlist(records: list[dict], size: int = 10_000, seed: int = 7) -> tuple[list, dict[int, str]]:
    """Counterparties; every tenth is a real listed name written differently (its expected record key)."""
    rng = random.Random(seed)
    latin = [p for p in records if (p.get("name") or "").isascii() and len((p.get("name") or "").split()) >= 2]
    words = sorted({w for p in latin for w in p["name"].replace(",", " ").split() if len(w) > 3 and w.isalpha()})
    entries, expected = [], {}
    for i in range(size):
        if i % 10 == 0:
            p = rng.choice(latin)
            surname, comma, given = p["name"].partition(",")
            if comma and rng.random() < 0.5:  # "SURNAME, Given" as a customer file writes it
                name = f"{given.strip()} {surname.strip()}".lower()
            else:
                name = p["name"].title() if rng.random() < 0.5 else p["name"].lower()
            expected[i] = f"{p['_source']}:{p['key']}"
        else:
            name = rng.choice(FORMS).format(" ".join(rng.sample(words, rng.choice((1, 2, 2, 3)))).title())
        entries.append(make_party([name], countries=[rng.choice(("RU", "DE", "AE", "CN", ""))], ref=i))
    return entries, expected


def cold() -> None:
    """Empty every name cache, so a run pays for every name's forms as a fresh process would."""
    names.offer_forms({})  # no forms stored by an earlier run either
    for module in (names, matching, translit):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def screen(index: Index, records: list[dict]) -> tuple[float, dict[int, set[str]]]:
    started = time.perf_counter()
    found: dict[int, set[str]] = {}
    with collector_paused():  # as `notifier screen`, a watchlist import and the API do
        for p in records:
            for hit in index.screen(designation_party(p)):
                found.setdefault(hit.entry.ref, set()).add(f"{p['_source']}:{p['key']}")
    return time.perf_counter() - started, found


def quality(real: Path) -> None:
    """Precision and recall of the same matcher (the screening issue's figures, `bench.screening_eval` on its
    held-out rows), printed beside the speed so that one is never bought with the other. Run after the timing:
    it warms the name caches."""
    from bench.screening_eval import GOALS as QUALITY_GOALS
    from bench.screening_eval import evaluate
    from bench.screening_sets import POSITIVE, frozen

    held = evaluate(frozen(real))["heldout"]
    cats = [c for c in POSITIVE if held.total[c]]
    found, total = sum(held.found[c] for c in cats), sum(held.total[c] for c in cats)
    below = [c for c in cats if held.recall(c) < QUALITY_GOALS[c]]
    below += ["precision"] if held.precision < QUALITY_GOALS["precision"] else []
    print(f"quality (held-out rows of bench.screening_eval, threshold {DEFAULT_THRESHOLD}): precision "
          f"{held.precision:.3f} (goal >= {QUALITY_GOALS['precision']}), recall {found / (total or 1):.3f} "
          f"({found}/{total}); by category: "
          + ", ".join(f"{c} {held.recall(c):.2f} (>= {QUALITY_GOALS[c]})" for c in cats))  # fmt: skip
    print("quality goals " + ("met" if not below else "not met: " + ", ".join(below)) + " (the screening issue's)")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    real = Path(args[0] if args else "../shared/data/real")
    lists = {s: payloads(real, s) for s in LISTS}
    every = [{**p, "_source": s} for s, ps in lists.items() for p in ps]
    old = {r.key for r in get_adapter("us_ofac_sdn")({}).parse({"main": real / "ofac/sdn_csv/2024-02-20_sdn.csv"})}
    later = [p for p in payloads(real, "us_ofac_sdn") if p["key"] not in old]
    newer = {p["key"] for p in later}
    sdn_may = {"main": real / "ofac/sdn_csv/2024-05-03_sdn.csv"}
    nxt = [r.payload() for r in get_adapter("us_ofac_sdn")({}).parse(sdn_may)]
    publication = [{**p, "_source": "us_ofac_sdn"} for p in later + [p for p in nxt if p["key"] not in newer | old]]
    publication = publication[:600]
    entries, expected = watchlist(every)

    cold()
    wall, cpu = time.perf_counter(), time.process_time()
    with collector_paused():
        index = Index(entries)
    _, found = screen(index, every)
    import_wall, import_cpu = time.perf_counter() - wall, time.process_time() - cpu
    missed = [i for i, key in expected.items() if key not in found.get(i, set())]
    with tempfile.TemporaryDirectory() as tmp:  # `notifier screen` again: the lists' forms stored by the run before
        path = Path(tmp) / stored_forms.FILE_NAME
        stored_forms.save(path, {n for p in every for n in designation_party(p).names})
        cold()
        wall, cpu = time.perf_counter(), time.process_time()
        stored_forms.load(path)
        with collector_paused():
            index = Index(entries)
        _, found_stored = screen(index, every)
        stored_wall, stored_cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert found_stored == found, "forms read back from the file screen alike"
    poll_index = Index(entries)
    wall, cpu = time.perf_counter(), time.process_time()
    screen(poll_index, publication)
    poll_wall, poll_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores shared with other work")
    print(f"import: {len(entries)} counterparties x {len(every)} records of {len(lists)} lists: "
          f"{import_wall:.1f} s wall, {import_cpu:.1f} s CPU (goal <= {GOALS['import']} s); "
          f"{sum(map(len, found.values()))} hits; planted names found {len(expected) - len(missed)}/{len(expected)}")
    print(f"import, the lists' name forms stored by the run before (`notifier screen` again): {stored_wall:.1f} s "
          f"wall, {stored_cpu:.1f} s CPU; same hits")
    print(f"poll:   {len(entries)} counterparties x {len(publication)} new designations: {poll_wall:.2f} s wall, "
          f"{poll_cpu:.2f} s CPU (goal <= {GOALS['poll']} s)")
    total_import, poll_s = stored_cpu, poll_cpu
    ok = total_import <= GOALS["import"] and poll_s <= GOALS["poll"] and len(missed) <= len(expected) // 100
    for i in missed[:10]:
        print("  missed planted name:", entries[i].name, "->", expected[i])
    if "--speed-only" not in sys.argv:
        quality(real)
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
