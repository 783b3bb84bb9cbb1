"""Score designations against watchlist entries: which counterparty is this, how sure, and why.

A score is the best name similarity over every (entry name, designated name or alias) pair, in [0, 1], moved
by the other facts both sides give: an identifier both carry (IMO, LEI, passport, tax or registration number)
decides a match; a date of birth or incorporation and a country agreeing raise the score, disagreeing lower it.
Names are compared in `notifier.screening.names` forms (Latin, folded, legal forms off, word order free).

Speed comes from blocking: an index from name-token keys (the token, its spelling skeleton, its first and last
four letters) to entries, so a designation is compared only with entries sharing a distinctive key.
"""

from __future__ import annotations

import gc
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from rapidfuzz.distance import OSA, Indel

from notifier.screening.countries import country_code
from notifier.screening.names import PARTICLES, NameForms, forms, skeleton, sounds

DEFAULT_THRESHOLD = 0.88
_DOUBLES = re.compile(r"(.)\1+")
_ONE = itemgetter(1)  # a doubled letter once (a callable: re.sub parses a "\\1" template on every call)
TOKEN_MATCH = 0.8  # two tokens this similar are the same word written differently
ONE_SLIP = 0.92  # a long word one typed letter away (missing, extra, wrong or swapped)
LEADING_WORD_MISSING = 0.85  # the entry lacks the first word of a longer name: a father is not his son
SUBSTITUTED = 0.85  # a word of the shorter name has no counterpart: another given name is another person
ONE_MISSING = 0.9  # one word (a patronymic, a middle name) missing from the entry, first word kept
CHAIN_MISSING = 0.95  # words of a patronymic chain ("bin X bin Y") missing from the other name
TWO_MISSING = 0.89  # two words (middle names, a grandfather's) missing from the entry, first word kept
# Titles a list writes before a name and another list leaves off ("Haji Malek Noorzai" / "Malik NOORZAI"); not
# words of the name, so never missing and never matched. Not "sayed", "hafiz", "qari": those are also names.
TITLES = frozenset(
    "haji hajji alhaj alhaji hadji mullah mulla maulawi mawlawi maulvi molvi mawlavi maulana mawlana sheikh shaykh "
    "shaikh sheik shaik".split()
    # and as katakana and Arabic script read ("シェイク" sheiku, "ムラー" mura, "حاجى" haja, "شيخ" shykh, "مولوی" mwlvy)
    + "sheiku shaiku shaifu mura moruvi maurawi hajy haja shykh mwlvy mwlwy".split()
)
ARTICLES = frozenset("al el ul ad ar as at az an ash".split())
FILIATION = PARTICLES - ARTICLES  # "bin", "ben", "ibn", "ould": one word ("son of") however spelt
# Words that are no name of one's own: a patronymic chain is forgiven only to a shorter name with two others.
# (Setting articles, a kunya's "Abu" or ranks aside when the other name lacks them was measured and dropped:
# held-out alias recall 0.571 -> 0.565, held-out precision 0.972 -> 0.965.)
_NOT_OWN = TITLES | ARTICLES | frozenset("abu abou umm doctor colonel lieutenant brigadier sergeant professor".split())
LINEAGE = frozenset("bin ben ibn bint ould walad wuld son".split())  # "son of": a father's name follows
# First letters that spellings of one name swap (Kadyrov / Qadyrov, Yevgeniy / Evgeniy, Vasiliy / Wasilij); any
# other first letter makes another word (Vetrov / Petrov, Song / Tong).
_SAME_ONSET = tuple(frozenset(g) for g in ("kqcg", "aeiouyj", "vwbf", "szc", "td", "pb"))
_ONE_VOWEL = ({"u", "o"}, {"i", "e"})  # first vowels of one Arabic name in Latin (Usman / Osman, Ismail / Esmail)
MAX_POSTINGS = 150  # a key shared by more entries than this does not block on its own (e.g. "plant", "bank")

LEGAL_WORDS = tuple(
    "company limited limitada liability corporation incorporated obshchestvo aktsionernoe publichnoe "
    "otkrytoe zakrytoe ogranichennoy otvetstvennostyu sociedad societate societatea gesellschaft".split()
)
MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), 1)}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_ISO = re.compile(r"\b(1[89]\d\d|20\d\d)-(\d\d)(?:-(\d\d))?\b")
_DMY = re.compile(r"\b(\d{1,2})[ ./-]([A-Za-z]{3})[a-z]*[ ./-](1[89]\d\d|20\d\d)\b")
_NUMERIC_DMY = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](1[89]\d\d|20\d\d)\b")
_ALIAS = re.compile(r"\b[afn]\.k\.a\.,?\s*'([^']+)'", re.IGNORECASE)
_REMARK_DATES = re.compile(r"\b(?:DOB|Organization Established Date|Date of Birth)\s+([^;]+)", re.IGNORECASE)
_REMARK_IDS = re.compile(
    r"\b(IMO|LEI|Passport|Tax ID No\.|Registration Number|National ID No\.|SWIFT/BIC|Registration ID|"
    r"Identification Number|Company Number|Government Gazette Number|MMSI|Cedula No\.|D-U-N-S Number)\s+"
    r"([A-Za-z0-9][A-Za-z0-9 -]{3,40}?)(?=\s*\(|\s*;|\s*$|\s+expires|\s+issued)",
    re.IGNORECASE,
)
_REMARK_COUNTRIES = re.compile(r"\b(?:nationality|citizen|Nationality of Registration)\s+([A-Za-z ,.'-]+?)(?:;|$)")
_ID_KINDS = (
    ("imo", ("imo",)),
    ("lei", ("lei", "legal entity")),
    ("passport", ("passport",)),
    ("tax", ("tax", "inn", "vat", "tin", "kpp")),
    ("registration", ("registration", "ogrn", "company number", "reg", "incorporation", "gazette")),
    ("national_id", ("national id", "national identification", "personal id", "snils", "cedula", "nin")),
    ("swift", ("swift", "bic")),
    ("mmsi", ("mmsi",)),
)
_PERSON_LIKE = {"person"}
_THING_LIKE = {"organization", "vessel", "aircraft"}


def id_kind(label: str) -> str:
    """The family an identifier's label belongs to ("Tax ID No." and "INN" are both "tax")."""
    low = label.casefold()
    for kind, words in _ID_KINDS:
        if any(w in low for w in words):
            return kind
    return "other"


def id_value(value: str) -> str:
    """Identifier numbers compare on letters and digits only ("IMO 9123456" -> "9123456")."""
    text = re.sub(r"[^0-9A-Z]", "", value.upper())
    return text[3:] if text.startswith("IMO") and text[3:].isdigit() else text


