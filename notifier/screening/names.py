"""Names turned into comparable forms: one Latin spelling, folded, legal forms and honorifics set aside.

Screening and news linking compare names written in many ways ("ПАО Банк ВТБ", "VTB Bank PJSC", "Bank VTB");
both need the same forms, so both use this module. Scripts are read into Latin by `translit` (own tables and
wheels only, no ICU); legal forms come from the table below.

    normalize("ПАО «Банк ВТБ»")  -> "bank vtb"
    latin("ПАО «Банк ВТБ»")      -> "PAO <<Bank VTB>>"
    name_keys("PJSC VTB Bank")   -> {"bank vtb", "bankvtb", ...}   (word order ignored)
    legal_form("ООО Ромашка")    -> "llc"
    sound("Mohammed") == sound("mhmd") == "mhmd"   (what survives a script without written vowels)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from functools import lru_cache
from operator import itemgetter

from notifier.screening.translit import JA_FORMS, has_abjad, has_kana, is_japanese, japanese, latin

__all__ = [
    "NameForms",
    "fold",
    "forms",
    "is_japanese",
    "latin",
    "legal_form",
    "name_keys",
    "normalize",
    "skeleton",
    "sound",
    "tokens",
]

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
# Legal forms as they read once folded to Latin, by the generic class alerts and scores use. Short forms that
# are also words of names ("as", "ab", "ao", "sa") count only at either end of a name.
LEGAL_FORMS = {
    "llc": "llc|l l c|ooo|limited liability company|limited liability partnership company|ltd|limited|co ltd|"
    "company limited|gmbh|bv|b v|srl|s r l|sarl|s a r l|sro|s r o|sp z o o|spolka z oo|tov|too|fze|fzco|fzc|"
    "fz llc|fzllc|fze llc|dmcc|pte ltd|pvt ltd|private limited|pty ltd|pty|sdn bhd|bhd|oy|eood|ood|doo|d o o|"
    "kft|mchj|ltda|limitada|llc fz|wll|w l l|sociedad limitada|sas|s a s|"
    "obshchestvo s ogranichennoy otvetstvennostyu|obshchestvo s ogranichennoi otvetstvennostiu|"
    "obshestvo s ogranichennoy otvetstvennostyu|tovarystvo z obmezhenoyu vidpovidalnistyu|"
    "yugen kaisha|yugen gaisha|godo kaisha|godo gaisha|kabushiki kaisha|kabushiki gaisha|kabushikigaisha|kk|k k|"
    "kampani rimitedo|kanpani rimitedo|rimitedo|puraibeto rimitedo",  # katakana English ("カンパニー・リミテッド")
    "jsc": "jsc|j s c|pjsc|ojsc|cjsc|jsco|ao|pao|oao|zao|nao|ag|sa|s a|nv|n v|plc|spa|s p a|as|a s|asa|ab|ead|ad|"
    "sae|sal|joint stock company|joint-stock company|public joint stock company|open joint stock company|"
    "closed joint stock company|public company|public limited company|"
    "aktsionernoe obshchestvo|aktsionernoye obshchestvo|publichnoe aktsionernoe obshchestvo|"
    "publichnoye aktsionernoye obshchestvo|otkrytoe aktsionernoe obshchestvo|otkrytoye aktsionernoye obshchestvo|"
    "zakrytoe aktsionernoe obshchestvo|zakrytoye aktsionernoye obshchestvo|nepublichnoe aktsionernoe obshchestvo|"
    "aktsionerne tovarystvo|pat|prat",
    "state": "fgup|fgbu|fgbou|fgaou|gup|mup|fkp|gbu|ano|federalnoe gosudarstvennoe unitarnoe predpriyatie|"
    "federalnoe gosudarstvennoe byudzhetnoe uchrezhdenie|gosudarstvennoe unitarnoe predpriyatie|"
    "avtonomnaya nekommercheskaya organizatsiya|state unitary enterprise|federal state unitary enterprise",
    "llp": "llp|l l p|limited liability partnership",
    "lp": "lp|l p|limited partnership|kg|gmbh co kg|ohg",
    "company": "company|co|corp|corporation|incorporated|inc|pt|cv|ip|individualnyy predprinimatel|"
    "sole proprietorship|eirl|private|pvt|kampani|kanpani|koporeshon|kopore shon|inkoporeteddo",
}
_FORM_CLASS = {form: kind for kind, forms_ in LEGAL_FORMS.items() for form in forms_.split("|")}
_FORMS_ANYWHERE = re.compile(
    r"\b(?:" + "|".join(sorted((re.escape(f) for f in _FORM_CLASS if len(f) > 4), key=len, reverse=True)) + r")\b"
)
# Two-letter forms written before the name; others of two letters count only after it ("Sa Ahmed" is a name).
_PREFIX_FORMS = frozenset("ao pt cv ip kk".split())
_FORM_WORDS = 4  # the longest short form in words ("s a r l")
# Only forms of address: rigour's longer list ("Emperor", "Sheikh", "Qari") also holds words of real names.
HONORIFICS = frozenset("mr mrs ms miss dr prof sir madam mme mlle herr frau".split())
_ABBREV_DOT = re.compile(r"(?<=\b\w)\.")
_NOT_WORD = re.compile(r"[^\w]+|_")
_APOSTROPHES = re.compile(r"['’`ʼʹ]")
_VOWELS = re.compile(r"[aeiouy]+")
_DOUBLES = re.compile(r"(.)\1+")
_ONE = itemgetter(1)  # a doubled letter once (a callable: re.sub parses a "\\1" template on every call)
_FINAL_FF = re.compile(r"(?<=[oe])ff$")
# Common spellings of one sound in romanized Russian and Japanese ("Yuzhnyy" / "Iuzhnyi", "Shouten" / "Shoten").
_SPELLINGS = (
    ("shch", "sh"),
    ("zh", "j"),
    ("dj", "j"),
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


def fold(text: str) -> str:
    """Lower case, accents off, punctuation to spaces, "J.S.C." -> "jsc", single spaces (script kept)."""
    if not text.isascii():  # ASCII has no accents to take off
        text = unicodedata.normalize("NFKD", text.casefold())
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    else:
        text = text.casefold()
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
    script: str = "latin"  # else abjad, kana, cyrillic, han, hangul: read into Latin one way of several

    @property
    def normalized(self) -> str:
        return " ".join(self.tokens)

    @property
    def sorted_key(self) -> str:
        return " ".join(sorted(self.tokens))

    @property
    def lossy(self) -> bool:
        return self.script != "latin"

    def __hash__(self) -> int:
        """The name's hash (a string caches it): forms are dictionary keys of every per-name cache, and
        hashing all fields each time cost more than the lookup. Equal forms have equal names."""
        return hash(self.original)


def _strip_forms(folded: str) -> tuple[list[str], str | None]:
    """Legal forms off: long forms anywhere, short ones ("ao", "sa", "ltd") only at either end of the name."""
    kind = None
    found = _FORMS_ANYWHERE.search(folded)
    if found:
        kind = _FORM_CLASS[found[0]]
        folded = _FORMS_ANYWHERE.sub(" ", folded)
    words = folded.split()
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in range(min(_FORM_WORDS, len(words) - 1), 0, -1):
            head, tail = " ".join(words[:size]), " ".join(words[-size:])
            if tail in _FORM_CLASS:
                part, words = tail, words[:-size]
            elif head in _FORM_CLASS and (len(head) > 2 or head in _PREFIX_FORMS):
                part, words = head, words[size:]
            else:
                continue
            kind = kind if kind and kind != "company" else _FORM_CLASS[part]
            changed = True
            break
    if kind is None:
        words = [w for w in words if w not in HONORIFICS]
    return (words or folded.split()), kind


# Forms read from a file by `stored_forms` (written by this same code): name -> NameForms fields after the name.
_OFFERED: dict[str, tuple] = {}


def offer_forms(rows: dict[str, tuple]) -> None:
    """Forms computed before (by `stored_forms`, for the same matcher version) that `forms` returns as they are."""
    _OFFERED.clear()
    _OFFERED.update(rows)
    forms.cache_clear()


def is_offered(name: str) -> bool:
    return name in _OFFERED


def forms_row(name: str) -> tuple:
    """A name's forms as stored: every field after the name (see `offer_forms`)."""
    f = forms(name)
    return tuple(getattr(f, field.name) for field in fields(NameForms)[1:])


