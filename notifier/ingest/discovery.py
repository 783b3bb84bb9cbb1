"""Finding a source's current file from the page that links it, by hops declared in config/sources.yaml.

Publishers rename their files at every release (MOF's `shisantouketsu<YYYYMMDD>.xlsx`, METI's dated PDFs), so a
fixed URL misses exactly the release worth announcing. A discovering source names its landing page as `url` and
lists `discover:` hops; each hop turns the page in hand into the next URL:
- a link hop picks an <a href> by href pattern and/or link text (optionally inside a CSS selector), the newest
  when several match (by a date in the file name or link text, else the first in page order);
- a JSON hop reads one value from an API answer (eCFR's titles.json -> up_to_date_as_of) and puts it into a URL.
Pages come through the same fetch as files (conditional GET, size cap, timeouts). A page on which nothing
matches is a DiscoveryFailed naming the page and the rule, never an empty list.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from notifier.config import Hop
from notifier.timeutil import utcnow

_LINK_SCHEMES = ("http", "https", "file", "")
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}
_ERA_DATE = re.compile(r"(令和|平成|昭和)\s*(\d{1,2}|元)\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_KANJI_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_SEPARATED = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_./](\d{1,2})[-_./](\d{1,2})(?!\d)")
_YYYYMMDD = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_YYMMDD = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})(?!\d)")


class DiscoveryFailed(Exception):
    """No URL could be found: str(exc) names the page and the rule (for the failed poll and the ops alert)."""

    def __init__(self, page: str, rule: str, why: str) -> None:
        super().__init__(f"discovery: {why} on {page} (rule: {rule})")
        self.page, self.rule, self.why = page, rule, why


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    page: str
    hop: int  # index of the hop whose rule it matched


@dataclass
class Page:
    """A fetched page: the URL it was finally served from (after redirects) and its bytes."""

    url: str
    body: bytes


@dataclass
class Found:
    url: str  # the file to fetch
    pages: list[str] = field(default_factory=list)  # the pages followed, landing page first
    links: list[Link] = field(default_factory=list)  # every link a hop matched: documents the pages publish
    announced: list[Link] = field(default_factory=list)  # of those, the ones whose hop announces new documents


PageGetter = Callable[[str], Page]


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def date_in(text: str) -> date | None:
    """The latest date written in `text`: 令和7年9月29日, 2025年9月29日, 2025-09-29, 20250929 or METI's 250929."""
    text = unicodedata.normalize("NFKC", unquote(text))
    found: list[date] = []
    for era, year, month, day in _ERA_DATE.findall(text):
        d = _valid(_ERAS[era] + (1 if year == "元" else int(year)), int(month), int(day or 1))
        found += [d] if d else []
    for pattern in (_KANJI_DATE, _SEPARATED, _YYYYMMDD):
        for y, m, d in pattern.findall(text):
            got = _valid(int(y), int(m), int(d or 1))
            found += [got] if got else []
    if not found:
        for yy, m, d in _YYMMDD.findall(text):
            got = _valid(2000 + int(yy), int(m), int(d))
            found += [got] if got else []
    return max(found) if found else None


def link_date(link: Link) -> date | None:
    """A date in the file name first (the publisher's own stamp), else in the link text."""
    name = urlsplit(link.url).path.rsplit("/", 1)[-1]
    return date_in(name) or date_in(link.text)


FUTURE = timedelta(days=400)  # a "date" further ahead is a typo or a number, never the current release


