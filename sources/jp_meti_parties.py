"""Japan METI lists of parties under export bans (輸出等に係る禁止措置の対象となる団体), from the PDFs.

METI publishes three lists as PDF: Russian, Belarusian and third-country parties (特定団体). The adapter reads
the PDF itself (text through the core's `pdf_text`) or its text (pdftotext output, as older setups stored it):
a title line naming the list, then numbered entries - Japanese name
(with "（別称、...）"), English name (", a.k.a., the following N aliases:" and "-alias" lines), optional
"別称：" aliases, and "所在地：" addresses. The list is recognized from its title, not the file name; the option
`list` ("russia", "belarus", "third-country") may force it. pdftotext can glue an entry number to the end of the
previous line ("..., Russia.560 アルファ..."), so entries are found by searching for the next expected number.
Key = list + entry number ("russia-560"): METI appends new entries at the end and keeps the numbers.

A notice of additions (METI's dated `20250912list_russia_tokutei.pdf`, MOFA's 告示 PDFs) has the list's title
but no 指定日 line, and its entries start at the first new number: it is read as a delta (the entries it adds).
Between Japanese and Latin script a space is layout, not content (pdftotext puts one where pdfium does not):
it is dropped, so the PDF and its text give the same records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter, ParseError
from notifier.parsing import decode, pdf_text
from notifier.records import Designation

URL = "https://www.meti.go.jp/policy/external_economy/trade_control/01_seido/04_seisai/crimea.html"
LISTS = {
    "russia": ("JP-EXPORT-BAN-RU", "Russia"),
    "belarus": ("JP-EXPORT-BAN-BY", "Belarus"),
    "third-country": ("JP-EXPORT-BAN-THIRD", None),
}
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CJK = "\u3000-\u30ff\u3400-\u9fff\uff00-\uffef"
_IS_CJK = re.compile(f"[{_CJK}]")
_CJK_BREAK = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}A-Za-z0-9])|(?<=[A-Za-z0-9]) +(?=[{_CJK}])")
# Japanese text directly followed by a multi-word Latin name on the same line (PDF glued the two lines).
_GLUED_NAME = re.compile(f"^(.*[{_CJK}])([A-Z][A-Za-z0-9&.,'’\\-]*(?: [A-Za-z0-9&.,'’()\\-]+){{2,}}.*)$")
_AKA = re.compile(r",?\s*\ba\.k\.a\.?,?\s*", re.I)
_FOLLOWING = re.compile(r",?\s*\b(?:the\s*)?follow\w*\s*\w*?\s*alias(?:es)?\s*:?\s*", re.I)
_COUNTRY = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")


def detect_list(title: str) -> str:
    """The list variant from its title: 'third-country' when it names parties outside Russia and Belarus."""
    flat = re.sub(r"\s+", "", title)
    if "輸出等に係る禁止措置" not in flat:
        raise ParseError("not a METI export-ban parties list: title lacks 輸出等に係る禁止措置")
    if "以外" in flat:
        return "third-country"
    if "ロシア連邦" in flat:
        return "russia"
    if "ベラルーシ" in flat:
        return "belarus"
    raise ParseError(f"METI export-ban list of unknown country: {flat[:80]!r}")


def _join(lines: list[str]) -> str:
    return _CJK_BREAK.sub("", " ".join(x.strip() for x in lines if x.strip())).strip()


def _paren_depth(lines: list[str]) -> int:
    return sum(x.count("（") + x.count("(") - x.count("）") - x.count(")") for x in lines)


def _is_japanese_line(line: str) -> bool:
    return bool(line) and bool(_IS_CJK.match(line[0]))


def _split_ja(text: str) -> list[str]:
    return [p.strip(" 、。") for p in re.split(r"[;；、]|及び", text) if p.strip(" 、。")]


def _clean_alias(text: str) -> str:
    text = re.sub(r"^(?:and\s*)?[-‐–—]\s*", "", text.strip())
    text = re.sub(r";?\s*(?:and)?\s*$", "", text)
    return text.rstrip(" ;.")


def split_entries(text: str) -> tuple[str, list[tuple[int, str]]]:
    """(title, [(number, entry text)]) for a list's text; entry numbers must run on without a gap.

    A full list starts at 1 after its 指定日/最終更新日 lines; a notice of additions (no such line) starts at
    the first number after its "○" title.
    """
    text = text.translate(_FULLWIDTH_DIGITS).replace("\r\n", "\n")
    head_end = re.search(r"^最終更新日.*$|^指定日.*$", text, re.M)
    if head_end:
        title = text[: head_end.start()]
        body_start = head_end.end()
        last_update = re.search(r"^最終更新日.*$", text[body_start:body_start + 200], re.M)
        if last_update:
            body_start += last_update.end()
        first = 1
    else:
        notice = re.search(r"^○.*$", text, re.M)
        entry = notice and re.search(rf"(?<=\n)(\d{{1,4}})[ \u3000]+(?=[^\n]*[{_CJK}])", text[notice.end():])
        if not notice or not entry:
            raise ParseError("not a METI export-ban parties list: no 指定日/最終更新日 line and no notice title")
        title = text[notice.start(): notice.end() + entry.start()]
        body_start = notice.end() + entry.start() - 1
        first = int(entry.group(1))
    detect_list(title)
    starts: list[tuple[int, int, int]] = []  # (number, match start, text start)
    pos, n = body_start, first
    while True:
        # At a line start, or glued to the end of the previous line; the rest of the line has Japanese in it.
        pattern = re.compile(rf"(?:(?<=\n)|(?<=[A-Za-z.)\]”\"]))({n})[ \u3000]+(?=[^\n]*[{_CJK}])")
        m = pattern.search(text, pos)
        if not m:
            break
        starts.append((n, m.start(1), m.end()))
        pos, n = m.end(), n + 1
    if not starts:
        raise ParseError("METI export-ban parties list without entries")
    if text[body_start: starts[0][1]].strip():
        raise ParseError(f"METI export-ban parties list: text before entry {first}")
    entries = []
    for i, (num, _s, begin) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(text)
        entries.append((num, text[begin:end]))
    return title, entries


def is_notice(text: str) -> bool:
    """A notice of additions has the list's title but no 指定日/最終更新日 lines."""
    return not re.search(r"^(?:最終更新日|指定日)", text, re.M)