@dataclass(frozen=True, slots=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None

    def __str__(self) -> str:
        return "-".join(f"{v:02d}" if i else str(v) for i, v in enumerate((self.year, self.month, self.day)) if v)


def parse_date(text: str) -> PartialDate | None:
    """A date as far as it is given: "1978-01-28", "28 Jan 1978", "28.01.1978", "circa 1978", "1978"."""
    text = str(text)
    if m := _ISO.search(text):
        return PartialDate(int(m[1]), int(m[2]) or None, int(m[3]) if m[3] else None)
    if (m := _DMY.search(text)) and m[2][:3].casefold() in MONTHS:
        return PartialDate(int(m[3]), MONTHS[m[2][:3].casefold()], int(m[1]))
    if m := _NUMERIC_DMY.search(text):
        return PartialDate(int(m[3]), int(m[2]) if 0 < int(m[2]) <= 12 else None, int(m[1]))
    if m := _YEAR.search(text):
        return PartialDate(int(m[1]))
    return None


@dataclass(frozen=True)
class Party:
    """One side of a comparison: a watchlist entry or a designated record, reduced to what screening uses."""

    names: tuple[str, ...]
    entity_type: str | None = None
    countries: frozenset[str] = frozenset()
    dates: tuple[PartialDate, ...] = ()
    identifiers: tuple[tuple[str, str, str], ...] = ()  # (kind, value, label as written)
    ref: Any = None  # the entry id (watchlist side) or record key (designation side)

    @property
    def name(self) -> str:
        return self.names[0] if self.names else ""


def make_party(
    names: Iterable[str],
    *,
    entity_type: str | None = None,
    countries: Iterable[str] = (),
    dates: Iterable[str] = (),
    identifiers: Iterable[tuple[str, str]] = (),
    ref: Any = None,
) -> Party:
    """A party from loosely written facts; unreadable countries and dates are left out, not guessed."""
    codes = frozenset(c for c in (country_code(x) for x in countries if x) if c)
    parsed = tuple(d for d in (parse_date(x) for x in dates if x) if d)
    ids = []
    for label, number in identifiers:
        value = id_value(str(number))
        if len(value) >= 5:
            ids.append((id_kind(label), value, f"{label} {number}".strip()))
    written = [n.strip() for n in names if n and n.strip()]
    unique_names = tuple(dict.fromkeys(chain(written, chain.from_iterable(map(_names_within, written)))))
    return Party(unique_names, entity_type or None, codes, parsed, tuple(ids), ref)


_SEVERAL = re.compile(r"\s*;\s*|,?\s*\b[afn]\.k\.a\.\s*", re.IGNORECASE)  # "..., a.k.a. PJSC Alrosa" (MOF)
_BRACKETED = re.compile(r"\s*[(（]([^()（）]*)(?:[)）]|$)")
# A remark a list writes after the name: ", born 1 Jan. 1953 ...", " born in 1963", "、1969年1月1日生まれ".
_REMARK_TAIL = re.compile(r"(?:,\s*|\s+)born\s+(?:in|on|\d).*$|[、,]\s*[\d０-９].*$", re.IGNORECASE | re.DOTALL)
# Words saying a bracket describes the name rather than spells it ("(The Moroccan)", "(birth name)").
# A father's name in a bracket ("(son of M. Anwar Khan)", "（…の息子）") is another person's.
_NOT_A_NAME = frozenset(
    "the birth name previously formerly listed born also known aka fka nee maiden spelling son daughter wife "
    "widow".split()
)


@lru_cache(maxsize=200_000)
def _names_within(name: str) -> tuple[str, ...]:
    """The names one list's field holds besides itself: several written in one ("Abas Rashidi; Abbas Rashedi"),
    the name without a bracket or a remark after it ("Fabio Fusco, born 18 Dec. 1968 in Tunisia", "... （1963年に
    出生）"), and a bracket that is itself a name ("نصار الشريعة (Ansar al Charia)"); legal forms in brackets
    ("(PVT) LTD") are read by `forms` in the name as written, which is kept."""
    if not any(c in name for c in ";(（,、") and " born " not in name.casefold() and ".k.a." not in name.casefold():
        return ()
    found: list[str] = []
    for part in _SEVERAL.split(name):
        inner = [m.strip() for m in _BRACKETED.findall(part)]
        base = _REMARK_TAIL.sub("", _BRACKETED.sub(" ", part)).strip(" ,、")
        found.append(" ".join(base.split()))
        for text in inner:
            words = text.casefold().split()
            kin = "息子" in text or "娘" in text or "妻" in text
            if len(words) >= 2 and not kin and not any(c.isdigit() for c in text) and _NOT_A_NAME.isdisjoint(words):
                found.append(text)
    return tuple(n for n in found if n and n != name)


def designation_party(payload: dict[str, Any]) -> Party:
    """A designated record as screening sees it; facts the publisher left in the remarks (OFAC's legacy
    sdn.csv puts aliases, dates of birth and identifiers there) are read from them too."""
    remarks = payload.get("remarks") or ""
    names = [payload.get("name") or "", *(payload.get("aliases") or []), *_ALIAS.findall(remarks)]
    countries = [*(payload.get("nationalities") or []), *(payload.get("countries") or [])]
    countries += [a.rsplit(",", 1)[-1] for a in payload.get("addresses") or [] if isinstance(a, str)]
    countries += [c.strip() for c in _REMARK_COUNTRIES.findall(remarks)]
    extra = payload.get("extra") or {}
    vessel = payload.get("vessel") or {}
    if isinstance(vessel, dict) and vessel.get("flag"):  # records.Vessel (adapters' parser_version 2)
        countries.append(str(vessel["flag"]))
    elif isinstance(extra, dict) and extra.get("vessel_flag"):  # records stored before
        countries.append(str(extra["vessel_flag"]))
    dates = [*(payload.get("birth_dates") or []), *_REMARK_DATES.findall(remarks)]
    ids = [
        (i.get("type") or "", i.get("number") or "") for i in payload.get("identifiers") or [] if isinstance(i, dict)
    ]
    ids += _REMARK_IDS.findall(remarks)
    return make_party(
        names,
        entity_type=payload.get("entity_type"),
        countries=countries,
        dates=dates,
        identifiers=ids,
        ref=payload.get("key"),
    )


@dataclass
class Hit:
    """Why an entry matched a designation, in words a compliance officer can check."""

    entry: Party
    subject: Party
    score: float
    name_score: float
    entry_name: str
    matched_name: str
    agreed: list[str] = field(default_factory=list)
    disagreed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "name_score": round(self.name_score, 3),
            "entry_name": self.entry_name,
            "matched_name": self.matched_name,
            "agreed": self.agreed,
            "disagreed": self.disagreed,
        }


