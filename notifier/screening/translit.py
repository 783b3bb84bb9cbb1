"""Any script to Latin letters, from wheels only (no ICU): own tables where a generic transliterator reads a
script the way sanctions lists do not, `anyascii` for the rest.

Why own tables: lists write Russian names the BGN/bank way ("Yevgeniy", "Shchukin"), Korean names the
McCune-Reischauer way North Korean designations use ("Kim Jong Un", not "Gim Jeong-eun"), Arabic letters as
their usual Latin consonants, and Chinese characters as separate pinyin syllables; Japanese is read with
`pykakasi` (Hepburn) after the katakana spellings of foreign sounds ("ドゥ", "ディ") are read as such.

    latin("Щукин Евгений")   -> "Shchukin Evgeniy"
    latin("김정은")            -> "Kim Jong Un"
    latin("محمد بن سلمان")     -> "mhmd bn slman"
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

__all__ = ["has_abjad", "has_kana", "is_japanese", "latin"]

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]+")
_ABJAD = re.compile(r"[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Japanese legal forms, read before transliteration (kanji would otherwise be read as Chinese).
JA_FORMS = re.compile(
    r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|公益社団法人|公益財団法人|"
    r"[（(]\s*[株有同]\s*[)）]|[㈱㈲]|カブシキガイシャ|ユウゲンガイシャ"
)

_RU = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўђјљњћџ",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya "
        "i yi ye g u dj j lj nj c dz".split(),
        strict=True,
    )
)
_RU = {k: ("" if v == "_" else v) for k, v in _RU.items()}

# Arabic and Persian letters as the consonants Latin spellings use; long vowels as vowels.
_AR = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ء": "", "ئ": "", "ؤ": "u", "ب": "b", "ت": "t", "ث": "th",
    "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s",
    "ض": "d", "ط": "t", "ظ": "z", "ع": "", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n",
    "ه": "h", "ة": "a", "و": "w", "ي": "y", "ى": "a", "پ": "p", "چ": "ch", "ژ": "zh", "گ": "g", "ک": "k",
    "ی": "y", "ې": "e", "ۍ": "ai", "ټ": "t", "ډ": "d", "ړ": "r", "ښ": "sh", "ګ": "g", "ڼ": "n", "ځ": "dz",
    "څ": "ts", "ۀ": "a", "ە": "a", "ھ": "h", "ڵ": "l", "ڕ": "r", "ۆ": "o", "ێ": "e", "ڤ": "v",
}  # fmt: skip
_PERSIAN_VI = re.compile(r"(?<=\w)وی\b")
_AR_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640\u200c\u200d]")  # short-vowel marks, tatweel, joiners

# Hangul jamo read the McCune-Reischauer way without diacritics (as DPRK designations are written).
_INITIAL = "k kk n t tt r m p pp s ss _ j jj ch k t p h".split()
_MEDIAL = "a ae ya yae o e yo ye o wa wae oe yo u wo we wi yu u ui i".split()
_FINAL = "_ k k k n n n t l l l l l l l l m p p t t ng t t k t p t".split()

# Katakana spellings of foreign sounds that pykakasi reads letter by letter ("ドゥ" -> "dou").
_KATAKANA_SOUNDS = {
    "ヴァ": "va", "ヴィ": "vi", "ヴェ": "ve", "ヴォ": "vo", "ヴュ": "vyu", "ヴャ": "vya", "ヴョ": "vyo", "ヴ": "vu",
    "ディ": "di", "ドゥ": "du",
    "デュ": "dyu", "ティ": "ti", "トゥ": "tu", "テュ": "tyu", "ファ": "fa", "フィ": "fi", "フェ": "fe", "フォ": "fo",
    "フュ": "fyu", "ウィ": "wi", "ウェ": "we", "ウォ": "wo", "シェ": "she", "ジェ": "je", "チェ": "che",
    "ツァ": "tsa", "ツィ": "tsi", "ツェ": "tse", "ツォ": "tso", "イェ": "ye", "クァ": "kwa", "グァ": "gwa",
}  # fmt: skip
_KATAKANA_RE = re.compile("|".join(sorted(_KATAKANA_SOUNDS, key=len, reverse=True)))
# Whole katakana words that are Arabic particles ("アル・カーイダ": "al-Qaida"; "ビン" reads as "bin" already).
_KATAKANA_WORDS = {"アル": "al", "エル": "el", "ウル": "ul", "イブン": "ibn", "ビント": "bint"}
# "フ" before another consonant is an Arabic or Persian h ("アフマド" Ahmad, "アフンド" Akhund, "フロモフ" Khromov),
# not an f; before "ス" it stays f (Russian "-ovsky": "ペトロフスキー"). Opening a word it keeps its vowel, the
# word's first ("フセイン" Hussein, "フダイ" Khudai: "hu", not "h").
_FU_H = re.compile(r"フ(?=[カ-ヂツ-モヤ-ロワ-ヴ])(?![カキクケコスツ])")
# "ウラジ-" is Vladi- (Vladimir, Vladislav): katakana drops the initial v before l.
_VLADI = re.compile(r"^ウラジ")
_N_LABIAL = re.compile(r"n(?=[bmp])")  # "モハンマド" is Mohammad: ン before m, b, p is m (Hepburn writes it so)


def has_kana(text: str) -> bool:
    return bool(_KANA.search(text))


def has_abjad(text: str) -> bool:
    """Arabic, Persian or Hebrew script: short vowels are not written."""
    return bool(_ABJAD.search(text))


def is_japanese(text: str) -> bool:
    return bool(_KANA.search(text) or JA_FORMS.search(text))


@lru_cache(maxsize=1)
def _kakasi():  # noqa: ANN202 - pykakasi has no types; loaded on first Japanese name only
    import pykakasi

    return pykakasi.kakasi()


@lru_cache(maxsize=100_000)
def _japanese_word(word: str) -> str:
    """One word read by pykakasi (cached: the lists' Japanese names share most of their words)."""
    if word in _KATAKANA_WORDS:
        return _KATAKANA_WORDS[word]
    word = _FU_H.sub(lambda m: "hu" if m.start() == 0 else "h", _VLADI.sub("vラジ", word))
    word = _KATAKANA_RE.sub(lambda m: _KATAKANA_SOUNDS[m[0]], word)
    # Kanji words stay apart ("chugoku sekiyu"); kana sounds of one foreign word are glued back together.
    items = _kakasi().convert(word)
    return "".join(f" {i['hepburn']} " if _HAN.search(i["orig"]) else i["hepburn"] for i in items)


# Latin letters glued to kana are another word ("GAZグループ" GAZ Group, "インテレクトLLC" Intellekt LLC).
_LATIN_KANA = re.compile(r"(?<=[A-Za-z])(?=[\u3040-\u30ff])|(?<=[\u3040-\u30ff])(?=[A-Za-z])")


def japanese(text: str) -> str:
    """Hepburn without long vowels, as companies and foreign names are written ("Shoji", not "Shouji")."""
    text = _LATIN_KANA.sub(" ", text.replace("ッ", "").replace("ー", ""))
    words = " ".join(map(_japanese_word, re.split(r"[\s・、，,･=＝]+", text)))
    words = _N_LABIAL.sub("m", words)
    for long, short in (("ou", "o"), ("uu", "u"), ("aa", "a"), ("ii", "i"), ("ee", "e")):
        words = words.replace(long, short)
    return " ".join(words.split())


_VOICED = {0: "g", 3: "d", 7: "b"}  # ㄱ ㄷ ㅂ (not the aspirated ㅋ ㅌ ㅍ)


def _hangul(run: str) -> str:
    """Syllables as words ("Kim Jong Un"); inside a given name (third syllable on) k, t, p after a vowel or a
    voiced final are voiced, as DPRK designations write them ("리영길" RI Yong Gil, "리병철" RI Pyong Chol)."""
    out = []
    before = ""
    for i, ch in enumerate(run):
        code = ord(ch) - 0xAC00
        ini, med, fin = code // 588, (code % 588) // 28, code % 28
        first = _INITIAL[ini].replace("_", "")
        if i >= 2 and ini in _VOICED and before in ("", "n", "m", "ng", "l"):
            first = _VOICED[ini]
        before = _FINAL[fin].replace("_", "")
        out.append((first + _MEDIAL[med] + before).capitalize())
    return " ".join(out)


def _arabic(text: str) -> str:
    text = _AR_MARKS.sub("", text).replace("الله", "اللاه")  # Allah's long a is not written ("Abdullah")
    text = _PERSIAN_VI.sub("vی", text)  # Persian "-vi" ("موسوی" Mousavi, "علوی" Alvi)
    return "".join(_AR.get(ch, ch) for ch in text)


def _cyrillic(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        if low in _RU:
            lat = _RU[low]
            out.append(lat.capitalize() if ch != low and lat else lat)
        else:
            out.append(ch)
    return "".join(out)


def latin(name: str) -> str:
    """The name in Latin letters (ASCII); case kept where the script has case."""
    if name.isascii():  # nothing to read: the common case, kept cheap
        return " ".join(name.split())
    text = unicodedata.normalize("NFKC", name)
    if is_japanese(text):
        text = japanese(JA_FORMS.sub(" kabushiki kaisha ", text))
    if _CYRILLIC.search(text):
        text = _cyrillic(text)
    if _ABJAD.search(text):
        text = _arabic(text)
    if _HANGUL.search(text):
        text = _HANGUL.sub(lambda m: " " + _hangul(m[0]) + " ", text)
    if _HAN.search(text):
        text = _HAN.sub(lambda m: " " + anyascii(m[0]) + " ", text)
    return " ".join(anyascii(text).split())
