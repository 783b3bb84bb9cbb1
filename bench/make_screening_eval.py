"""Build tests/fixtures/screening/eval.csv: counterparties written the ways they really are, labelled.

True matches are real designations of the OFAC SDN list (the 553 added on 2024-02-23 first), written as a
counterparty would: in Cyrillic, with another legal form, words reordered, a typo, without a patronymic, or
only with an identifier in common. True non-matches are similar but different: the distinctive word of a real
name swapped for another list's word, a designated person's surname with other given names, the same person's
name with a date of birth decades apart, and ordinary companies that are not listed. Deterministic (seeded).

    .venv/bin/python -m bench.make_screening_eval /work/shared/data/real
"""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

from rapidfuzz.distance import OSA

from notifier.ingest.registry import get_adapter
from notifier.screening.matching import LEGAL_WORDS, designation_party
from notifier.screening.names import skeleton, tokens

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "screening" / "eval.csv"
LEGAL = {
    "llc": ["OOO {}", "{} LLC", "Limited Liability Company {}", "ООО «{}»", "{} Ltd."],
    "jsc": ["AO {}", "{} JSC", "PAO {}", "АО «{}»", "ПАО «{}»", "{} OJSC", "Joint-Stock Company {}"],
}
UNLISTED = """Toyota Motor Corporation; Deutsche Bank AG; Nestle S.A.; Siemens AG; Maersk Line A/S; BASF SE;
Unilever PLC; Mitsubishi Corporation; Samsung Electronics Co., Ltd.; Hapag-Lloyd AG; Glencore International AG;
Trafigura Pte Ltd; Vitol SA; Sumitomo Mitsui Banking Corporation; ING Groep N.V.; Societe Generale S.A.;
Raiffeisen Bank International AG; UniCredit S.p.A.; Nordea Bank Abp; Danske Bank A/S; Commerzbank AG;
ООО «Ромашка»; ООО «Лютик-Трейд»; АО «Северный ветер»; ПАО «Уральские самоцветы»; ООО «Вектор Плюс»;
株式会社山田商店; 有限会社佐藤工業; 三井物産株式会社; شركة النور للتجارة; مؤسسة الفجر للمقاولات;
Orion Shipping Ltd; Baltic Star Logistics OU; Polar Bear Fisheries AS; Sunrise Textiles Pvt Ltd;
Golden Gate Trading LLC; Blue Ocean Marine Services FZE; Alpine Precision Instruments GmbH;
Kazan Bakery Supplies LLC; Volga River Cruises JSC; Siberian Timber Export LLC; Murmansk Fish Port Services;
Moscow Flower Delivery OOO; Novosibirsk Software Studio; Ural Mountain Tours; Tula Samovar Museum Shop""".split(";")


def _sdn(real: Path) -> tuple[dict[str, dict], set[str]]:
    cls = get_adapter("us_ofac_sdn")
    new = {r.key: r.payload() for r in cls({}).parse({"main": real / "ofac/sdn_csv/2024-02-23_sdn.csv"})}
    old = {r.key for r in cls({}).parse({"main": real / "ofac/sdn_csv/2024-02-20_sdn.csv"})}
    return new, set(new) - old


_TO_CYRILLIC = (
    ("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"), ("yu", "ю"), ("ya", "я"),
    ("ye", "е"), ("yo", "ё"), ("iy", "ий"), ("yy", "ый"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"),
    ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"),
    ("w", "в"), ("x", "кс"), ("j", "дж"), ("q", "к"),
)  # fmt: skip


def _cyrillic(text: str) -> str:
    """Latin back to Cyrillic the way a Russian clerk would write the name (BGN/PCGN reversed)."""
    out = text.lower()
    for latin_, cyr in _TO_CYRILLIC:
        out = out.replace(latin_, cyr)
    return out.title()


def _core(name: str) -> str:
    """The name without its written legal form (as the payload has it, readable)."""
    words = re.sub(
        r"\b(LIMITED LIABILITY COMPANY|JOINT STOCK COMPANY|PUBLIC JOINT STOCK COMPANY|OPEN JOINT STOCK COMPANY|"
        r"CLOSED JOINT STOCK COMPANY|LLC|OOO|AO|PAO|OAO|ZAO|JSC|PJSC|OJSC|LIMITED|LTD\.?|CO\.?)\b",
        " ",
        name,
    )
    return " ".join(words.replace(",", " ").split())


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 7]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.choice(("swap", "drop", "sub"))
    if op == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == "drop":
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + rng.choice("aeiou" if w[j].lower() not in "aeiou" else "bdkmst") + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def _person(name: str) -> tuple[str, list[str]]:
    surname, _, given = name.partition(",")
    return surname.strip(), given.split()