@lru_cache(maxsize=1_000_000)
def _token_sim(a: str, b: str) -> float:
    if a == b or a in FILIATION and b in FILIATION:
        return 1.0
    if len(a) <= 2 or len(b) <= 2:  # initials, and short words equal but for vowels ("bn", "bin")
        if a[:1] == b[:1] and (len(a) == 1 or len(b) == 1):
            return TOKEN_MATCH  # an initial: agrees, but proves little
        return 0.9 if max(len(a), len(b)) <= 3 and skeleton(a) == skeleton(b) else 0.0
    distance = OSA.distance(a, b)
    sim = 1 - distance / max(len(a), len(b))
    if len(a) == len(b) and a[1:] == b[1:]:
        if {a[0], b[0]} in _ONE_VOWEL:  # Arabic writes one letter that Latin spells u or o, i or e: Umar / Omar
            return max(sim, TOKEN_MATCH + 0.05)
        if not any(a[0] in g and b[0] in g for g in _SAME_ONSET):
            return min(sim, 0.75)  # Vetrov is not Petrov
    if distance == 1 and a[0] == b[0] and (min(len(a), len(b)) >= 6 or sorted(a) == sorted(b)):
        sim = max(sim, ONE_SLIP)  # one slip of the keyboard in a long word (not its first letter: Vetrov, Petrov)
    if sim < TOKEN_MATCH:
        sim = max(sim, 0.9 * Indel.normalized_similarity(skeleton(a), skeleton(b)) if max(len(a), len(b)) > 3 else 0.0)
    return sim


