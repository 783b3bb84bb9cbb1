"""Labelled screening sets built from the real lists: counterparties written the ways they really are, each
labelled with the designation it is (or with none: a hard negative), split into tuning and held-out parts.

Positives (a counterparty that IS the designation):
- script: a name in its original script against a record holding only Latin names, or the reverse: the
  Japanese MOF list's katakana/kanji names against its English ones, the Australian list's Arabic and Cyrillic
  names (those also in the UN list left out), Korean names we wrote (no list here has Hangul); and, held out
  entirely, the UN list's NAME_ORIGINAL_SCRIPT names (`script_un`).
- alias: what a bank meets. Its customer file writes a party the way one list's good-quality alias writes it (UN
  "Good", Australian not "weak", MOF not low-quality, UK all), and it screens against every list: the row is that
  alias against the SAME party's record on ANOTHER list, as published, where that list's own spellings and aliases
  stand. Records are the same party when they share a strong identifier: the UN reference a record carries as its
  own (UN, Australia's "QDi.123." opening its remarks, the UK's "UN Ref QI.A.123.01" read as "QDi.123", MOF's "UN
  reference"), or a passport, national identity or IMO number (five digits or more). A party with two records on one
  list is left out (ambiguous); a row whose alias the other record holds as written (same words, any order or case)
  is left out (nothing to find), and so is one sharing no word's consonants with any name the other record holds:
  a nom de guerre only list A carries ("Talha" for ADEM YILMAZ), which the bank finds on list A as written; one
  alias per pair of records.
- alias_same ("alias, same record without it"): the older, harsher set kept so nothing is hidden: a list's own
  good-quality alias that shares a word's consonants with the primary name, against the same record with that alias
  removed. Many are partial names or noms de guerre sharing one word ("Calib Trinidad" for ANGELO RAMIREZ
  TRINIDAD), which no matcher accepts without losing precision; reported, no goal.
- translit: OFAC SDN names with one romanization rewritten (-ov/-off, zh/j, kh/h, ye/e, iy/y/ii, ks/x, yu/iu,
  a double letter added or dropped); order (words reordered); missing_middle (a patronymic or middle name
  dropped); legal_form (another legal form, or none); typo (one slip in a long word).
Hard negatives (nobody listed): same_surname / same_given (a designated person's surname with another listed
person's given names, or the reverse), firm_word (a listed firm's distinctive word swapped for another firm's),
one_word (one word of a person's name swapped), script_swap (an original-script name with one word swapped),
unlisted (ordinary companies). A negative that is itself listed (any name key of any record) is dropped.

The split is by designation (a record's rows are all tuning or all held-out: sha1 of source:key, 30 % held out; for
the cross-list alias rows sha1 of the party, so both directions of one party fall on one side); negatives by the
sha1 of the name. Deterministic: same files, same sets.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notifier.ingest.registry import get_adapter
from notifier.screening.names import fold, forms, name_keys, sound, tokens
from notifier.screening.translit import has_abjad, has_kana, latin

LISTS = {
    "us_ofac_sdn": "ofac/sdn_csv/2024-02-23_sdn.csv",
    "un_sc": "un/2025-12-10_consolidated.xml",
    "au_dfat": "au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx",
    "jp_mof": "jp/mof_shisantouketsu20260305.xlsx",
    "gb_fcdo": "uk/hmt_consolidated_2014-04-02_ConList.csv",  # the former HM Treasury list: cross-list aliases only
}
OWN_ROWS = ("us_ofac_sdn", "un_sc", "au_dfat", "jp_mof")  # lists the single-list categories are built from
FROZEN = Path(__file__).resolve().parent / "data" / "screening_sets.csv"  # the rows every figure is measured on
HELD_OUT = 30  # percent of designations whose rows are never used for tuning
POSITIVE = ("script", "script_un", "alias", "alias_same", "translit", "order", "missing_middle", "legal_form", "typo")
NEGATIVE = ("same_surname", "same_given", "firm_word", "one_word", "script_swap", "unlisted")
_NON_LATIN = re.compile(  # Greek, Cyrillic, Hebrew, Arabic, kana, CJK, Hangul
    r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0750-\u077f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7a3]"
)
_JUNK = re.compile(r"[()（）:：;；0-9０-９、。]|別称|旧称|イニシャル")
KOREAN = [  # (Hangul as a Korean clerk writes it, the name as North Korean designations write it)
    ("김정은", "KIM JONG UN"), ("김여정", "KIM YO JONG"), ("최룡해", "CHOE RYONG HAE"), ("리병철", "RI PYONG CHOL"),
    ("김영철", "KIM YONG CHOL"), ("박정천", "PAK JONG CHON"), ("조용원", "JO YONG WON"), ("리영길", "RI YONG GIL"),
    ("김덕훈", "KIM TOK HUN"), ("오수용", "O SU YONG"), ("리만건", "RI MAN GON"), ("최선희", "CHOE SON HUI"),
    ("김수길", "KIM SU GIL"), ("정경택", "JONG KYONG THAEK"), ("태종수", "THAE JONG SU"), ("박태성", "PAK THAE SONG"),
    ("조선광선은행", "KOREA KWANGSON BANKING CORP"), ("단천상업은행", "TANCHON COMMERCIAL BANK"),
    ("조선무역은행", "FOREIGN TRADE BANK"), ("고려항공", "AIR KORYO"),
]  # fmt: skip
KOREAN_NEGATIVE = ["김철수", "박영희", "이민호", "최지우", "정해인", "한국전력공사", "삼성전자"]
UNLISTED = """Toyota Motor Corporation; Deutsche Bank AG; Nestle S.A.; Siemens AG; Maersk Line A/S; BASF SE;
Unilever PLC; Mitsubishi Corporation; Samsung Electronics Co., Ltd.; Hapag-Lloyd AG; Glencore International AG;
Trafigura Pte Ltd; Vitol SA; Sumitomo Mitsui Banking Corporation; ING Groep N.V.; Societe Generale S.A.;
ООО «Ромашка»; ООО «Лютик-Трейд»; АО «Северный ветер»; ПАО «Уральские самоцветы»; ООО «Вектор Плюс»;
株式会社山田商店; 有限会社佐藤工業; 三井物産株式会社; شركة النور للتجارة; مؤسسة الفجر للمقاولات;
Orion Shipping Ltd; Baltic Star Logistics OU; Polar Bear Fisheries AS; Sunrise Textiles Pvt Ltd;
Golden Gate Trading LLC; Blue Ocean Marine Services FZE; Alpine Precision Instruments GmbH;
Kazan Bakery Supplies LLC; Volga River Cruises JSC; Siberian Timber Export LLC;
Murmansk Fish Port Services""".split(";")
TRANSLIT = (  # (pattern, replacement, label): one way a name is romanized instead of another
    (r"ov\b", "off", "ov_off"), (r"ev\b", "eff", "ov_off"), (r"zh", "j", "zh_j"), (r"kh", "h", "kh_h"),
    (r"\bye", "e", "ye_e"), (r"\be(?=[vl])", "ye", "ye_e"), (r"iy\b", "y", "iy_y"), (r"iy\b", "ii", "iy_y"),
    (r"yy\b", "y", "iy_y"), (r"ks", "x", "ks_x"), (r"yu", "iu", "yu_iu"), (r"ya", "ia", "yu_iu"),
    (r"([bdgklmnprst])\1", r"\1", "double"), (r"(?<=[aeiou])([lnrst])(?=[aeiou])", r"\1\1", "double"),
)  # fmt: skip
LEGAL = ["OOO {}", "{} LLC", "Limited Liability Company {}", "ООО «{}»", "{} Ltd.", "AO {}", "{} JSC", "PAO {}",
         "АО «{}»", "{} OJSC", "Joint-Stock Company {}", "{}"]  # fmt: skip
_FORM_WORDS = re.compile(
    r"\b(LIMITED LIABILITY COMPANY|JOINT[- ]STOCK COMPANY|PUBLIC JOINT[- ]STOCK COMPANY|OPEN JOINT[- ]STOCK COMPANY|"
    r"CLOSED JOINT[- ]STOCK COMPANY|LLC|OOO|AO|PAO|OAO|ZAO|JSC|PJSC|OJSC|LIMITED|LTD\.?|CO\.?)\b",
    re.IGNORECASE,
)


@dataclass
class Row:
    name: str
    category: str
    target: str = ""  # "source:key" for a positive, "" for a negative
    split: str = "tune"
    detail: str = ""

    @property
    def positive(self) -> bool:
        return bool(self.target)

    @property
    def published(self) -> bool:
        """Screened against its target as published (not the set's view of it, which another row may change)."""
        return self.category in PUBLISHED


PUBLISHED = ("alias",)


@dataclass
class Sets:
    records: dict[str, dict[str, Any]]  # "source:key" -> payload as published
    views: dict[str, list[str]] = field(default_factory=dict)  # "source:key" -> names the evaluation keeps
    rows: list[Row] = field(default_factory=list)


def _held(text: str) -> str:
    return "heldout" if int(hashlib.sha1(text.encode()).hexdigest(), 16) % 100 < HELD_OUT else "tune"


def _names(p: dict[str, Any]) -> list[str]:
    return [n for n in dict.fromkeys([p.get("name") or "", *(p.get("aliases") or [])]) if n.strip()]


def _script_name(n: str) -> bool:
    return bool(_NON_LATIN.search(n))


def _good_aliases(source: str, p: dict[str, Any]) -> list[str]:
    extra = p.get("extra") or {}
    weak = set(extra.get("weak_aliases") or []) | set(extra.get("low_quality_aliases") or [])
    if source == "un_sc":
        details = extra.get("alias_details") or []
        good = {a["name"] for a in details if a.get("quality") == "Good"}
        return [a for a in p.get("aliases") or [] if a in good]
    return [a for a in p.get("aliases") or [] if a not in weak]


def _latin_aliases(key: str, p: dict[str, Any]) -> list[str]:
    return [a for a in _good_aliases(key.split(":")[0], p) if not _script_name(a) and not _JUNK.search(a)]


_UN_REF = re.compile(r"\b([A-Z]{2}[ie])\.(\d{3})\b")
_UN_REF_OLD = re.compile(r"\bUN Ref\s+([QT])([IE])\.[A-Z]\.(\d{1,3})\.\d\d\b")  # before the 2014 renumbering
_ID_NUMBER = re.compile(r"\b[A-Z]{0,3}[ -]?\d[\d -]{4,}\d\b")


def _strong_ids(key: str, p: dict[str, Any]) -> set[str]:
    """What says two records are one party: the record's own UN reference, or a passport, identity or IMO number."""
    source = key.split(":")[0]
    remarks = p.get("remarks") or ""
    found: set[str] = set()
    if source == "un_sc":
        found.add(str((p.get("extra") or {}).get("reference_number") or ""))
    elif source == "au_dfat" and (m := _UN_REF.match(remarks.strip())):
        found.add(m[0])
    elif source == "gb_fcdo" and (m := _UN_REF_OLD.search(remarks)):
        found.add(f"{'QD' if m[1] == 'Q' else 'TA'}{m[2].lower()}.{int(m[3]):03d}")
    for ident in p.get("identifiers") or []:
        number = str(ident.get("number") or "")
        if "reference" in str(ident.get("type") or "").lower():
            found.update(m[0] for m in _UN_REF.finditer(number))
            continue
        for m in _ID_NUMBER.finditer(number.upper()):
            value = re.sub(r"[^0-9A-Z]", "", m[0])
            if sum(c.isdigit() for c in value) >= 5 and not re.fullmatch(r"(19|20)\d\d\d{0,4}", value):
                found.add("#" + value)
    return {f for f in found if f}


def _parties(records: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Records of different lists that are one party (linked by a strong identifier), each list at most once."""
    parent = {k: k for k in records}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    holders: dict[str, list[str]] = {}
    for key, p in sorted(records.items()):
        for ident in _strong_ids(key, p):
            holders.setdefault(ident, []).append(key)
    for keys in holders.values():
        for k in keys[1:]:
            parent[root(k)] = root(keys[0])
    groups: dict[str, list[str]] = {}
    for k in sorted(records):
        groups.setdefault(root(k), []).append(k)
    out = []
    for keys in groups.values():
        lists = [k.split(":")[0] for k in keys]
        if len(keys) > 1 and len(set(lists)) == len(lists):
            out.append(keys)
    return sorted(out)


def _shares_word(alias: str, name: str) -> bool:
    """Shares a word's consonants (three or more) with the name: a spelling of it, not a nom de guerre."""
    a = {sound(t) for t in tokens(latin(alias)) if len(sound(t)) >= 3}
    return bool(a & {sound(t) for t in tokens(latin(name)) if len(sound(t)) >= 3})


def _spells_primary(alias: str, primary: str) -> bool:
    """A spelling of the primary name (shares a word's consonants with it), not a nom de guerre."""
    return _shares_word(alias, primary) and forms(alias).sorted_key != forms(primary).sorted_key


def load(real: Path) -> dict[str, dict[str, Any]]:
    records = {}
    for source, path in LISTS.items():
        for r in get_adapter(source)({}).parse({"main": real / path}):
            p = r.payload()
            if p.get("kind") in (None, "designation"):
                records[f"{source}:{p['key']}"] = p
    return records


def build(real: Path, seed: int = 17) -> Sets:
    rng = random.Random(seed)
    records = load(real)
    sets = Sets(records, {k: _names(p) for k, p in records.items()})
    listed_keys = {k for p in records.values() for n in _names(p) for k in name_keys(n)}
    un_script = {fold(n) for k, p in records.items() if k.startswith("un_sc:") for n in _names(p) if _script_name(n)}
    used: set[str] = set()  # records whose view a positive already changed

    def add(name: str, category: str, target: str = "", detail: str = "", split: str = "") -> None:
        split = split or ("heldout" if category == "script_un" else _held(target or name))
        sets.rows.append(Row(" ".join(name.split()), category, target, split, detail))

    # --- original script <-> Latin ----------------------------------------------------------------------------
    script_rows = []
    for key, p in sorted(records.items()):
        source = key.split(":")[0]
        if source in ("us_ofac_sdn", "gb_fcdo"):
            continue
        names = sets.views[key]
        script = [n for n in names if _script_name(n) and not _JUNK.search(n) and 2 <= len(n) <= 60]
        latin_ = [n for n in names if not _script_name(n) and not _JUNK.search(n)]
        if source == "jp_mof":  # katakana (a transliteration), or kanji for a person (Chinese, Korean names)
            script = [n for n in script if has_kana(n) and not re.search(r"[\u4e00-\u9fff]", n)
                      or (p.get("entity_type") == "person" and not has_kana(n))]  # fmt: skip
        if source != "un_sc":
            script = [n for n in script if fold(n) not in un_script]
        if not script or not latin_:
            continue
        category = "script_un" if source == "un_sc" else "script"
        script_rows.append((key, category, script, latin_))
    for key, category, script, latin_ in script_rows:
        if _held(key + "#direction") == "tune":  # the counterparty writes the original script
            sets.views[key] = latin_
            add(rng.choice(script), category, key, "script->latin")
        else:  # the counterparty writes Latin, the list only the original script
            sets.views[key] = script
            add(latin_[0], category, key, "latin->script")
        used.add(key)
    sdn = {k: p for k, p in records.items() if k.startswith("us_ofac_sdn:")}
    for hangul, roman in KOREAN:  # a Korean counterparty file against the Latin listing (no list carries Hangul)
        match = [k for k, p in sdn.items() if forms(p["name"]).sorted_key == forms(roman).sorted_key]
        if match and match[0] not in used:
            add(hangul, "script", match[0], "hangul->latin")

    # --- the lists' own aliases ------------------------------------------------------------------------------
    for key, p in sorted(records.items()):
        if key.split(":")[0] not in OWN_ROWS or key in used or key.startswith("us_ofac_sdn:") and rng.random() < 0.7:
            continue
        primary = p.get("name") or ""
        good = [a for a in _latin_aliases(key, p) if _spells_primary(a, primary)]
        if good:
            alias = rng.choice(good)
            sets.views[key] = [n for n in sets.views[key] if forms(n).sorted_key != forms(alias).sorted_key]
            add(alias, "alias_same", key, primary)
            used.add(key)
    other = random.Random(seed + 1)  # its own draws: the rows below stay what they were
    for party in _parties(records):
        split = _held("party:" + party[0])
        for a in party:
            aliases = _latin_aliases(a, records[a])
            for b in party:
                names_b = _names(records[b])
                written = {forms(n).sorted_key for n in names_b}
                fresh = [x for x in aliases if b != a and forms(x).sorted_key not in written
                         and any(_shares_word(x, n) for n in names_b)]  # fmt: skip
                if fresh:
                    add(other.choice(fresh), "alias", b, f"{a} alias", split)

    # --- spellings of OFAC SDN names -------------------------------------------------------------------------
    people = [k for k, p in sorted(sdn.items()) if p.get("entity_type") == "person" and "," in p["name"]]
    firms = [k for k, p in sorted(sdn.items()) if p.get("entity_type") == "organization"]
    for key in rng.sample(people, 900):
        name = sdn[key]["name"]
        surname, _, given = name.partition(",")
        words = [*given.split(), surname.strip()]
        kind = rng.choice(("translit", "translit", "order", "missing_middle", "typo"))
        if kind == "translit":
            text = " ".join(words).lower()
            options = [(pat, rep, label) for pat, rep, label in TRANSLIT if re.search(pat, text)]
            if not options:
                continue
            pat, rep, label = rng.choice(options)
            add(re.sub(pat, rep, text, count=1).title(), "translit", key, label)
        elif kind == "order":
            add(" ".join([surname.strip(), *given.split()]).title(), "order", key)
        elif kind == "missing_middle" and len(given.split()) >= 2:
            add(" ".join([given.split()[0], surname.strip()]).title(), "missing_middle", key)
        elif kind == "typo":
            typo = _typo(" ".join(words), rng)
            if typo:
                add(typo, "typo", key)
    for key in rng.sample(firms, 500):
        name = sdn[key]["name"]
        core = " ".join(_FORM_WORDS.sub(" ", name).replace(",", " ").split())
        if not core or len(core) < 4:
            continue
        kind = rng.choice(("legal_form", "legal_form", "order", "typo", "translit"))
        if kind == "legal_form":
            add(rng.choice(LEGAL).format(core.title()), "legal_form", key)
        elif kind == "order" and len(core.split()) >= 2:
            w = core.split()
            add(" ".join(w[1:] + w[:1]) + rng.choice(("", " LLC", " JSC")), "order", key)
        elif kind == "typo" and (typo := _typo(core, rng)):
            add(typo, "typo", key)
        elif kind == "translit":
            options = [(pat, rep, label) for pat, rep, label in TRANSLIT if re.search(pat, core.lower())]
            if options:
                pat, rep, label = rng.choice(options)
                add(re.sub(pat, rep, core.lower(), count=1).title(), "translit", key, label)

    # --- hard negatives --------------------------------------------------------------------------------------
    def negative(name: str, category: str, detail: str = "") -> None:
        if not name.strip() or name_keys(name) & listed_keys or _near_listed(name, near):
            return
        add(name, category, "", detail)

    near = _near_index(records)
    person_names = [sdn[k]["name"].partition(",") for k in people]
    for key in rng.sample(people, 500):
        surname, _, given = sdn[key]["name"].partition(",")
        other_s, _, other_g = rng.choice(person_names)
        if other_g.split() and given.split() and other_g.split()[0][0] != given.split()[0][0]:
            negative(f"{other_g.strip()} {surname.strip()}".title(), "same_surname", sdn[key]["name"])
        if other_s.strip()[:3] != surname.strip()[:3]:
            negative(f"{given.strip()} {other_s.strip()}".title(), "same_given", sdn[key]["name"])
        words = [*given.split(), surname.strip()]
        if len(words) >= 3:
            i = rng.randrange(len(words))
            pool = [w for _, _, g in person_names for w in g.split() if w[:2] != words[i][:2]]
            words[i] = rng.choice(pool)
            negative(" ".join(words).title(), "one_word", sdn[key]["name"])
    vocab = sorted({w for k in firms for w in _FORM_WORDS.sub(" ", sdn[k]["name"]).split() if len(w) >= 6
                    and w.isalpha()})  # fmt: skip
    for key in rng.sample(firms, 500):
        words = _FORM_WORDS.sub(" ", sdn[key]["name"]).replace(",", " ").split()
        if len(words) < 2:
            continue
        i = max(range(len(words)), key=lambda j: len(words[j]))
        words[i] = rng.choice([w for w in vocab if w[:3] != words[i][:3]])
        negative(" ".join(words).title(), "firm_word", sdn[key]["name"])
    script_names = [(k, n) for k, _, names_, _ in script_rows for n in names_]
    by_script: dict[str, list[str]] = {}
    for _, n in script_names:
        by_script.setdefault("abjad" if has_abjad(n) else "kana" if has_kana(n) else "other", []).append(n)
    for _, n in rng.sample(script_names, min(600, len(script_names))):
        group = by_script["abjad" if has_abjad(n) else "kana" if has_kana(n) else "other"]
        parts = re.split(r"([\s・、]+)", n)
        words = [i for i, w in enumerate(parts) if w.strip() and not re.fullmatch(r"[\s・、]+", w)]
        if len(words) < 2:
            continue
        i = rng.choice(words)
        donor = [w for w in re.split(r"[\s・、]+", rng.choice(group)) if w and w != parts[i]]
        if donor:
            parts[i] = rng.choice(donor)
            negative("".join(parts), "script_swap", n)
    for name in [*UNLISTED, *KOREAN_NEGATIVE]:
        negative(" ".join(name.split()), "unlisted")
    return sets


def _typo(text: str, rng: random.Random) -> str | None:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
    if not long:
        return None
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    op = rng.choice(("swap", "drop", "sub", "double"))
    if op == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == "drop":
        w = w[:j] + w[j + 1 :]
    elif op == "double":
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + rng.choice("aeiou" if w[j].lower() not in "aeiou" else "bdkmst") + w[j + 1 :]
    words[i] = w
    return " ".join(words).title()


def _near_index(records: dict[str, dict[str, Any]]) -> dict[frozenset[str], None]:
    return {
        frozenset(sound(t) for t in tokens(latin(n)) if sound(t)): None for p in records.values() for n in _names(p)
    }


def _near_listed(name: str, near: dict[frozenset[str], None]) -> bool:
    """A made-up name that sounds exactly like a listed one (every word's consonants) is not surely someone
    else: not used as a negative."""
    return frozenset(sound(t) for t in tokens(name) if sound(t)) in near


def write_rows(sets: Sets, rows: list[Row], path: Path) -> None:
    """Rows with their target's view where a row changed it (names and labels only: records stay in the real
    files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", "category", "target", "split", "detail", "view"])
        for r in rows:
            names = sets.views.get(r.target, []) if r.target else []
            changed = r.target and not r.published and names != _names(sets.records[r.target])
            w.writerow([r.name, r.category, r.target, r.split, r.detail, "|".join(names) if changed else ""])


def read_rows(records: dict[str, dict[str, Any]], path: Path) -> Sets:
    sets = Sets(records, {k: _names(p) for k, p in records.items()})
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            sets.rows.append(Row(row["name"], row["category"], row["target"], row["split"], row["detail"]))
            if row["view"]:
                sets.views[row["target"]] = row["view"].split("|")
    return sets


def frozen(real: Path) -> Sets:
    """The committed sets over the real records: the same rows whatever the matcher reads today."""
    return read_rows(load(real), FROZEN) if FROZEN.exists() else build(real)