@lru_cache(maxsize=200_000)
def forms(name: str) -> NameForms:
    """The comparable forms of a name (cached: the same names come back with every publication; kept between
    runs by `stored_forms`)."""
    row = _OFFERED.get(name)
    if row is not None:
        return NameForms(name, *row)
    return _forms(name)


def _forms(name: str) -> NameForms:
    text = unicodedata.normalize("NFKC", name or "")
    head, comma, rest = text.partition(",")
    if comma and rest.strip() and "," not in rest and len(head.split()) <= 3:
        text = f"{rest} {head}"  # "SURNAME, Given Middle" in the order people write it: first word first
    words, kind = _strip_forms(fold(latin(text)))
    alternatives: list[tuple[str, ...]] = []
    if _HAN.search(text) and not _KANA.search(text):
        # Kanji-only: read it both as Chinese (pinyin) and as Japanese; a Japanese legal form says which first.
        other = fold(latin(JA_FORMS.sub(" ", text))) if is_japanese(text) else fold(japanese(text))
        alt, _ = _strip_forms(other)
        if alt != words:
            alternatives.append(tuple(alt))
    abjad = has_abjad(text)
    return NameForms(
        original=name,
        tokens=tuple(words),
        legal_form=kind,
        alternatives=tuple(alternatives),
        vowelless=abjad,
        script="abjad" if abjad else "kana" if has_kana(text) else "latin" if text.isascii() else _script(text),
    )


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _script(text: str) -> str:
    """Scripts whose Latin reading is one of several spellings: compared on sounds too."""
    if _CYRILLIC.search(text):
        return "cyrillic"
    if _HAN.search(text):
        return "han"
    if _HANGUL.search(text):
        return "hangul"
    return "latin"


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
    token = _FINAL_FF.sub("v", token)  # "Makaroff" is "Makarov"
    for old, new in _SPELLINGS:
        token = token.replace(old, new)
    first, rest = token[:1], token[1:]
    return first + _DOUBLES.sub(_ONE, _VOWELS.sub("", rest))