def choose(links: list[Link], pick: str, today: date | None = None) -> Link:
    """The link a hop follows among several that match."""
    if pick == "first":
        return links[0]
    if pick == "last":
        return links[-1]
    horizon = (today or utcnow().date()) + FUTURE
    dated = [(d, -i) for i, link in enumerate(links) if (d := link_date(link)) and d <= horizon]
    if not dated:
        return links[0]  # no dates: publishers list the current file first
    return links[-max(dated)[1]]


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def page_text(body: bytes) -> str:
    """The page as text: its BOM or <meta> charset, else UTF-8, else Shift_JIS (cp932, as Japanese sites use)."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace")
    declared = _META_CHARSET.search(body[:4096])
    candidates = [declared.group(1).decode("ascii").lower()] if declared else []
    for enc in [*candidates, "utf-8", "cp932"]:
        try:
            return body.decode("cp932" if enc in ("shift_jis", "shift-jis", "sjis", "x-sjis") else enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("latin-1")


def _document(page: Page) -> etree._Element:
    try:
        return lxml_html.document_fromstring(_XML_DECL.sub("", page_text(page.body)))
    except (etree.ParserError, ValueError) as exc:
        raise DiscoveryFailed(page.url, "-", f"not a readable HTML page ({exc})") from None


def page_links(page: Page, doc: etree._Element, within: str | None, index: int) -> list[Link]:
    """Every link on the page (inside `within`), in page order, as absolute URLs, each once."""
    base = page.url
    base_el = doc.find(".//base[@href]")
    if base_el is not None:
        base = urljoin(page.url, base_el.get("href", "").strip())
    scopes = doc.cssselect(within) if within else [doc]
    seen: set[str] = set()
    out = []
    for scope in scopes:
        for a in scope.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith("#"):
                continue
            url = urljoin(base, href).split("#", 1)[0]
            if urlsplit(url).scheme.lower() not in _LINK_SCHEMES or url in seen:
                continue
            seen.add(url)
            out.append(Link(url, " ".join(a.text_content().split()), page.url, index))
    return out


def matches(link: Link, hop: Hop) -> bool:
    """The hop's rule: href and text patterns (both, when both are given)."""
    if hop.href and not re.search(hop.href, link.url):
        return False
    return not (hop.text and not re.search(hop.text, unicodedata.normalize("NFKC", link.text)))


def announced(links: list[Link], matched: list[Link], hop: Hop) -> list[Link]:
    """The documents a hop watches: its own matches, or the links whose URL matches its `announce` pattern."""
    if hop.announce is True:
        return matched
    if hop.announce is False:
        return []
    return [link for link in links if re.search(hop.announce, link.url)]


def json_value(page: Page, hop: Hop) -> str:
    """One scalar of a JSON answer, by a path like `titles[number=15].up_to_date_as_of`."""
    try:
        value: Any = json.loads(page.body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DiscoveryFailed(page.url, describe(hop), f"not a JSON answer ({exc})") from None
    for name, key, wanted in re.findall(r"([^.\[\]]+)(?:\[([^=\]]+)=([^\]]*)\])?", hop.json_value or ""):
        if not isinstance(value, dict) or name not in value:
            raise DiscoveryFailed(page.url, describe(hop), f"no {name!r} in the JSON answer")
        value = value[name]
        if key:
            items = value if isinstance(value, list) else []
            value = next((it for it in items if isinstance(it, dict) and str(it.get(key)) == wanted), None)
            if value is None:
                raise DiscoveryFailed(page.url, describe(hop), f"no entry with {key}={wanted} in {name!r}")
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value) == "":
        raise DiscoveryFailed(page.url, describe(hop), "the value is missing or not a single value")
    text = str(value)
    if hop.value_pattern and not re.fullmatch(hop.value_pattern, text):
        raise DiscoveryFailed(page.url, describe(hop), f"the value {text[:60]!r} does not look as expected")
    return text


def describe(hop: Hop) -> str:
    """A hop as one line, for `notifier sources`, failed polls and ops alerts."""
    if hop.json_value:
        return f"JSON {hop.json_value} -> {hop.url}"
    parts = []
    if hop.href:
        parts.append(f"href ~ /{hop.href}/")
    if hop.text:
        parts.append(f"text ~ /{hop.text}/")
    where = f" inside {hop.within}" if hop.within else ""
    return f"link {' and '.join(parts)}{where}, {hop.pick}"


def describe_all(hops: list[Hop]) -> str:
    return " => ".join(describe(h) for h in hops)


def discover(start: str, hops: list[Hop], get: PageGetter) -> Found:
    """Follow the hops from the landing page to the file's URL; DiscoveryFailed when a hop finds nothing.

    `get` fetches a page (raising FetchError as the fetch does); its answer's URL is the one served after
    redirects, against which relative links resolve.
    """
    found = Found(url=start)
    url = start
    for index, hop in enumerate(hops):
        page = get(url)
        found.pages.append(page.url)
        if hop.json_value:
            value = json_value(page, hop)
            url = urljoin(page.url, (hop.url or "").replace("{value}", quote(value, safe="-._~:")))
            continue
        links = page_links(page, _document(page), hop.within, index)
        matched = [link for link in links if matches(link, hop)]
        if not matched:
            raise DiscoveryFailed(page.url, describe(hop), "no link matches")
        found.links += matched
        found.announced += announced(links, matched, hop)
        url = choose(matched, hop.pick).url
    found.url = url
    return found
