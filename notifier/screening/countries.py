"""Country names and codes in the spellings lists and customer files use, to ISO 3166 alpha-2.

From `pycountry` (ISO names, official and common names, codes, and their translations into every language
it ships), plus the short and historical names lists write that ISO does not ("Russia", "Burma", "Korea,
North", "北朝鮮") and nationality adjectives ("Russian", "Iranian")."""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache

__all__ = ["country_code"]

ALIASES = {
    "ru": "россия|russia|russian|rossiya|rossiia|russian federation|ussr|soviet union|ロシア|ロシア連邦",
    "ir": "iran|iranian|persia|islamic republic of iran|iran islamic republic of|イラン",
    "sy": "syria|syrian|syrian arab republic|シリア",
    "kp": "north korea|korea north|dprk|dprk north korea|democratic peoples republic of korea|korea dprk|"
    "korea democratic peoples republic|north korean|北朝鮮|朝鮮|朝鮮民主主義人民共和国",
    "kr": "south korea|korea south|republic of korea|korea republic of|korea|south korean|韓国",
    "gb": "uk|u k|united kingdom|great britain|britain|british|england|scotland|wales|northern ireland|英国|イギリス",
    "us": "usa|us|u s a|u s|united states|united states of america|america|american|米国|アメリカ",
    "mm": "burma|myanmar|burmese|ミャンマー",
    "la": "laos|lao|lao pdr",
    "vn": "vietnam|viet nam|vietnamese",
    "bo": "bolivia",
    "ve": "venezuela|venezuelan",
    "tz": "tanzania",
    "md": "moldova",
    "cz": "czech republic|czechia",
    "mk": "macedonia|north macedonia|former yugoslav republic of macedonia",
    "tr": "turkey|turkiye|turkish",
    "ci": "ivory coast|cote divoire",
    "ps": "palestinian|palestine|palestinian territories|occupied palestinian territory|west bank|gaza|gaza strip",
    "tw": "taiwan|台湾",
    "xk": "kosovo",
    "cd": "democratic republic of the congo|congo democratic republic|drc|congo kinshasa|dr congo|"
    "congo democratic republic of the",
    "cg": "republic of the congo|congo brazzaville|congo republic of the|congo",
    "cn": "china|chinese|prc|peoples republic of china|中国|中華人民共和国",
    "hk": "hong kong|香港",
    "mo": "macau|macao",
    "ae": "uae|united arab emirates|emirati|アラブ首長国連邦",
    "by": "belarus|belarusian|byelorussia|ベラルーシ",
    "ua": "ukraine|ukrainian|ウクライナ",
    "af": "afghanistan|afghan|アフガニスタン",
    "iq": "iraq|iraqi|イラク",
    "pk": "pakistan|pakistani|パキスタン",
    "lb": "lebanon|lebanese|レバノン",
    "ye": "yemen|yemeni|イエメン",
    "sa": "saudi arabia|saudi|サウジアラビア",
    "so": "somalia|somali|ソマリア",
    "ly": "libya|libyan|リビア",
    "sd": "sudan|sudanese|スーダン",
    "ss": "south sudan",
    "cu": "cuba|cuban",
    "ni": "nicaragua",
    "mx": "mexico|mexican",
    "co": "colombia|colombian",
    "tn": "tunisia|tunisian",
    "dz": "algeria|algerian",
    "eg": "egypt|egyptian",
    "jo": "jordan|jordanian",
    "kw": "kuwait|kuwaiti",
    "qa": "qatar|qatari",
    "bh": "bahrain|bahraini",
    "om": "oman|omani",
    "il": "israel|israeli",
    "in": "india|indian",
    "de": "germany|german",
    "fr": "france|french",
    "it": "italy|italian",
    "es": "spain|spanish",
    "nl": "netherlands|the netherlands|holland|dutch",
    "ch": "switzerland|swiss",
    "at": "austria|austrian",
    "cy": "cyprus|cypriot",
    "gr": "greece|greek",
    "ge": "georgia|georgian",
    "am": "armenia|armenian",
    "az": "azerbaijan|azerbaijani",
    "kz": "kazakhstan|kazakh|kazakhstani",
    "kg": "kyrgyzstan|kyrgyz|kyrgyz republic",
    "uz": "uzbekistan|uzbek",
    "tj": "tajikistan|tajik",
    "tm": "turkmenistan|turkmen",
    "ph": "philippines|filipino",
    "id": "indonesia|indonesian",
    "my": "malaysia|malaysian",
    "sg": "singapore|singaporean",
    "th": "thailand|thai",
    "ng": "nigeria|nigerian",
    "ml": "mali|malian",
    "ma": "morocco|moroccan",
    "et": "ethiopia|ethiopian",
    "ke": "kenya|kenyan",
    "er": "eritrea|eritrean",
    "cf": "central african republic",
    "va": "holy see|vatican|vatican city",
    "fm": "micronesia",
    "bs": "bahamas|the bahamas",
    "gm": "gambia|the gambia",
    "kn": "saint kitts and nevis|st kitts and nevis",
    "vc": "saint vincent and the grenadines|st vincent and the grenadines",
    "lc": "saint lucia|st lucia",
    "sz": "swaziland|eswatini",
    "cv": "cape verde|cabo verde",
    "tl": "east timor|timor leste",
    "bn": "brunei",
    "jp": "japan|japanese|日本",
}
_NOT_WORD = re.compile(r"[^\w]+")


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold().replace("'", "").replace("’", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", text).split())


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    import pycountry

    table: dict[str, str] = {}
    names: list[tuple[str, str]] = []
    for c in pycountry.countries:
        code = c.alpha_2.lower()
        for attr in ("name", "official_name", "common_name"):
            if value := getattr(c, attr, None):
                names.append((value, code))
        table[c.alpha_2.casefold()] = code
        table[c.alpha_3.casefold()] = code
    for value, code in names:
        table.setdefault(_key(value), code)
    for lang in ("ja", "ru", "ar", "fa", "zh_CN", "zh_TW", "ko", "uk", "fr", "es", "de"):
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
        for value, code in names:
            table.setdefault(_key(tr.gettext(value)), code)
    for code, spellings in ALIASES.items():
        for s in spellings.split("|"):
            table[_key(s)] = code
    table["xk"] = "xk"
    return table


@lru_cache(maxsize=8192)
def country_code(value: str) -> str | None:
    """ISO 3166 alpha-2 (lower case) for a country name or code in any common spelling, or None."""
    key = _key(value.strip().strip("."))
    if not key:
        return None
    table = _table()
    if key in table:
        return table[key]
    if not key.isascii():  # "Россия" -> "rossiya"
        from notifier.screening.translit import latin

        if (code := country_code(latin(value))) is not None:
            return code
    # "Moscow, Russia", "Iran (Islamic Republic of)", "Russia Federation": the longest known part decides.
    words = key.split()
    for size in range(len(words), 0, -1):
        for i in range(len(words) - size + 1):
            part = " ".join(words[i : i + size])
            if len(part) > 3 and part in table:
                return table[part]
    return None