@lru_cache(maxsize=200_000)
def _without_legal_slips(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Legal-form words with a typo ("Compnay", "Lmited") escape the legal-form database: drop them here."""
    kept = tuple(t for t in tokens if len(t) < 5 or not any(OSA.distance(t, w) <= 2 for w in LEGAL_WORDS))
    return kept or tokens


def _without_titles(tokens: tuple[str, ...], other: tuple[str, ...]) -> tuple[str, ...]:
    """Titles off that the other name does not write ("Haji Malek Noorzai" / "Malik NOORZAI")."""
    if TITLES.isdisjoint(tokens):
        return tokens
    kept = tuple(t for t in tokens if t not in TITLES or t in other)
    return kept or tokens


def _align(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    a, b = _without_legal_slips(a), _without_legal_slips(b)
    return _align_with(_without_titles(a, b), _without_titles(b, a), _token_sim, _lineage(a) | _lineage(b))


@lru_cache(maxsize=200_000)
def _lineage(words: tuple[str, ...]) -> frozenset[str]:
    """The words of a name's patronymic chain: after its first "bin", "ben", "ould", "son of" and before its last
    word, the family name ("Hamada Ould Mohamed Lemine Ould Mohamed el KHAIRY"). Fathers' and grandfathers' names
    that one list writes and another leaves off ("Habib Ben Ahmed LOUBIRI")."""
    first = next((i for i, w in enumerate(words) if i and w in LINEAGE), len(words))
    return frozenset(words[first + 1 : -1]) if first + 2 < len(words) else frozenset()


def _son(a: tuple[str, ...], b: tuple[str, ...], token_sim: Callable[[str, str], float]) -> bool:
    """`b` is `a` after one other word: a son's name before his father's."""
    return token_sim(a[0], b[0]) < TOKEN_MATCH and all(
        token_sim(x, y) >= TOKEN_MATCH for x, y in zip(a, b[1:], strict=False)
    )


def _align_with(
    a: tuple[str, ...],
    b: tuple[str, ...],
    token_sim: Callable[[str, str], float],
    lineage: frozenset[str] = frozenset(),
) -> float:
    """Token alignment of entry name `a` and designated name `b`: each word of the shorter takes its best
    unused counterpart in the other; Dice over the letters of matched words.

    An entry that is the designated name minus one word (a patronymic, "Holding") still scores 0.9 times the
    similarity of what it has; not the other way round: a counterparty's extra word makes it someone else."""
    entry_shorter = len(a) <= len(b)
    if not entry_shorter:
        a, b = b, a
    used: set[int] = set()
    matched = 0.0
    sims = []
    for tok in sorted(a, key=len, reverse=True):
        best, best_j = 0.0, -1
        for j, other in enumerate(b):
            if j in used:
                continue
            s = token_sim(tok, other)
            if s > best:
                best, best_j = s, j
        if best >= TOKEN_MATCH:
            used.add(best_j)
            short = min(len(tok), len(b[best_j]))
            matched += best * (len(tok) + len(b[best_j]) if short > 1 else 2)  # an initial weighs one letter
            sims.append(best)
        else:
            sims.append(0.0)
    total = sum(map(len, a)) + sum(map(len, b))
    dice = matched / total if total else 0.0
    if len(b) >= 3 and len(a) < len(b) and (0 not in used or _son(a, b, token_sim)):
        # Either side may be the son: "Barzan Ibrahim Hasan" is not "Ali Barzan Ibrahim Hasan", nor "Ibrahim
        # Sabawi Ibrahim Hassan" his father "Sabawi Ibrahim Hassan" (one word before the same names in order).
        dice = min(dice, LEADING_WORD_MISSING)
    missing = len(b) - len(used)
    if any(s < TOKEN_MATCH for s in sims):  # a word on each side without a counterpart: Khawla is not Ali
        return min(dice, SUBSTITUTED)
    if sum(t not in TITLES for t in a) < 2:  # "Haji Mohammad" is one name: a missing word is not forgiven
        return dice
    if lineage and 0 in used and sum(t not in _NOT_OWN for t in a) >= 2:
        # Either side may leave out a patronymic chain, whatever its length: "Al-Habib ben Ahmad ben al-Tayib
        # al-Lubiri" / "LOUBIRI, Habib Ben Ahmed" (every word of the shorter name matched, its first word kept).
        rest = [t for j, t in enumerate(b) if j not in used]
        if all(t in lineage or t in PARTICLES for t in rest):
            dice = max(dice, CHAIN_MISSING * sum(sims) / len(sims))
    # One word missing from the entry is forgiven (a patronymic, a middle name), not the first: "Barzan Ibrahim
    # Hasan" is not "Ali Barzan Ibrahim Hasan", his son (Arabic names carry the father's after one's own). Two
    # missing only barely, and only between the first and the last word: "Kamal Awad" / "AWAD, Kamal Abdelrahman
    # Aref" (two middle names), not "Abdul Manan" / "Abdul Manan Mohammad Ishak".
    if entry_shorter and (missing == 1 or missing == 2 and len(b) - 1 in used) and 0 in used:
        dice = max(dice, (ONE_MISSING if missing == 1 else TWO_MISSING) * sum(sims) / len(sims))
    return dice


@lru_cache(maxsize=200_000)
def _readings(f: NameForms) -> tuple[tuple[str, ...], ...]:
    return tuple(r for r in (f.tokens, *f.alternatives) if r)


@lru_cache(maxsize=500_000)
def _word_keys(token: str) -> frozenset[str]:
    return _token_keys(token) | {token}


@lru_cache(maxsize=200_000)
def _joined(words: tuple[str, ...]) -> tuple[str, str]:
    """A reading's words glued in sorted and in written order (once per reading, not per pair)."""
    return "".join(sorted(words)), "".join(words)


@lru_cache(maxsize=200_000)
def _all_keys(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*map(_word_keys, words))


def _may_match(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Cheap bound before alignment: all but one word of the shorter name share a blocking key with the other."""
    if len(a) > len(b):
        a, b = b, a
    keys_b = _all_keys(b)
    shared = sum(1 for t in a if _word_keys(t) & keys_b)
    return shared >= max(1, len(a) - 1)


_KANA_FINAL = re.compile(r"(?<=[^aeiouy])u$|(?<=[td])o$")  # the vowel katakana adds after a final consonant


@lru_cache(maxsize=200_000)
def _kana_plain(f: NameForms) -> tuple[tuple[str, ...], ...]:
    """A katakana name's readings, and each with the vowel katakana writes after a final consonant taken off
    ("ジュ・ヒョク" ju hyoku: Ju Hyok; "キム" kimu: Kim; "アショット" ashoto: Ashot), where three letters stay."""
    plain = tuple(w[:-1] if len(w) > 3 and _KANA_FINAL.search(w) else w for w in f.tokens)
    return _readings(f) + ((plain,) if plain != f.tokens else ())


def name_similarity(a: NameForms, b: NameForms, low: float = 0.0) -> float:
    """How alike two names are, ignoring case, accents, script, word order, spacing and legal form.

    With `low`, a similarity below `low` may come back lower than it is (the comparison of sounds is skipped
    when its upper bound cannot reach `low` nor beat the spellings): a caller that keeps only the best score
    at or above a floor learns the same and pays less."""
    best = 0.0
    kana_a, kana_b = a.script == "kana", b.script == "kana"
    for ra in _kana_plain(a) if kana_a and not kana_b else _readings(a):
        ja, glued_a = _joined(ra)
        for rb in _kana_plain(b) if kana_b and not kana_a else _readings(b):
            jb, glued_b = _joined(rb)
            if ja == jb or glued_a == glued_b:
                return 1.0
            if not _may_match(ra, rb):
                continue
            joined = Indel.normalized_similarity(ja, jb)
            # "Novo Vyatka" ~ "Novovyatka": the same letters spaced otherwise (not a word more: "Ali Barzan...")
            spacing = joined if len(ra) != len(rb) and joined >= 0.93 and abs(len(ja) - len(jb)) <= 2 else 0.0
            best = max(best, _align(ra, rb), spacing)
    if best < 1.0 and a.script != b.script:  # Arabic or katakana against Latin: what both scripts keep
        kana = "kana" in (a.script, b.script)
        p = "cyrillic" in (a.script, b.script)  # Cyrillic tells p from b and v (Ветров is not PETROV)
        a, b = _untitled(a, b), _untitled(b, a)  # "シェイク" / "Sheikh" written on one side only
        sa, sb = _sounds(a, kana, kana, p), _sounds(b, kana, kana, p)
        if _sound_may_reach(sa, sb, max(low, best) / LOSSY):
            best = max(best, LOSSY * _sound_similarity(sa, sb, not kana))
        if best < 1.0 and "abjad" in (a.script, b.script):
            for va in _abjad_readings(a, b):
                for vb in _abjad_readings(b, a):
                    if va is not a or vb is not b:
                        sa, sb = _sounds(va, kana), _sounds(vb, kana)
                        if _sound_may_reach(sa, sb, max(low, best) / LOSSY):
                            best = max(best, LOSSY * _sound_similarity(sa, sb, not kana))
        if best < 1.0 and kana_a != kana_b:
            kana_f, other = (a, b) if kana_a else (b, a)
            best = max(best, LOSSY * _korean_given_name(kana_f, other))
            if best < 1.0 and "-" in other.original:  # "Alfa-bank" is one katakana word: アルファバンク
                joined = _sounds(forms(other.original.replace("-", "")), True, True)
                best = max(best, LOSSY * _sound_similarity(_sounds(kana_f, True, True), joined))
    return best


@lru_cache(maxsize=200_000)
def _unhyphenated(f: NameForms) -> tuple[str, ...] | None:
    """A Latin name's katakana sounds with its hyphenated words as one (candidate generation's side of the
    rule above: "Alfa-bank", "AL-SENUSSI" アルサヌーシ); None when nothing is hyphenated."""
    if f.script != "latin" or "-" not in f.original:
        return None
    joined = _sound_words(forms(f.original.replace("-", "")), True)
    return joined if joined and joined != _sound_words(f, True) else None


def _untitled(f: NameForms, other: NameForms) -> NameForms:
    """The name without its titles when the other writes none (`_without_titles` across scripts)."""
    if TITLES.isdisjoint(f.tokens) or not TITLES.isdisjoint(other.tokens):
        return f
    return replace(f, tokens=tuple(t for t in f.tokens if t not in TITLES) or f.tokens)


_PERSIAN = str.maketrans("ضذثق", "ززسغ")  # as Persian, Dari and Pashto say them: Reza, Azar, Araghi
_WALAD = re.compile(r"\s+ولد\s.*")  # "... walad ...": son of, the father's name Latin spellings leave off
_FRENCH_CH = re.compile(r"ch", re.IGNORECASE)


@lru_cache(maxsize=100_000)
def _abjad_readings(f: NameForms, other: NameForms) -> tuple[NameForms, ...]:
    """Other readings of a name against Arabic script. Arabic script: its letters as Persian says them
    ("احمدرضا" Ahmad-Reza, "عراقی" Araghi), and the name without the father's ("... ولد حاجی حضرت گل").
    A Latin name against Arabic script without چ: a French ch is ش ("Chouman" شومان, "Charia")."""
    if f.script == "abjad":
        texts = {f.original}
        if len((head := _WALAD.sub("", f.original)).split()) >= 3:  # not a given name alone: Abd al-Rahman
            texts.add(head)
        texts |= {t.translate(_PERSIAN) for t in texts}
    elif other.script == "abjad" and "چ" not in other.original and "ch" in "".join(f.tokens):
        texts = {f.original, _FRENCH_CH.sub("sh", f.original)}
    else:
        return (f,)
    return (f, *(forms(t) for t in texts if t != f.original))


@lru_cache(maxsize=200_000)
def _korean_key(f: NameForms) -> str | None:
    """The key a Korean name is found by across katakana and Latin (see `_korean_given_name`): the sounds of
    surname and glued given name, unvoiced; for a katakana name of two words or a Latin one of three syllables."""
    words = f.tokens
    if f.script == "kana" and len(words) == 2:
        found = sounds(words, kana=True, written_kana=True)
    elif f.script == "latin" and len(words) == 3 and all(map(_SYLLABLE.match, words)):
        found = sounds((words[0], _KOREAN_HW.sub("f", words[1] + words[2])), kana=True)
    else:
        return None
    return "%k" + " ".join(found).translate(_DEVOICED) if len(found) == 2 else None


# One Korean syllable as McCune-Reischauer writes it without marks: consonant(s), vowel(s), final k, l, m, n, ng, p, t.
_SYLLABLE = re.compile(r"(?:[bdghjklmnprst]|ch|kk|pp|ss|tt|jj)?[wy]?(?:[aeiou]|ae|oe|ui|eo|eu|wa|wo)(?:ng|[klmnpt])?$")
_DEVOICED = str.maketrans("gd", "kt")  # katakana voices a Korean syllable's k, t, ch inside a name (ギョン: Kyong)
_KOREAN_HW = re.compile(r"hw")  # katakana writes hwa as fa ("ギョンファン" Kyong Hwan)


@lru_cache(maxsize=200_000)
def _korean_given_name(kana: NameForms, other: NameForms) -> float:
    """A Korean name: katakana writes the given name as one word, voiced inside ("キム・ギョンイル" kimu gyoniru),
    that Latin writes as two syllables ("KIM KYONG IL"): the Latin name's last two short words glued, k/g and
    t/d (ch/j) one sound. All or nothing."""
    words = other.tokens
    if len(words) < 3 or len(words) != len(kana.tokens) + 1 or not all(map(_SYLLABLE.match, words)):
        return 0.0
    glued = (*words[:-2], _KOREAN_HW.sub("f", words[-2] + words[-1]))
    mine = tuple(w.translate(_DEVOICED) for w in _sounds(kana, True, True))
    theirs = tuple(w.translate(_DEVOICED) for w in sounds(glued, kana=True, vowel=True))
    # Korean names are short: one syllable's consonant otherwise is another person (Kim Chol Nam / KIM CHOL SAM)
    return 1.0 if _sound_similarity(mine, theirs) == 1.0 else 0.0


LOSSY = 0.95  # a name matched only on the consonants a script without vowels keeps proves a little less


_SUN = frozenset("tdrzsln")  # Latin initials of the Arabic "sun" letters the article assimilates to


def _keep_p(token: str) -> str:
    """p kept apart from b, v and f against Cyrillic, which writes them apart ("Петров" is Petrov, not Vetrov).
    Not against katakana: it writes Russian as heard (Рябцева, "ryaputseva") and Korean p/b as either."""
    return token.replace("ph", "f").replace("p", "P")


@lru_cache(maxsize=200_000)
def _sounds(f: NameForms, kana: bool = False, vowel: bool = False, p: bool = False) -> tuple[str, ...]:
    """Sounds of the name's words; read as katakana would write them when compared with katakana ("Ivanov"
    / "iwanofu": w is v; "Putin" / "puchin": ch is t), with each word's first vowel when scoring against it; with
    `p`, p kept apart from b where the other script writes them apart."""
    tokens = f.tokens
    tokens = tuple(_keep_p(t) for t in tokens) if p else tokens
    return sounds(tokens, abjad=f.script == "abjad", kana=kana, vowel=vowel, written_kana=f.script == "kana")


@lru_cache(maxsize=500_000)
def _sound_sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 3:
        return 0.0
    return Indel.normalized_similarity(a, b)


def _consonants(words: list[str]) -> int:
    return sum(len(w) for w in words) - sum(w.count(v) for w in words for v in "aiu")  # vowels kept for katakana


@lru_cache(maxsize=200_000)
def _sound_side(words: tuple[str, ...]) -> tuple[int, str]:
    """What `_sound_similarity` needs of one name alone, once per name: its consonant count and its words glued
    (doubled letters once), both on a katakana word's first reading."""
    first = [w.split("|")[0] for w in words]
    return _consonants(first), _DOUBLES.sub(_ONE, "".join(first))