# How the letters of a Latin, Arabic or katakana spelling of one name still agree: consonant groups that one
# script cannot tell apart merged (b/p/v/f; l/r), digraphs to one letter, vowels (and w, y) dropped.
_SOUND_STEPS = (
    ("shch", "s"), ("sch", "s"), ("dzh", "j"), ("tch", "c"), ("sh", "s"), ("ch", "c"), ("zh", "j"), ("dj", "j"),
    ("kh", "h"), ("gh", "g"), ("th", "t"), ("dh", "d"), ("ph", "f"), ("ck", "k"), ("ts", "c"), ("tz", "c"),
    ("q", "k"), ("x", "ks"), ("p", "b"), ("f", "b"), ("v", "b"), ("l", "r"),
)  # fmt: skip
_NOT_CONSONANT = re.compile(r"[aeiouyw\d]+")
# Words Arabic names carry that other spellings drop or glue on ("al-", "bin", "ould").
PARTICLES = frozenset("al el ul ad ar as at az an ash bin ben ibn bint bn abn bnt ould wuld".split())


_FINAL_H = re.compile(r"(?<=[aeiou])h$")  # "Abdullah" / "Abdulla" / katakana "abudura": a final h is not heard
_SOFT_C = re.compile(r"c(?=[eiy])")  # a Latin c is s before e, i, y ("Central", katakana "sentoraru") ...
_HARD_C = re.compile(r"c(?!h)")  # ... and k elsewhere ("Democratic"); ch stays one sound


@lru_cache(maxsize=500_000)
def sound(token: str) -> str:
    """A token's consonants as a script without written vowels keeps them ("Mohammed", "Muhammad", Arabic
    "mhmd" -> "mhmd"; "Lavrov" and katakana "raburofu" -> "rbrb")."""
    token = _HARD_C.sub("k", _SOFT_C.sub("s", _FINAL_H.sub("", token)))
    for old, new in _SOUND_STEPS:
        token = token.replace(old, new)
    return _NOT_CONSONANT.sub("", _DOUBLES.sub(_ONE, token))  # "Kakwavu" keeps both k: "kkb"


# Katakana cannot write a final "ng" apart from "n" ("カン" is Kang) and writes ti, di, zi as chi, ji, ji
# ("プーチン" Putin, "ウラジーミル" Vladimir, "ワジリ" Waziri): compared with katakana, those sounds are one.
_KANA_NG = re.compile(r"ng")
_KANA_SOUNDS = str.maketrans("cjz", "tdd")
# Katakana writes th as s (Arabic "Uthman" ウスマーン, "Turath" トゥラス). English words in katakana are written
# as said: "-tion" is "-shon" ("インターナショナル"), a plural s is "zu"
# ("インダストリーズ"; not after a vowel: "Abbas", "Yunus" keep their s).
_KANA_TION = re.compile(r"t(?=io)")
_KANA_PLURAL = re.compile(r"(?:(?<=[^aeiousy])|(?<=ie))s$")


