"""Names turned into comparable forms: one Latin spelling, folded, legal forms and honorifics set aside.

Screening and news linking compare names written in many ways ("ПАО Банк ВТБ", "VTB Bank PJSC", "Bank VTB");
both need the same forms, so both use this module. Transliteration and the legal-form database come from
`rigour` (OpenSanctions' name library, ICU underneath); Japanese is read with `pykakasi` (Hepburn), since a
generic transliterator reads kanji as Chinese.

    normalize("ПАО «Банк ВТБ»")  -> "bank vtb"
    latin("ПАО «Банк ВТБ»")      -> "PAO <<Bank VTB>>"
    name_keys("PJSC VTB Bank")   -> {"bank vtb", "bankvtb", ...}   (word order ignored)
    legal_form("ООО Ромашка")    -> "llc"
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rigour.names import extract_org_types, remove_org_types
from rigour.text import ascii_text

__all__ = ["NameForms", "fold", "forms", "latin", "legal_form", "name_keys", "normalize", "skeleton", "tokens"]

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_ABJAD = re.compile(r"[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# Japanese legal forms, written before transliteration (kanji would otherwise be read as Chinese).
_JA_FORMS = re.compile(
    r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|公益社団法人|公益財団法人|"
    r"[（(]\s*[株有同]\s*[)）]|[㈱㈲]|カブシキガイシャ|ユウゲンガイシャ"
)
# Legal forms and company words rigour's database leaves in (romanized Japanese, Russian state forms, English).
_EXTRA_FORMS = re.compile(
    r"\b(?:kabushiki\s*g?kaisha|kabushikigaisha|yu+gen\s*g?kaisha|yu+gengaisha|godo\s*g?kaisha|k\s*k|"
    r"company|co|corp|corporation|incorporated|eood|ead|ad|fgup|fgbu|gup|mup|ano|pvt|private)\b"
)
# Only forms of address: rigour's longer list ("Emperor", "Sheikh", "Qari") also holds words of real names.
HONORIFICS = frozenset("mr mrs ms miss dr prof sir madam mme mlle herr frau".split())
_ABBREV_DOT = re.compile(r"(?<=\b\w)\.")
_NOT_WORD = re.compile(r"[^\w]+|_")
_APOSTROPHES = re.compile(r"['’`ʼʹ]")
_VOWELS = re.compile(r"[aeiouy]+")
_DOUBLES = re.compile(r"(.)\1+")
# Common spellings of one sound in romanized Russian and Japanese ("Yuzhnyy" / "Iuzhnyi", "Shouten" / "Shoten").
_SPELLINGS = (
    ("shch", "sh"),
    ("kh", "h"),
    ("ts", "z"),
    ("tz", "z"),
    ("ye", "e"),
    ("yo", "e"),
    ("yu", "u"),
    ("iu", "u"),
    ("ya", "a"),
    ("ia", "a"),
    ("iy", "i"),
    ("yy", "i"),
    ("yi", "i"),
    ("ii", "i"),
    ("ou", "o"),
    ("uu", "u"),
    ("oo", "o"),
    ("j", "y"),
    ("w", "v"),
    ("x", "ks"),
    ("ph", "f"),
    ("q", "k"),
    ("ck", "k"),
)


@lru_cache(maxsize=1)
def _kakasi():  # noqa: ANN202 - pykakasi has no types; loaded on first Japanese name only
    import pykakasi

    return pykakasi.kakasi()


def _japanese(text: str) -> str:
    """Hepburn without long vowels, as companies write themselves ("Shoji", not "Shouji")."""
    words = " ".join(item["hepburn"] for item in _kakasi().convert(text) if item["hepburn"].strip())
    return words.replace("ou", "o").replace("uu", "u")


def is_japanese(text: str) -> bool:
    return bool(_KANA.search(text) or _JA_FORMS.search(text))


def latin(name: str) -> str:
    """The name in Latin letters (ASCII), case kept where the script has case: Cyrillic, Arabic, Greek,
    Japanese (Hepburn), Chinese (pinyin)..."""
    text = unicodedata.normalize("NFKC", name)
    if is_japanese(text):
        text = _japanese(_JA_FORMS.sub(" kabushiki kaisha ", text) if _JA_FORMS.search(text) else text)
    return ascii_text(text)


def fold(text: str) -> str:
    """Lower case, accents off, punctuation to spaces, "J.S.C." -> "jsc", single spaces (script kept)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub("", _ABBREV_DOT.sub("", text))
    return " ".join(_NOT_WORD.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class NameForms:
    """Everything a comparison needs from one name, computed once."""

    original: str
    tokens: tuple[str, ...]  # Latin, folded, legal forms and honorifics removed, in written order
    legal_form: str | None  # generic class of the legal form ("llc", "jsc", ...), if one was written
    alternatives: tuple[tuple[str, ...], ...]  # other readings (pinyin for kanji-only names)
    vowelless: bool = False  # written in Arabic or Hebrew script: short vowels absent, compare skeletons

    @property
    def normalized(self) -> str:
        return " ".join(self.tokens)

    @property
    def sorted_key(self) -> str:
        return " ".join(sorted(self.tokens))


def _strip_forms(folded: str) -> tuple[list[str], str | None]:
    found = extract_org_types(folded, generic=True)
    kind = found[0][1] if found else None
    rest = _EXTRA_FORMS.sub(" ", remove_org_types(folded, replacement=" "))
    if kind is None and rest.split() != folded.split():
        kind = "company"
    words = [w for w in rest.split() if w not in HONORIFICS] if kind is None else rest.split()
    return (words or folded.split()), kind


@lru_cache(maxsize=200_000)
def forms(name: str) -> NameForms:
    """The comparable forms of a name (cached: the same names come back with every publication)."""
    text = unicodedata.normalize("NFKC", name or "")
    words, kind = _strip_forms(fold(latin(text)))
    alternatives: list[tuple[str, ...]] = []
    if _HAN.search(text) and not _KANA.search(text):
        # Kanji-only: read it as Japanese too (the first reading is pinyin unless a Japanese legal form says so).
        other = fold(ascii_text(text)) if is_japanese(text) else fold(_japanese(_JA_FORMS.sub(" ", text)))
        alt, _ = _strip_forms(other)
        if alt != words:
            alternatives.append(tuple(alt))
    return NameForms(
        original=name,
        tokens=tuple(words),
        legal_form=kind,
        alternatives=tuple(alternatives),
        vowelless=bool(_ABJAD.search(text)),
    )


def normalize(name: str) -> str:
    """The comparable form: Latin, folded, legal forms and honorifics removed, words in written order."""
    return forms(name).normalized


def tokens(name: str) -> list[str]:
    return list(forms(name).tokens)


def legal_form(name: str) -> str | None:
    """The generic class of the name's legal form ("llc", "jsc", "company"...), or None for none written."""
    return forms(name).legal_form


@lru_cache(maxsize=500_000)
def skeleton(token: str) -> str:
    """A token's spelling-insensitive key: transliteration variants merged, vowels and doubled letters dropped
    ("Mohammed", "Muhammad" and Arabic "محمد" -> "mhmd")."""
    for old, new in _SPELLINGS:
        token = token.replace(old, new)
    first, rest = token[:1], token[1:]
    return first + _DOUBLES.sub(r"\1", _VOWELS.sub("", rest))


def name_keys(name: str) -> set[str]:
    """Order-free keys of a name; two names sharing a key are written alike (equal up to word order, spacing,
    legal form, transliteration or vowels)."""
    f = forms(name)
    keys: set[str] = set()
    for words in (f.tokens, *f.alternatives):
        if not words:
            continue
        ordered = sorted(words)
        keys.add(" ".join(ordered))
        keys.add("".join(ordered))
        keys.add(" ".join(sorted(skeleton(w) for w in words)))
    return keys