def parse_entry(body: str) -> dict:
    """Names, aliases and addresses of one entry's text."""
    body = re.sub(r"所\s*在\s*地\s*[：:]\s*", "所在地：", body)
    body = re.sub(r"別\s*称\s*[：:]\s*", "別称：", body)
    body = re.sub(r"(?<!\n)(所在地：|別称：)", r"\n\1", body)  # a section label glued to the line before
    lines = [x.strip() for x in body.splitlines() if x.strip()]
    head: list[str] = []
    alias_lines: list[str] = []
    addr_lines: list[str] = []
    section = head
    for line in lines:
        if line.startswith("別称："):
            section, line = alias_lines, line[3:]
        elif line.startswith("所在地："):
            section, line = addr_lines, line[4:]
        section.append(line)
    ja_lines: list[str] = []
    en_lines: list[str] = []
    for line in head:
        open_paren = _paren_depth(ja_lines) > 0
        if en_lines or (ja_lines and not open_paren and not _is_japanese_line(line)):
            en_lines.append(line)
            continue
        m = _GLUED_NAME.match(line)
        if m and _paren_depth([*ja_lines, m.group(1)]) == 0:
            ja_lines.append(m.group(1))
            en_lines.append(m.group(2))
        else:
            ja_lines.append(line)
    name_ja = _join(ja_lines)
    aliases: list[str] = []
    m = re.search(r"[（(]別称、(.*)[）)]$", name_ja)
    if m:
        aliases += _split_ja(m.group(1))
        name_ja = name_ja[: m.start()].strip()
    # English block: the name (possibly wrapped), "a.k.a., the following N aliases:", then dash-led aliases.
    en_text = "\n".join(en_lines)
    marker = _AKA.search(en_text) or _FOLLOWING.search(en_text)
    first_dash = re.search(r"(?:^|\n)\s*[-‐–—]", en_text)
    if marker and (not first_dash or marker.start() < first_dash.start()):
        name_en, rest = en_text[: marker.start()], _FOLLOWING.sub("", en_text[marker.end():].lstrip(), count=1)
    elif first_dash:
        name_en, rest = en_text[: first_dash.start()], en_text[first_dash.start():]
    else:
        name_en, rest = en_text, ""
    name_en = _join(name_en.splitlines()).rstrip(", ")
    for piece in re.split(r"(?:^|\n)\s*[-‐–—]\s*|\s*—\s*", rest):
        for alias in re.split(r"[;；]", " ".join(piece.split())):
            if _clean_alias(alias):
                aliases.append(_clean_alias(alias))
    # CJK names in parentheses after the English name: "Time Art International LTD（時亞國際有限公司）".
    m = re.search(f"[（(]([^（）()]*[{_CJK}][^（）()]*)[）)]$", name_en)
    if m and not _IS_CJK.match(name_en[0]):
        aliases += _split_ja(m.group(1))
        name_en = name_en[: m.start()].strip()
    ja_alias = [x for x in alias_lines if _IS_CJK.search(x)]
    en_alias = [x for x in alias_lines if not _IS_CJK.search(x)]
    aliases += _split_ja(_join(ja_alias))
    aliases += [a.strip() for a in _join(en_alias).split(";") if a.strip()]
    address_text = _join(addr_lines)
    addresses = [a.strip().rstrip(".").strip() for a in re.split(r";\s*(?:and\s+)?", address_text) if a.strip(" .")]
    return {"name_en": name_en.rstrip(",").strip(), "name_ja": name_ja, "aliases": aliases, "addresses": addresses}


