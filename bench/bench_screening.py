"""Screening speed: 10,000 watchlist entries against a real publication and against whole real lists.

    .venv/bin/python -m bench.bench_screening /work/shared/data/real

(1) the 553 designations added by OFAC on 2024-02-23 (what a poll screens, goal < 5 s); (2) every record of the
OFAC SDN, OFAC consolidated and UN lists (what an import screens, goal < 60 s). The watchlist mixes real listed
names written differently (one in ten) with made-up company and person names built from the same vocabulary.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from notifier.ingest.registry import get_adapter
from notifier.screening.matching import Index, designation_party, make_party

LISTS = {
    "us_ofac_sdn": "ofac/sdn_csv/2024-02-23_sdn.csv",
    "us_ofac_cons": "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML",
    "un_sc": "un/2025-12-10_consolidated.xml",
}
FORMS = ("OOO {}", "{} LLC", "AO {}", "{} GmbH", "{} Ltd", "{} Trading FZE", "{} JSC", "{}")


def payloads(real: Path, source: str) -> list[dict]:
    return [r.payload() for r in get_adapter(source)({}).parse({"main": real / LISTS[source]})]


def watchlist(names: list[str], size: int = 10_000, seed: int = 7) -> list:
    rng = random.Random(seed)
    words = sorted({w for n in names for w in n.replace(",", " ").split() if len(w) > 3 and w.isalpha()})
    entries = []
    for i in range(size):
        if i % 10 == 0:
            name = rng.choice(names).title()
        else:
            name = rng.choice(FORMS).format(" ".join(rng.sample(words, rng.choice((1, 2, 2, 3)))).title())
        entries.append(make_party([name], countries=[rng.choice(("RU", "DE", "AE", "CN", ""))], ref=i))
    return entries


def main() -> None:
    real = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/real")
    old = {r.key for r in get_adapter("us_ofac_sdn")({}).parse({"main": real / "ofac/sdn_csv/2024-02-20_sdn.csv"})}
    lists = {s: payloads(real, s) for s in LISTS}
    added = [p for p in lists["us_ofac_sdn"] if p["key"] not in old]
    every = [p for ps in lists.values() for p in ps]
    entries = watchlist([p["name"] for p in every])

    started = time.perf_counter()
    index = Index(entries)
    built = time.perf_counter() - started
    started = time.perf_counter()
    hits = sum(len(index.screen(designation_party(p))) for p in added)
    poll_s = time.perf_counter() - started
    print(f"index of {len(entries)} entries built in {built:.2f} s")
    print(f"poll:   {len(added)} added designations screened in {poll_s:.2f} s ({hits} hits)")

    started = time.perf_counter()
    index = Index(entries)
    hits = sum(len(index.screen(designation_party(p))) for p in every)
    import_s = time.perf_counter() - started
    print(f"import: {len(every)} records of {len(lists)} lists screened in {import_s:.2f} s ({hits} hits)")


if __name__ == "__main__":
    main()
