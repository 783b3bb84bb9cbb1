"""Generate realistic OpenSanctions FollowTheMoney target entities (JSON lines) for load tests of the core.

    python bench/gen_ftm.py N OUT.jsonl [--seed S]
        N target entities (persons, companies, vessels) with names, aliases, birth dates, countries, ids, programs.
    python bench/gen_ftm.py N OUT.jsonl --base IN.jsonl [--change-fraction 0.01] [--seed S]
        a copy of IN (of N entities) with N*fraction entities changed: half amended, a quarter removed, and a
        quarter new ones added at the end.

Both modes stream (one entity in memory at a time; only the indices to change are held), so N=1,000,000 is fine.
Volatile fields (first_seen, last_seen, last_change) are set as OpenSanctions does; the adapter must ignore them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

FIRST = [
    "Ivan",
    "Sergei",
    "Olga",
    "Anna",
    "Dmitry",
    "Elena",
    "Ali",
    "Fatima",
    "Kim",
    "Chen",
    "Maria",
    "Yusuf",
    "Natalia",
    "Pavel",
    "Hassan",
    "Li",
    "Omar",
    "Irina",
    "Viktor",
    "Svetlana",
]
LAST = [
    "Ivanov",
    "Petrov",
    "Sidorova",
    "Kuznetsov",
    "Rahimi",
    "Karimov",
    "Park",
    "Wang",
    "Haddad",
    "Smirnova",
    "Volkov",
    "Popov",
    "Sokolov",
    "Lebedev",
    "Novak",
    "Morozov",
    "Kozlov",
    "Zhang",
    "Nasser",
    "Orlova",
]
CYR = {"Ivanov": "Иванов", "Petrov": "Петров", "Kuznetsov": "Кузнецов", "Volkov": "Волков", "Popov": "Попов"}
WORDS = [
    "Trade",
    "Energy",
    "Logistics",
    "Shipping",
    "Defense",
    "Aero",
    "Micro",
    "Chemical",
    "Metal",
    "Finance",
    "Nord",
    "Sever",
    "Vostok",
    "Globe",
    "Star",
    "Techno",
    "Invest",
    "Marine",
    "Oil",
    "Electro",
]
FORMS = ["LLC", "JSC", "Ltd", "OOO", "AO", "PJSC", "Co.", "GmbH", "FZE", "Limited"]
COUNTRIES = ["ru", "by", "ir", "kp", "sy", "cn", "ae", "tr", "hk", "cy", "kz", "ve"]
PROGRAMS = ["RUSSIA-EO14024", "UKRAINE-EO13662", "IRAN", "DPRK3", "SDGT", "EU-RUS", "UK-RUS", "CH-UKR", "JP-RUS"]
DATASETS = ["us_ofac_sdn", "eu_fsf", "gb_hmt_sanctions", "ch_seco_sanctions", "un_sc_sanctions", "jp_mof_sanctions"]


def _date(rng: random.Random, start: int, end: int) -> str:
    return f"{rng.randint(start, end)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def make_entity(i: int, rng: random.Random, prefix: str = "gen") -> dict:
    """One target entity in the FtM shape that OpenSanctions exports."""
    kind = rng.random()
    country = rng.choice(COUNTRIES)
    props: dict[str, list[str]] = {
        "topics": ["sanction"],
        "programId": rng.sample(PROGRAMS, rng.randint(1, 2)),
        "sourceUrl": [f"https://example.org/entity/{i}"],
        "modifiedAt": [_date(rng, 2023, 2025)],
    }
    if kind < 0.55:
        schema = "Person"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        props["name"] = [f"{first} {last}"]
        props["alias"] = [f"{last.upper()}, {first}"] + ([f"{CYR[last]} {first}"] if last in CYR else [])
        props["birthDate"] = [_date(rng, 1940, 2000)]
        props["nationality"] = [country]
        props["gender"] = [rng.choice(["male", "female"])]
        props["passportNumber"] = [f"{rng.randint(10**8, 10**9 - 1)}"]
        props["position"] = [rng.choice(["Director", "Deputy Minister", "Shareholder", "General Director"])]
    elif kind < 0.9:
        schema = "Company"
        name = f"{rng.choice(WORDS)}{rng.choice(WORDS).lower()} {rng.choice(FORMS)}"
        props["name"] = [name]
        props["alias"] = [name.upper()]
        props["country"] = [country]
        props["address"] = [f"{rng.randint(1, 200)} {rng.choice(WORDS)} St, {country.upper()}"]
        props["registrationNumber"] = [f"{rng.randint(10**12, 10**13 - 1)}"]
        if country == "ru":
            props["innCode"] = [f"{rng.randint(10**9, 10**10 - 1)}"]
            props["ogrnCode"] = props.pop("registrationNumber")
        props["incorporationDate"] = [_date(rng, 1990, 2022)]
    else:
        schema = "Vessel"
        props["name"] = [f"{rng.choice(WORDS).upper()} {rng.choice(WORDS).upper()}"]
        props["imoNumber"] = [f"IMO{rng.randint(9000000, 9999999)}"]
        props["flag"] = [country]
        props["type"] = [rng.choice(["Crude Oil Tanker", "Bulk Carrier", "General Cargo"])]
        props["buildDate"] = [str(rng.randint(1990, 2020))]
    props["notes"] = [f"Listed under {props['programId'][0]}."]
    seen = _date(rng, 2022, 2024)
    return {
        "id": f"{prefix}-{i:08d}",
        "caption": props["name"][0],
        "schema": schema,
        "properties": props,
        "referents": [],
        "datasets": rng.sample(DATASETS, rng.randint(1, 3)),
        "first_seen": f"{seen}T00:00:00",
        "last_seen": "2025-06-01T00:00:00",
        "last_change": f"{seen}T00:00:00",
        "target": True,
    }


def amend(entity: dict, rng: random.Random) -> dict:
    """A real change: a new alias and a new program (the volatile last_change moves too)."""
    props = entity["properties"]
    props.setdefault("alias", []).append(f"{props['name'][0]} {rng.choice(WORDS)}")
    props["programId"] = sorted(set(props.get("programId", [])) | {rng.choice(PROGRAMS)}) + ["AMENDED"]
    entity["last_change"] = "2025-06-02T00:00:00"
    entity["last_seen"] = "2025-06-02T00:00:00"
    return entity


def generate(n: int, out: Path, seed: int) -> int:
    rng = random.Random(seed)
    with open(out, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(make_entity(i, rng), ensure_ascii=False) + "\n")
    return n


def derive(n: int, out: Path, base: Path, fraction: float, seed: int) -> dict[str, int]:
    """Copy `base` (n entities) changing exactly round(n*fraction) of them: 1/2 amended, 1/4 removed, 1/4 added."""
    rng = random.Random(seed)
    changed = round(n * fraction)
    n_removed = changed // 4
    n_added = changed // 4
    n_amended = changed - n_removed - n_added
    picked = rng.sample(range(n), n_amended + n_removed)
    to_amend, to_remove = set(picked[:n_amended]), set(picked[n_amended:])
    counts = {"amended": 0, "removed": 0, "added": 0, "kept": 0}
    with open(base, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as fh:
        for i, line in enumerate(src):
            if i in to_remove:
                counts["removed"] += 1
                continue
            entity = json.loads(line)
            entity["last_seen"] = "2025-06-02T00:00:00"  # volatile: every entity is seen again
            if i in to_amend:
                entity = amend(entity, rng)
                counts["amended"] += 1
            else:
                counts["kept"] += 1
            fh.write(json.dumps(entity, ensure_ascii=False) + "\n")
        for j in range(n_added):
            fh.write(json.dumps(make_entity(j, rng, prefix="new"), ensure_ascii=False) + "\n")
            counts["added"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--base", type=Path)
    ap.add_argument("--change-fraction", type=float, default=0.01)
    args = ap.parse_args(argv)
    if args.base:
        counts = derive(args.n, args.out, args.base, args.change_fraction, args.seed)
        print(json.dumps(counts), file=sys.stderr)
    else:
        generate(args.n, args.out, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