def country_of(address: str) -> str | None:
    """The last comma-separated part of an address when it reads like a country name."""
    last = address.rsplit(",", 1)[-1].strip().rstrip(".")
    return last if "," in address and _COUNTRY.match(last) else None


class JapanMetiExportBanParties(Adapter):
    """One Designation per entry of METI's Russia / Belarus / third-country export-ban parties lists."""

    title = "Japan METI export-ban parties (Russia, Belarus, third countries)"
    publisher = "Ministry of Economy, Trade and Industry (METI)"
    jurisdiction = "JP"
    kind = "designation"
    formats = ("pdf", "text")

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._delta = False

    @property
    def is_delta(self) -> bool:
        """A notice lists only the entries it adds."""
        return self._delta

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        data = path.read_bytes()
        text = pdf_text(path) if data.lstrip().startswith(b"%PDF") else decode(data, ("utf-8-sig",))
        self._delta = is_notice(text)
        title, entries = split_entries(text)
        variant = self.options.get("list") or detect_list(title)
        if variant not in LISTS:
            raise ParseError(f"unknown list option {variant!r}; expected one of {sorted(LISTS)}")
        program, default_country = LISTS[variant]
        title_text = re.sub(r"\s+", "", title).lstrip("○")
        for number, body in entries:
            fields = parse_entry(body)
            name = fields["name_en"] or fields["name_ja"]
            if not name:
                raise ParseError(f"{variant} entry {number}: no name")
            aliases = list(fields["aliases"])
            if fields["name_ja"] and fields["name_ja"] != name:
                aliases.append(fields["name_ja"])
            countries = [c for a in fields["addresses"] if (c := country_of(a))]
            if not countries and default_country:
                countries = [default_country]
            yield Designation(
                key=f"{variant}-{number}",
                name=name,
                entity_type="organization",
                aliases=aliases,
                programs=[program],
                countries=countries,
                addresses=fields["addresses"],
                url=URL,
                extra={"name_ja": fields["name_ja"] or None, "list": title_text},
            )