def build(real: Path, seed: int = 20240223) -> list[dict[str, str]]:
    rng = random.Random(seed)
    records, added = _sdn(real)
    listed_tokens = [frozenset(skeleton(t) for t in tokens(p["name"])) for p in records.values()]
    rows: list[dict[str, str]] = []

    def add(name: str, variant: str, target: str = "", **facts: str) -> None:
        rows.append({"name": name, "variant": variant, "target": target, "country": "", "dob": "", "ids": "", **facts})

    orgs = [k for k in sorted(added) if records[k]["entity_type"] == "organization"]
    people = [k for k in sorted(records) if records[k]["entity_type"] == "person"]
    new_people = [k for k in people if k in added]
    older_orgs = [k for k in sorted(records) if records[k]["entity_type"] == "organization" and k not in added]

    # --- true matches ------------------------------------------------------------------------------------
    for key in rng.sample(orgs, 150):
        name = records[key]["name"]
        core = _core(name) or name
        kind = "jsc" if re.search(r"JOINT STOCK|\bAO\b|\bPAO\b|\bOAO\b|JSC", name) else "llc"
        other = "llc" if kind == "jsc" else "jsc"
        variant = rng.choice(("cyrillic", "legal_form", "word_order", "typo", "plain_lower"))
        if variant == "cyrillic":
            add(_legal(rng, other, _cyrillic(core)), variant, key)
        elif variant == "legal_form":
            add(_legal(rng, other, core.title()), variant, key)
        elif variant == "word_order":
            words = core.split()
            add(" ".join(words[1:] + words[:1]) + " " + rng.choice(("LLC", "JSC", "")), variant, key)
        elif variant == "typo":
            add(_typo(core, rng), variant, key)
        else:
            add(re.sub(r"[^\w ]", "", name).lower(), variant, key)
    for key in rng.sample(older_orgs, 60):
        name = records[key]["name"]
        add(_typo(_core(name) or name, rng).title(), "older_typo", key)
    for key in new_people + rng.sample([k for k in people if k not in added], 60):
        surname, given = _person(records[key]["name"])
        party = designation_party(records[key])
        dob = str(party.dates[0]) if party.dates else ""
        short = " ".join([given[0], surname.title()]) if given else surname
        variant = rng.choice(("no_patronymic_dob", "cyrillic_person", "given_first"))
        if variant == "no_patronymic_dob" and dob:
            add(short, variant, key, dob=dob)
        elif variant == "cyrillic_person":
            add(_cyrillic(" ".join([surname, *given])), variant, key, dob=dob)
        else:
            add(" ".join([*given, surname]), "given_first", key)
    vessels_with_ids = [(k, p) for k, p in records.items() if k in added and designation_party(p).identifiers]
    for key, payload in vessels_with_ids[:40]:
        _, number, label = designation_party(payload).identifiers[0]
        add(f"Counterparty {key}", "identifier_only", key, ids=f"{label.split()[0]}:{number}")

    # --- true non-matches --------------------------------------------------------------------------------
    vocab = sorted(
        {
            w
            for k in orgs
            for w in _core(records[k]["name"]).split()
            if len(w) >= 6 and w.isalpha() and not any(OSA.distance(w.lower(), x) <= 2 for x in LEGAL_WORDS)
        }
    )
    for key in rng.sample(orgs, 150):
        words = _core(records[key]["name"]).split()
        if len(words) < 2:
            continue
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        words[longest] = rng.choice([w for w in vocab if w[:3] != words[longest][:3]])
        candidate = " ".join(words)
        if not _near_listed(candidate, listed_tokens):
            add(candidate.title(), "other_distinctive_word")
    surnames = [_person(records[k]["name"])[0] for k in people]
    givens = [_person(records[k]["name"])[1] for k in people]
    for key in rng.sample(new_people, min(50, len(new_people))):
        surname, given = _person(records[key]["name"])
        other = rng.choice([g for g in givens if g and given and g[0] != given[0]])
        add(" ".join([*other, surname.title()]), "same_surname_other_given")
    for key in new_people:
        party = designation_party(records[key])
        if party.dates:
            surname, given = _person(records[key]["name"])
            add(" ".join([*given, surname.title()]), "same_name_dob_decades_apart", dob=str(party.dates[0].year - 25))
    for name in rng.sample(surnames, 40):
        add(f"{name.title()} Consulting Group", "surname_as_company")
    for name in UNLISTED:
        add(" ".join(name.split()), "unlisted_company")
    return rows


def _near_listed(name: str, listed: list[frozenset[str]]) -> bool:
    """A made-up name one word away from a listed one is not surely someone else: not used as a non-match."""
    mine = frozenset(skeleton(t) for t in tokens(name))
    return any(len(mine ^ other) <= 1 or mine <= other or other <= mine for other in listed)


def _legal(rng: random.Random, kind: str, core: str) -> str:
    return rng.choice(LEGAL[kind]).format(core)


def main() -> None:
    real = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/real")
    rows = build(real)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["name", "country", "dob", "ids", "variant", "target"])
        writer.writeheader()
        writer.writerows(rows)
    print(
        f"{OUT}: {sum(bool(r['target']) for r in rows)} true matches, {sum(not r['target'] for r in rows)} non-matches"
    )


if __name__ == "__main__":
    main()