def _letters(words: tuple[str, ...]) -> int:
    return sum(len(w.split("|")[0]) for w in words)


def _sound_similarity(a: tuple[str, ...], b: tuple[str, ...], regroup: bool = False) -> float:
    """Consonant sounds aligned word by word, or glued: one word in one script may be two in another
    ("عبدالرقیب" / "ABDUL RAQIB"), with `regroup` in another order too. A name must keep enough letters to
    say anything (>= 5 consonants)."""
    if not _sound_enough(a, b):
        return 0.0
    respaced = _respaced(a, b)
    glued = _sound_glued(a, b)
    a = _resolved(a, tuple(x for w in b for x in w.split("|")))
    b = _resolved(b, a)
    best = max(_align_with(a, b, _sound_sim), glued)
    if regroup and respaced and best < 1.0:
        # Two words of one script are one of the other in another order ("دلاور شهاب الدين" / "Shahabuddin
        # Delawar"): the longer name's neighbours glued, up to two pairs, then aligned in any order. Not against
        # katakana: it merges too many sounds (j/d, l/r, its added vowels) for a glued word to say enough
        # ("Saidullah Jan" / サドルッディン, "Mariya Butina" / ムラービトゥーン).
        longer, other = (a, b) if len(a) > len(b) else (b, a)
        merged = [longer]
        for _ in range(min(2, len(longer) - len(other))):
            merged = [m for words in merged for m in _glued_pairs(words, other)]
            for words in merged:
                pair = (words, b) if longer is a else (a, words)
                best = max(best, _align_with(*pair, _sound_sim))
    return best