def sounds(
    words: tuple[str, ...], abjad: bool = False, kana: bool = False, vowel: bool = False, written_kana: bool = False
) -> tuple[str, ...]:
    """The sounds of a name's words, particles off; an Arabic-script word's glued article too ("altkryty").
    With `kana`, as katakana would keep them (w is v; ng is n; th is s; ch is t; j, z are d); with `vowel`,
    each word's first vowel too (katakana writes vowels: see `_with_vowel`; `written_kana`: katakana read)."""
    out = []
    for w in words:
        if w in PARTICLES:
            continue
        if abjad and w.startswith("al") and len(w) > 4:
            w = w[2:]
        if kana:
            w = _KANA_NG.sub("n", w.replace("w", "v"))
            w = _KANA_PLURAL.sub("z", _KANA_TION.sub("sh", w)).replace("th", "s")
        s = _kana_sound(w, vowel, written_kana) if kana else sound(w)
        if written_kana and vowel and (swapped := _FU_H.sub(_swap_fu_h, w)) != w:
            s += "|" + _kana_sound(swapped, vowel, written_kana)  # フ: Arabic kh or Russian v ("shawafu", "sahchenko")
        if kana and vowel and not written_kana and not abjad and (unsaid := _R_UNSAID.sub("", w)) != w:
            s += "|" + _kana_sound(unsaid, vowel)  # English "Center" / "senta": katakana leaves the r out
        if s:
            out.append(s)
    return tuple(out)


# Katakana writes one フ for an Arabic h or kh and a Russian f or v: read "h" before a consonant (アフマド Ahmad),
# "fu" before one or at the end (イワノフ Ivanov), so either may be the other ("アリ・アル・シャワフ" Al-Shawakh,
# "サフチェンコ" Savchenko): a katakana word so written also offers the other reading when scored.
_FU_H = re.compile(r"fu(?=[^aeiouy]|$)|(?<![sc])h(?=[^aeiouy])")


def _swap_fu_h(m: re.Match[str]) -> str:
    return "kh" if m[0] == "fu" else "f"


_R_UNSAID = re.compile(r"(?<=[aeiou])r(?=[^aeiouy]|$)")
_SLAVIC_IC = re.compile(r"(?<=[vt])ic$")  # "Markovic" is katakana "marukovichi"


# Katakana writes one ン for n and m before a labial (ローテンベルグ "rotemberugu" Rotenberg, パンフィーロヴァ
# "panfirova" Pamfilova, キム・ジョンマン "jomman" Jong Man): against katakana a nasal before b or m is one m.
_NASAL_M = re.compile(r"[nm]+(?=m)")
_NASAL_B = re.compile(r"n(?=b)")


def _kana_sound(w: str, vowel: bool, written_kana: bool = False) -> str:
    s = sound(_SLAVIC_IC.sub("ich", w))
    if s:
        s = _NASAL_B.sub("m", _NASAL_M.sub("", s.translate(_KANA_SOUNDS)))
        s = _with_vowel(w, s, written_kana) if vowel else s
    return s


_FIRST_VOWEL = re.compile(r"[aeiou]")
_VOWEL_CLASS = str.maketrans("aeiou", "aaauu")


_EPENTHETIC = re.compile(r"[^aeiou][uo](?=[^aeiouy])")  # "kurasunofu": the u of "ku" may stand for no vowel


def _with_vowel(word: str, consonants: str, written_kana: bool = False) -> str:
    """Katakana writes vowels: the word's first one (a, e or i; o or u) kept beside its consonants, so that
    "Mahmoud" (mahumudo) is not "Mohammad" (mohammado) nor "Fazil" "Abdul" once vowels are gone. Katakana
    puts a u or o between consonants Latin writes together ("Krasnov", "kurasunofu"): a word so begun also
    offers its next vowel ("kursnb|karsnb"; `sound_sim` takes the better)."""
    vowel = _FIRST_VOWEL.search(word)
    if not vowel:
        return consonants
    cls = vowel[0].translate(_VOWEL_CLASS)
    found = cls + consonants if vowel.start() == 0 else consonants[0] + cls + consonants[1:]
    if written_kana and vowel.start() and _EPENTHETIC.match(word, vowel.start() - 1):
        later = _FIRST_VOWEL.search(word, vowel.start() + 1)
        if later:
            found += "|" + consonants[0] + later[0].translate(_VOWEL_CLASS) + consonants[1:]
    return found


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