def _glued_pairs(words: tuple[str, ...], other: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Each pair of neighbours as one word (the second's vowel off: against katakana a word keeps its first)
    where the glued word is nearly a word of `other`. Words of two consonants or more only: a short word
    glued on is a word more ("ABDUL MANAN AGHA"), and one consonant otherwise another name (Chol Nam / Chol Sam)."""
    out = []
    for i in range(len(words) - 1):
        if _consonants([words[i]]) < 2 or _consonants([words[i + 1]]) < 2:
            continue
        glued = words[i] + _FIRST_CLASS.sub("", words[i + 1], 1)
        if max(_sound_sim(glued, y) for y in other) >= 0.9:
            out.append((*words[:i], glued, *words[i + 2 :]))
    return out


_FIRST_CLASS = re.compile(r"[au]")  # sounds keep no vowel but a word's first, as its class (a or u)


def _sound_enough(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return bool(a and b) and min(_sound_side(a)[0], _sound_side(b)[0]) >= 5


def _respaced(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The same letters may be spaced otherwise: not a word more ("Sa'd Sabawi ..." is not "Sabawi ...")."""
    return len(a) != len(b) and abs(_letters(a) - _letters(b)) <= 2


def _sound_glued(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Both names glued, if respaced."""
    if not _respaced(a, b):
        return 0.0
    ja, jb = _sound_side(a)[1], _sound_side(b)[1]
    glued = Indel.normalized_similarity(ja, jb) if ja[:1] == jb[:1] else 0.0
    return glued if glued >= 0.93 else 0.0


@lru_cache(maxsize=200_000)
def _sound_letters(words: tuple[str, ...]) -> tuple[dict[str, int], int, int, tuple[str, ...]]:
    """Of any readings `_resolved` may choose: the most of each letter, the fewest and the most letters a word
    can match (an empty reading aligns as one letter, as `_align_with` weighs initials), and every reading."""
    most: Counter[str] = Counter()
    fewest = matchable = 0
    for w in words:
        readings = w.split("|")
        fewest += min(map(len, readings))
        matchable += max(1, *map(len, readings))
        letters = Counter(readings[0])
        for r in readings[1:]:
            letters |= Counter(r)
        if "" in readings:
            letters[""] = 1
        most.update(letters)
    return dict(most), fewest, matchable, tuple(r for w in words for r in w.split("|"))


_BOUND_SLACK = 1e-9  # float rounding of the scores a bound stands above


def _sound_may_reach(a: tuple[str, ...], b: tuple[str, ...], need: float) -> bool:
    """False when `_sound_similarity(a, b)` (entry first) surely stays below `need`, at a fraction of its cost;
    the bound is read off its own parts, cheapest first.

    `_sound_sim` is Indel similarity (2 x common subsequence / letters of both; equal short words count so too),
    so the Dice of `_align_with` is at most twice the letters both names hold, and twice the letters of the
    shorter's words, over the letters of both. Names spaced otherwise are compared exactly. Beyond that, only a
    missing word forgiven scores more: its factor times the mean of the shorter's word similarities, each at
    best its best `_sound_sim` with any reading of the other's words, and all at least TOKEN_MATCH (or the
    score is capped at SUBSTITUTED, below the Dice)."""
    if not _sound_enough(a, b):
        return need <= 0.0
    need -= _BOUND_SLACK
    (most_a, fewest_a, _, _), (most_b, fewest_b, _, _) = _sound_letters(a), _sound_letters(b)
    short, other = (a, b) if len(a) <= len(b) else (b, a)
    if _respaced(a, b):
        return True  # respaced names are also compared glued, and with neighbours glued: computed as scored
    matchable, letters = _sound_letters(short)[2], fewest_a + fewest_b
    if not letters or 2 * matchable / letters >= need:  # then count the letters both hold
        common = min(matchable, sum(min(n, most_b.get(ch, 0)) for ch, n in most_a.items()))
        if not letters or 2 * common / letters >= need:
            return True
    missing = len(other) - len(short)
    if short is not a or len(a) < 2 or not 1 <= missing <= 2:  # `_align_with` forgives no missing word
        return False
    wanted = need * len(a) / (ONE_MISSING if missing == 1 else TWO_MISSING)  # the sum of similarities needed
    readings = _sound_letters(other)[3]
    left = len(a)
    for w in a:
        best = max(max(map(_sound_sim, repeat(x), readings)) for x in w.split("|"))
        left -= 1
        wanted -= best
        if best < TOKEN_MATCH or wanted > left:
            return False
    return True


def _resolved(words: tuple[str, ...], other: tuple[str, ...]) -> tuple[str, ...]:
    """Each word offering two readings ("kursnb|karsnb") as the one nearer a word of the other name (the
    alignment weighs words by their letters: one reading, not both)."""
    return tuple(
        max(w.split("|"), key=lambda x: max(_sound_sim(x, y) for y in other)) if "|" in w else w for w in words
    )


def _dates_verdict(a: tuple[PartialDate, ...], b: tuple[PartialDate, ...]) -> tuple[float, str | None, bool]:
    """(adjustment, words, agreed) for the closest pair of dates both sides give."""
    best: tuple[float, str | None, bool] | None = None
    for x in a:
        for y in b:
            if x.year != y.year:
                gap = abs(x.year - y.year)
                verdict = (-0.05 if gap == 1 else -0.15, f"date {x} vs {y}", False)
            elif x.month and y.month and x.month != y.month:
                verdict = (-0.1, f"date {x} vs {y}", False)
            elif x.month and y.month and x.day and y.day and x.day != y.day:
                verdict = (-0.05, f"date {x} vs {y}", False)
            else:
                exact = bool(x.month and y.month and x.day and y.day)
                verdict = (0.06 if exact else 0.03, f"date {x if x.month else y}", True)
            if best is None or verdict[0] > best[0]:
                best = verdict
    return best or (0.0, None, False)


MAX_BONUS = 0.08  # dates and country agreeing add at most this much to the name score


def compare(entry: Party, subject: Party, entry_forms: list[NameForms] | None = None, floor: float = 0.0) -> Hit | None:
    """Score one entry against one designated party; None when it surely scores below `floor`."""
    entry_forms = entry_forms or [forms(n) for n in entry.names]
    ids_a = {(k, v) for k, v, _ in entry.identifiers}
    shared = [label for k, v, label in subject.identifiers if any(v == va for _, va in ids_a)]
    subject_forms = [forms(n) for n in subject.names]
    name_score, entry_name, matched = 0.0, entry.name, subject.name
    low = 0.0 if shared else floor - MAX_BONUS  # a name below this makes no hit: its score is not needed exactly
    for ef in entry_forms:
        for sf in subject_forms:
            s = name_similarity(ef, sf, max(low, name_score))
            if s > name_score:
                name_score, entry_name, matched = s, ef.original, sf.original
    if not shared and name_score + MAX_BONUS < floor:
        return None
    hit = Hit(entry, subject, name_score, name_score, entry_name, matched)
    if name_score >= 0.5:
        hit.agreed.append(f"name {entry_name!r} ~ {matched!r} ({name_score:.2f})")
    score = name_score

    if shared:
        score = max(score, 1.0)
        hit.agreed.append(f"identifier {shared[0]}")
    else:
        kinds_b = {(k, v, label) for k, v, label in subject.identifiers if k != "other"}
        for k, v, label in kinds_b:
            mine = [va for ka, va in ids_a if ka == k]
            if mine and v not in mine:
                score -= 0.15
                hit.disagreed.append(f"{k} {mine[0]} vs {label}")
                break

    adjust, words, agreed = _dates_verdict(entry.dates, subject.dates)
    if words:
        score += adjust
        (hit.agreed if agreed else hit.disagreed).append(words)

    if entry.countries and subject.countries:
        common = entry.countries & subject.countries
        if common:
            score += 0.02
            hit.agreed.append("country " + ", ".join(sorted(c.upper() for c in common)))
        else:
            score -= 0.08
            hit.disagreed.append(
                f"country {', '.join(sorted(c.upper() for c in entry.countries))} vs "
                f"{', '.join(sorted(c.upper() for c in subject.countries))}"
            )

    a_type, b_type = entry.entity_type, subject.entity_type
    if a_type and b_type and a_type != "unknown" and b_type != "unknown" and a_type != b_type:
        if (a_type in _PERSON_LIKE) != (b_type in _PERSON_LIKE) or {a_type, b_type} <= _THING_LIKE:
            score -= 0.2
            hit.disagreed.append(f"type {a_type} vs {b_type}")
    hit.score = max(0.0, min(1.0, score))
    return hit


def _onset_key(key: str) -> str:
    """A skeleton filed with its first vowel as its _ONE_VOWEL partner ("omr" and "umr" are one key)."""
    return {"o": "u", "e": "i"}.get(key[:1], key[:1]) + key[1:]


@lru_cache(maxsize=500_000)
def _token_keys(t: str) -> frozenset[str]:
    """Keys one word is found by: itself, its spelling skeleton, and (long words, where a typo leaves the
    start, the end or both ends as written) its first and last four letters."""
    if len(t) < 2:
        return frozenset()
    keys = {t}
    if len(t) >= 4:
        keys.add("~" + _onset_key(skeleton(t)))
    if len(t) >= 6:
        keys.update(("<" + t[:4], ">" + t[-4:], "^" + t[:2] + t[-2:]))
    return frozenset(keys)


Unit = tuple[frozenset[str], int, str]  # keys to look up, how many words they stand for, the word as written


def _glue(a: str, b: str, sound: bool) -> str:
    return _DOUBLES.sub(_ONE, a + b) if sound else a + b


@lru_cache(maxsize=500_000)
def _sound_keys(w: str) -> frozenset[str]:
    """Keys one word's consonants are found by: the consonants, and (four or more) each with one left out, so
    that a consonant one script writes and the other does not ("Network" / "netowaku", "Iljinykh" /
    "irinuifu") or writes otherwise still meets."""
    keys = {"%" + w}
    if len(w) >= 4:
        keys.update("%-" + w[:i] + w[i + 1 :] for i in range(len(w)))
    return frozenset(keys)


@lru_cache(maxsize=200_000)
def _posted(words: tuple[str, ...], sound: bool = False, glue: tuple[str, ...] | None = None) -> frozenset[str]:
    """Keys an entry's name is filed under: each word's keys, and two neighbours glued ("+novovyatka"; from
    `glue`, the words as written, where they differ: an Arabic article glued to a word stays on it)."""
    p = "%" if sound else ""
    keys: set[str] = set()
    for w in words:
        keys |= _sound_keys(w) if sound else _token_keys(w)
    glue = words if glue is None else glue
    keys.update(p + "+" + _glue(a, b, sound) for a, b in zip(glue, glue[1:], strict=False))
    return frozenset(keys)


@lru_cache(maxsize=200_000)
def _units(words: tuple[str, ...], sound: bool = False, glue: tuple[str, ...] | None = None) -> list[Unit]:
    """What a subject's name is looked up by: each word (weight 1), each word as an entry's two words glued,
    and two neighbours glued as an entry's one word (weight 2: "Novo Vyatka" ~ "Novovyatka" both ways)."""
    p = "%" if sound else ""
    units: list[Unit] = [(_sound_keys(w) if sound else _token_keys(w), 1, p + w) for w in words]
    units += [(frozenset({p + "+" + w}), 2, p + "+" + w) for w in words]
    glue = words if glue is None else glue
    for a, b in zip(glue, glue[1:], strict=False):
        glued = p + _glue(a, b, sound)
        units.append((frozenset({glued}), 2, glued))
    return [u for u in units if u[0]]


def _keyed(words: tuple[str, ...]) -> int:
    """Words that can be looked up (initials and single characters have no keys: "K D Rubber", "Mining No 2")."""
    return max(1, sum(1 for w in words if len(w) >= 2))


@lru_cache(maxsize=200_000)
def _blocking(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words a candidate must share, while two stay: not those one list writes and another leaves off as
    often (titles, particles, a patronymic chain): "Imad ben al-Mekki ben al-Akhdar
    al-Zarkaoui" / "ZARKAOUI, Imed Ben Mekki Ben Al-Akhdar", "Maulawi Ahmed Shah" / "Mullah Ahmed Shah NOORZAI",
    "Hamada Ould Mohamed Lemine Ould Mohamed el Khairy" / "EL KHAIRY, Hamad"."""
    lineage = _lineage(words)
    kept = tuple(w for w in words if w not in TITLES and w not in PARTICLES and w not in lineage)
    return kept if _keyed(kept) >= 2 else words


def _needed(subject_words: int, entry_words: int) -> int:
    """Words that must be shared before comparing: all of the shorter name's, and all but one of the longer's
    (all but two when the entry is the shorter: a score at the threshold needs them, Dice over letters, one or
    two missing words forgiven); a one-word name against a longer one only when glued."""
    low, high = sorted((subject_words, entry_words))
    missing = 2 if entry_words < subject_words else 1  # two only from the entry: it may drop two middle names
    return max(1, high if low <= 1 else max(low, high - missing))


class _Postings:
    """Key -> readings (one name of one entry, read one way), with each reading's entry and word count."""

    def __init__(self) -> None:
        self.keys: dict[str, list[int]] = defaultdict(list)
        self.readings: list[tuple[int, int]] = []
        self._sets: dict[str, set[int]] = {}
        self._entry: list[int] = []  # reading -> entry
        self._width: list[int] = []  # reading -> its word count
        self._need: dict[tuple[int, int], list[int]] = {}  # (subject's words, slack) -> shared words needed by width
        self._looked: dict[Unit, tuple[tuple[int, ...], tuple[list[str], int] | None]] = {}  # see _look

    def add(self, entry: int, keys: frozenset[str], words: int) -> None:
        rid = len(self.readings)
        self.readings.append((entry, words))
        self._entry.append(entry)
        self._width.append(words)
        self._looked.clear()
        self._need.clear()
        for key in keys:
            self.keys[key].append(rid)

    def _set(self, key: str) -> set[int]:
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = set(self.keys[key])
        return found

    def _look(self, unit: Unit) -> tuple[tuple[int, ...], tuple[list[str], int] | None]:
        """What one unit adds: the readings it proposes (each `weight` times), or the keys of a common word
        counted only for readings proposed otherwise; neither when no key is posted. Cached per unit: the
        same words come back in thousands of names."""
        keys, weight, word = unit
        keys_of = self.keys
        exact = keys_of.get(word)
        present = [k for k in keys if k in keys_of]
        if not present:
            return (), None
        if exact is not None and len(exact) > MAX_POSTINGS:
            return (), ([k for k in present if k == word or k[0] == "~"], weight)
        rids: set[int] = set()
        for k in present:
            posted = keys_of[k]
            if len(posted) <= MAX_POSTINGS:
                rids.update(posted)
        if rids:
            return tuple(rids) * weight, None
        return (), (present, weight)

    def propose(self, units: list[Unit], words: int, slack: int, found: set[int]) -> None:
        """Entries whose reading shares enough of the subject's words. Rare words propose; a common word
        ("bank", "mohammed": more than MAX_POSTINGS readings, its spellings not looked up) only counts for
        readings proposed otherwise, or, in a name of common words only, the readings holding all of them.

        Counting runs in C (Counter over each unit's readings, set intersections for common words): a
        screening run proposes millions of (word, reading) pairs."""
        proposed: list[tuple[int, ...]] = []
        common: list[tuple[list[str], int]] = []
        looked = self._looked
        for unit in units:
            found_unit = looked.get(unit)
            if found_unit is None:
                found_unit = looked[unit] = self._look(unit)
            rids, shared = found_unit
            if rids:
                proposed.append(rids)
            elif shared is not None:
                common.append(shared)
        counts: Counter[int] = Counter(chain.from_iterable(proposed))
        if not counts and common:
            sets = [set().union(*(self._set(k) for k in keys)) for keys, _ in common]
            for rid in set.intersection(*sets):
                counts[rid] = 0
        if common:
            for keys, weight in common:
                holding: set[int] = set()
                for k in keys:
                    holding |= counts.keys() & self._set(k)
                for rid in holding:
                    counts[rid] += weight
        if not counts:
            return
        need = self._need.get((words, slack))
        if need is None:  # shared words needed, by the reading's word count
            need = self._need[words, slack] = [_needed(words, w) - slack for w in range(max(self._width) + 1)]
        width, entry = self._width, self._entry
        found.update([entry[rid] for rid, count in counts.items() if count >= need[width[rid]]])


@lru_cache(maxsize=200_000)
def _sound_words(f: NameForms, kana: bool = False) -> tuple[str, ...]:
    """The consonant sounds of a name's words that say something (two letters or more: "Asim" is "sm")."""
    return tuple(w for w in _sounds(f, kana) if len(w) >= 2)


@lru_cache(maxsize=200_000)
def _sound_glue(f: NameForms, kana: bool = False) -> tuple[str, ...]:
    """Sounds of the words as written, for gluing neighbours: "عبد الرقيب" glues to "ABDULRAQIB" with its "al"."""
    if f.script != "abjad":
        return _sounds(f, kana)
    # The article stays on a "moon" letter ("Abdulqadir") and melts into a "sun" letter ("Shamsuddin").
    tokens = tuple(t[2:] if t.startswith("al") and t[2:3] in _SUN else t for t in f.tokens)
    return sounds(tokens, kana=kana)


class Index:
    """Watchlist entries indexed for screening; build once per watchlist version, screen many designations."""

    def __init__(self, entries: Iterable[Party]) -> None:
        self.entries: list[Party] = list(entries)
        self._forms: list[list[NameForms]] = []
        self._ids: dict[str, list[int]] = defaultdict(list)
        self._words = _Postings()
        # Sound keys of every entry (asked by a name in another script), and of non-Latin entries only (asked by
        # a Latin name): a Latin name against Latin entries needs none of them.
        self._sound_all = _Postings()
        self._sound_lossy = _Postings()
        self._kana_all = _Postings()  # the same, as katakana would write them
        self._kana_lossy = _Postings()
        for i, entry in enumerate(self.entries):
            fs = [forms(n) for n in entry.names]
            self._forms.append(fs)
            for f in fs:
                for reading in _readings(f):
                    words = _blocking(reading)
                    self._words.add(i, _posted(words, False, reading), _keyed(words))
                for postings, kana in ((self._sound_all, False), (self._kana_all, True)):
                    sound = _sound_words(f, kana)
                    if sound or len(_sound_glue(f, kana)) > 1:
                        keys = _posted(sound, True, _sound_glue(f, kana))
                        if kana and (korean := _korean_key(f)):
                            keys |= {korean}
                        postings.add(i, keys, len(sound))
                        if f.lossy:
                            (self._kana_lossy if kana else self._sound_lossy).add(i, keys, len(sound))
                if (joined := _unhyphenated(f)) is not None:  # asked by katakana names only
                    self._kana_all.add(i, _posted(joined, True, joined), len(joined))
            for _, value, _ in entry.identifiers:
                self._ids[value].append(i)

    def __len__(self) -> int:
        return len(self.entries)

    def candidates(self, subject: Party) -> set[int]:
        """Entries sharing enough distinctive words (or sounds, across scripts) with one of the subject's names,
        or an identifier."""
        return set(self._proposals(subject))

    def _proposals(self, subject: Party) -> dict[int, list[str]]:
        """Candidate entry -> the subject's names that proposed it (every name, for a shared identifier)."""
        found: dict[int, list[str]] = defaultdict(list)
        for name in subject.names:
            f = forms(name)
            mine: set[int] = set()
            for reading in _readings(f):
                words = _blocking(reading)
                self._words.propose(_units(words, False, reading), _keyed(words), 0, mine)
            kana = f.script == "kana"
            for postings, as_kana in (
                (self._sound_all if f.lossy else self._sound_lossy, False),
                ((self._kana_all if kana else self._kana_lossy), True),
            ):
                sound = _sound_words(f, as_kana) if postings.readings else ()
                if sound or (postings.readings and len(_sound_glue(f, as_kana)) > 1):
                    units = _units(sound, True, _sound_glue(f, as_kana))
                    if as_kana and (korean := _korean_key(f)):
                        units = [*units, (frozenset({korean}), len(sound), korean)]  # the whole name's key
                    postings.propose(units, len(sound), 1 if as_kana and len(sound) > 2 else 0, mine)
            if not kana and self._kana_lossy.readings and (joined := _unhyphenated(f)) is not None:
                self._kana_lossy.propose(_units(joined, True, joined), len(joined), int(len(joined) > 2), mine)
            for i in mine:
                found[i].append(name)
        for _, value, _ in subject.identifiers:
            for i in self._ids.get(value, ()):
                found[i] = list(subject.names)
        return found

    def screen(self, subject: Party, threshold: float = DEFAULT_THRESHOLD) -> list[Hit]:
        """Entries scoring at least `threshold` against the subject, best first. Each entry is compared with
        the subject's names that proposed it (a record may carry dozens of aliases)."""
        hits = []
        parties: dict[tuple[str, ...], Party] = {subject.names: subject}  # one per set of names, not per entry
        for i, names_ in self._proposals(subject).items():
            party = parties.get(key := tuple(names_)) or parties.setdefault(key, replace(subject, names=key))
            hit = compare(self.entries[i], party, self._forms[i], floor=threshold)
            if hit is not None and hit.score >= threshold:
                hit.subject = subject
                hits.append(hit)
        return sorted(hits, key=lambda h: (-h.score, str(h.entry.ref)))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Screen a whole list with Python's cycle collector paused: screening allocates millions of small
    objects (name forms, candidate counts) and makes no cycles, and each collection would walk every live
    object (the parsed records too): about a third of a 10,000 x 24,000 run."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def screen_payload(index: Index, payload: dict[str, Any], threshold: float = DEFAULT_THRESHOLD) -> list[Hit]:
    """Screen one designation payload; other kinds of record (export controls, news) never match."""
    if payload.get("kind") not in (None, "designation") or not index.entries:
        return []
    return index.screen(designation_party(payload), threshold)
