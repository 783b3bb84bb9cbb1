"""Alert text: one readable digest per (poll, subscriber), rendered for the channel it goes to.

Formats: "markdown" (Slack and other chat services; Apprise turns it into Slack mrkdwn), "email" (HTML; Apprise
derives the plain-text alternative from it) and "text". Everything a publisher wrote is data: it is escaped for
the format here, and only http(s) links ever become links, so a feed title cannot @channel a workspace and a
`javascript:` link cannot reach an email as a live href.

A digest opens with a summary (counts by change type, program and entity type), then amendments to parties
already listed, then delistings, then new designations, each grouped by program. A message too long for its
channel is split between entries, deterministically (a retry resumes at the first part not yet sent), and each
part's subject says what it covers. Above the subscriber's `attach_above` the message keeps the summary and the
first entries and carries the whole change set as CSV and JSON attachments.
"""

from __future__ import annotations

import csv
import difflib
import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from notifier.records import record_title
from notifier.store.changes import Change

NOUNS = {  # (one, many)
    "designation": {
        "added": ("new designation", "new designations"),
        "removed": ("delisting", "delistings"),
        "amended": ("amended", "amended"),
    },
    "export_control": {
        "added": ("new export control", "new export controls"),
        "removed": ("lifted", "lifted"),
        "amended": ("amended", "amended"),
    },
    "news": {
        "added": ("new sanctions news item", "new sanctions news items"),
        "removed": ("withdrawn", "withdrawn"),
        "amended": ("updated", "updated"),
    },
    "publication": {  # a new document linked from a watched page (notifier.ingest.landing)
        "added": ("new document published", "new documents published"),
        "removed": ("withdrawn", "withdrawn"),
        "amended": ("updated", "updated"),
    },
}
SECTIONS = {  # what a part covers, as its subject says it
    "designation": {
        "amended": "amendments to listed parties",
        "removed": "delistings",
        "added": "new designations",
    },
    "export_control": {"amended": "amended controls", "removed": "lifted controls", "added": "new controls"},
    "news": {"amended": "updated news", "removed": "withdrawn news", "added": "sanctions news"},
    "publication": {"amended": "updated documents", "removed": "withdrawn documents", "added": "new documents"},
}
VERBS = {
    "designation": {"added": "Designated", "removed": "Delisted", "amended": "Amended"},
    "export_control": {"added": "New", "removed": "Lifted", "amended": "Amended"},
    "news": {"added": "News", "removed": "Withdrawn", "amended": "Updated"},
    "publication": {"added": "Published", "removed": "Withdrawn", "amended": "Updated"},
}
MEASURE_WORDS = {
    "export_ban": "export ban",
    "import_ban": "import ban",
    "licence_requirement": "licence requirement",
    "party_ban": "export ban on party",
    "other": "measure",
}
ORDER = {"amended": 0, "removed": 1, "added": 2}  # amendments to listed parties are often the most urgent
MAX_ALIASES = 5
MAX_ADDRESSES = 3
MAX_TEXT = 400  # a free-text value (remarks, a news summary) shown in full up to this length
CONTEXT_WORDS = 6  # words kept on either side of a change inside a clause
MAX_PROGRAMS = 15  # programs named in the summary line (the biggest first)
ATTACH_KEEP = 20  # entries kept in the message body when the whole set goes as attachments
NO_GROUP = ""


@dataclass(frozen=True)
class SourceMeta:
    id: str
    title: str
    jurisdiction: str
    kind: str
    url: str | None = None


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    mime: str


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: str  # "markdown" | "html" | "text" (Apprise's names)
    attachments: tuple[Attachment, ...] = ()


# --- escaping: publisher text is data in every format ---------------------------------------------------------

_MENTION = re.compile(r"@(?=(?:channel|here|everyone|all)\b)|(?<=<)(?=[@!#])", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#!])")


def plain(text: Any) -> str:
    """Publisher text for any channel: control and bidi-override characters dropped; mentions (@channel,
    @here, @everyone, Slack's <!here>, Discord's <@id>) defused with a word joiner so no chat service pings."""
    return _MENTION.sub(lambda m: m.group() + "\u2060", _CONTROL.sub("", "" if text is None else str(text)))


def md(text: Any) -> str:
    """Markdown-escaped: no link, image, emphasis or Slack control sequence (`<!channel>`, `<@U…>`,
    `<url|text>`) survives; Apprise turns the escaped `\\<` into Slack's `&lt;`."""
    return _MD_SPECIAL.sub(r"\\\1", plain(text))


def esc_html(text: Any) -> str:
    return html.escape(plain(text), quote=True)


def safe_url(url: Any) -> str | None:
    """An http(s) URL fit to become a link, or None (javascript:, data:, relative, malformed...)."""
    if not isinstance(url, str):
        return None
    url = _CONTROL.sub("", url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return None
    return quote(url, safe="/:?&=#%@+,;~!$*.-_")  # quotes, brackets, pipes, parentheses percent-encoded


def link(url: str | None, fmt: str, label: str | None = None) -> str:
    """A link in the format; the URL is always visible in email, so the plain-text part carries it too."""
    url = safe_url(url)
    if not url:
        return ""
    if fmt == "html":
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>'
    if fmt == "markdown":
        return f"[{md(label or url)}](<{url}>)"
    return url


# --- what one change says ------------------------------------------------------------------------------------


def _ident(value: Any) -> str:
    if isinstance(value, dict):
        number = value.get("number") or value.get("value") or ""
        kind = value.get("type") or ""
        where = ", ".join(str(v) for v in (value.get("country"), value.get("note")) if v)
        return f"{kind} {number}".strip() + (f" ({where})" if where else "")
    return _short(value)


def _short(value: Any, limit: int = MAX_TEXT) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {_short(v, limit)}" for k, v in value.items() if v not in (None, "", [], {}))
    elif isinstance(value, list):
        text = "; ".join(_short(v, limit) for v in value)
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _capped(items: list[Any], cap: int, show: Any = _short) -> str:
    shown = "; ".join(show(i) for i in items[:cap])
    return shown + (f" (+{len(items) - cap} more)" if len(items) > cap else "")


LABELS = {  # payload field -> how an analyst calls it
    "entity_type": "Type",
    "programs": "Programs",
    "listed_on": "Listed",
    "birth_dates": "Born",
    "birth_places": "Place of birth",
    "nationalities": "Nationality",
    "citizenships": "Citizenship",
    "countries": "Countries",
    "gender": "Gender",
    "identifiers": "Identifiers",
    "aliases": "Aliases",
    "addresses": "Addresses",
    "remarks": "Remarks",
    "url": "Link",
    "name": "Name",
    "websites": "Websites",
    "emails": "E-mail",
    "linked_to": "Linked to",
    "title": "Title",
    "vessel": "Vessel",
    "phones": "Phone",
    "extra": "Other",
    "facts": "Facts",
    "extra.facts": "Facts",
}
VESSEL_KEYS = (  # notifier.records.Vessel
    ("flag", "flag"),
    ("imo", "IMO"),
    ("mmsi", "MMSI"),
    ("call_sign", "call sign"),
    ("type", "type"),
    ("tonnage", "tonnage"),
    ("gross_tonnage", "GRT"),
    ("owner", "owner"),
    ("build_year", "built"),
)


def _label(name: str) -> str:
    """ "vessel.flag" -> "Vessel flag", "birth_dates" -> "Born"."""
    if name in LABELS:
        return LABELS[name]
    head, _, rest = name.partition(".")
    if rest:
        sub = dict(VESSEL_KEYS).get(rest) if head == "vessel" else None
        return f"{_label(head)} {sub or rest.replace('_', ' ')}"
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def _vessel(p: dict[str, Any]) -> str:
    v = p.get("vessel") if isinstance(p.get("vessel"), dict) else {}
    return ", ".join(f"{label} {_short(v[k], 100)}" for k, label in VESSEL_KEYS if v.get(k))


def _fact(f: Any, limit: int = 160) -> str:
    """A sanctions fact ("Secondary sanctions risk: ..."): short under a new party, whole when it is the change."""
    if isinstance(f, dict):
        text = ": ".join(str(x) for x in (f.get("type"), f.get("value")) if x)
        return _short(text, limit) + (f" ({f['country']})" if f.get("country") else "")
    return _short(f, limit)


def designation_facts(p: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs that identify a listed party, most telling first."""
    facts: list[tuple[str, str]] = []

    def add(label: str, value: str) -> None:
        if value:
            facts.append((label, value))

    add("Type", p.get("entity_type") or "")
    add("Programs", ", ".join(p.get("programs") or []))
    add("Listed", _short(p.get("listed_on")))
    add("Born", _capped(p.get("birth_dates") or [], 4))
    add("Place of birth", _capped(p.get("birth_places") or [], 3))
    add("Nationality", ", ".join(p.get("nationalities") or []))
    citizenships = [c for c in p.get("citizenships") or [] if c not in (p.get("nationalities") or [])]
    add("Citizenship", ", ".join(citizenships))
    add("Gender", _short(p.get("gender")))
    add("Identifiers", "; ".join(_ident(i) for i in p.get("identifiers") or []))
    add("Vessel", _vessel(p))
    add("Aliases", _capped(p.get("aliases") or [], MAX_ALIASES))
    add("Addresses", _capped(p.get("addresses") or [], MAX_ADDRESSES))
    add("Linked to", _capped(p.get("linked_to") or [], MAX_ALIASES))
    for key in ("websites", "emails", "phones"):
        add(_label(key), _capped(p.get(key) or [], 3))
    add("Facts", _capped((p.get("extra") or {}).get("facts") or [], 4, _fact))
    add("Remarks", _short(p.get("remarks"), 3 * MAX_TEXT))
    return facts


def _clauses(text: str) -> list[str]:
    """A remark's clauses ("DOB 13 May 1967; POB Praia; Passport ..."), a final full stop dropped."""
    return [c.strip().rstrip(".").strip() for c in re.split(r";\s+", text) if c.strip().rstrip(".").strip()]


def _excerpt(words: list[str], start: int, end: int) -> str:
    """Words [start, end) with CONTEXT_WORDS either side; cut only around the change, never inside it."""
    lo, hi = max(0, start - CONTEXT_WORDS), min(len(words), end + CONTEXT_WORDS)
    return ("… " if lo else "") + " ".join(words[lo:hi]) + (" …" if hi < len(words) else "")


def _clause_change(before: str, after: str) -> str:
    b, a = before.split(), after.split()
    ops = [op for op in difflib.SequenceMatcher(None, b, a, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not ops:
        return f"{before} → {after}"
    return f"{_excerpt(b, ops[0][1], ops[-1][2])} → {_excerpt(a, ops[0][3], ops[-1][4])}"


def text_change(label: str, before: Any, after: Any) -> list[str]:
    """A changed text field as what changed: clauses added or removed, a changed clause with a little context."""
    if before in (None, "") or after in (None, ""):
        verb = "added" if before in (None, "") else "removed"
        return [f"{label} {verb}: {_short(after if verb == 'added' else before)}"]
    if not isinstance(before, str) or not isinstance(after, str):
        return [f"{label}: {_short(before)} → {_short(after)}"]
    b, a = _clauses(before), _clauses(after)
    lines = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, b, a, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds, news = b[i1:i2], a[j1:j2]
        while olds and news:  # pair similar clauses: a changed clause, not a removal and an addition
            old, new = olds[0], news[0]
            if difflib.SequenceMatcher(None, old, new, autojunk=False).ratio() < 0.5:
                break
            lines.append(f"{label} changed: {_clause_change(old, new)}")
            olds, news = olds[1:], news[1:]
        lines += [f"{label} added: {c}" for c in news]
        lines += [f"{label} removed: {c}" for c in olds]
    return lines or [f"{label}: {_clause_change(before, after)}"]


FIELD_ORDER = (  # what an amendment lists first: the sanction itself, then who the party is
    "programs",
    "name",
    "entity_type",
    "listed_on",
    "identifiers",
    "birth_dates",
    "birth_places",
    "nationalities",
    "citizenships",
    "gender",
    "vessel",
    "aliases",
    "addresses",
    "linked_to",
)


def field_lines(fields: list[dict[str, Any]] | None) -> list[str]:
    """What an amendment changed, item by item."""
    lines: list[str] = []
    order = {name: i for i, name in enumerate(FIELD_ORDER)}
    for f in sorted(
        fields or [], key=lambda f: (order.get(str(f.get("field")).split(".")[0], len(order)), f.get("field"))
    ):
        label = _label(str(f.get("field", "")))
        show = {"identifiers": _ident, "extra.facts": lambda x: _fact(x, 3 * MAX_TEXT)}.get(str(f.get("field")), _short)
        if "before" in f or "after" in f:
            b, a = f.get("before"), f.get("after")
            if isinstance(b, dict) or isinstance(a, dict):
                b, a = b or {}, a or {}
                for k in sorted(set(b) | set(a)):
                    if b.get(k) != a.get(k):
                        lines += text_change(f"{label} {_label(k).lower()}", b.get(k), a.get(k))
            else:
                lines += text_change(label, b, a)
        else:
            lines += [f"{label} added: {show(item)}" for item in f.get("added") or []]
            lines += [f"{label} removed: {show(item)}" for item in f.get("removed") or []]
    return lines


def _headline(meta: SourceMeta, c: Change) -> str:
    p = c.payload
    if c.kind == "export_control":
        measure = MEASURE_WORDS.get(p.get("measure", ""), "measure")
        targets = [t for t in p.get("target_countries") or [] if t != "*"]
        route = f"{p.get('origin') or meta.jurisdiction} → {', '.join(targets) or 'all destinations'}"
        verb = {"added": f"New {measure}", "removed": f"Lifted {measure}", "amended": f"Amended {measure}"}[c.change]
        return f"{verb} ({route}): {record_title(p) or c.name}"
    if c.kind == "publication":
        return c.name or record_title(p)
    verb = VERBS.get(c.kind, VERBS["designation"])[c.change]
    what = p.get("entity_type") if c.kind == "designation" else c.kind
    return f"{verb}: {c.name or record_title(p)} ({what}, {c.key})"


def details(c: Change) -> list[str]:
    """Plain-text lines under an entry's headline (escaped later per format)."""
    p = c.payload
    lines: list[str] = []
    if c.kind == "designation":
        if c.change == "added":
            lines += [f"{label}: {value}" for label, value in designation_facts(p) if label != "Type"]
        elif p.get("programs"):
            lines.append("Programs: " + ", ".join(p["programs"]))
    elif c.kind == "export_control":
        if p.get("legal_basis"):
            lines.append(f"Legal basis: {p['legal_basis']}")
        if p.get("effective_date"):
            lines.append(f"Effective: {p['effective_date']}")
    elif c.kind == "news":
        if p.get("summary"):
            lines.append(_short(p["summary"], 500))
    elif c.kind == "publication" and p.get("page"):
        lines.append(f"Linked from: {p['page']}")
    lines.extend(c.notes)
    if c.change == "amended":
        lines += field_lines(c.fields)
    return lines


def _link_of(meta: SourceMeta, c: Change) -> str | None:
    p = c.payload
    return safe_url(p.get("url")) or safe_url(p.get("link")) or safe_url(meta.url)


def entry(meta: SourceMeta, c: Change, fmt: str) -> str:
    """One change in the body format ("html", "markdown" or "text")."""
    head, lines, url = _headline(meta, c), details(c), _link_of(meta, c)
    if fmt == "html":
        items = "".join(f"<li>{esc_html(d)}</li>" for d in lines)
        a = f" — {link(url, 'html')}" if url else ""
        return f"<li><b>{esc_html(head)}</b>{a}{f'<ul>{items}</ul>' if items else ''}</li>"
    if fmt == "markdown":
        a = f" — {link(url, 'markdown', 'official source')}" if url else ""
        return "\n".join([f"• **{md(head)}**{a}", *(f"    {md(d)}" for d in lines)])
    return "\n".join([f"* {plain(head)}", *(f"    {plain(d)}" for d in lines), *([f"    {url}"] if url else [])])


# --- the digest of one publication ---------------------------------------------------------------------------


def _programs(c: Change) -> list[str]:
    return [str(p) for p in c.payload.get("programs") or []]


def _group_of(c: Change, sizes: Counter[str]) -> str:
    """The program an entry is listed under: of its programs, the one most entries of this set share."""
    progs = _programs(c)
    if c.kind != "designation" or not progs:
        return NO_GROUP
    return min(progs, key=lambda p: (-sizes[p], p))


def pub_date(when: datetime, published: str | None) -> str:
    return (published or "")[:10] or f"{when:%Y-%m-%d}"


def counts_line(kind: str, changes: list[Change]) -> str:
    counts = Counter(c.change for c in changes)
    nouns = NOUNS.get(kind, NOUNS["designation"])
    parts = [f"{counts[k]} {nouns[k][counts[k] != 1]}" for k in ORDER if counts[k]]
    return ", ".join(parts) or "no changes"


def kind_of(meta: SourceMeta, changes: list[Change]) -> str:
    """The kind the changes share (publications arrive on their own, before the diff), else the source's."""
    kinds = {c.kind for c in changes}
    return kinds.pop() if len(kinds) == 1 else meta.kind


def summary(meta: SourceMeta, when: datetime, changes: list[Change], published: str | None = None) -> str:
    """ "OFAC SDN 2024-02-23 — 8 amended, 553 new designations"."""
    return f"{meta.title} {pub_date(when, published)} — {counts_line(kind_of(meta, changes), changes)}"


def summary_lines(meta: SourceMeta, when: datetime, changes: list[Change], published: str | None) -> list[str]:
    """Counts by change type, program and entity type: what the whole publication did, before any entry."""
    lines = [
        f"{meta.title}, publication of {published[:10]}" if published else f"{meta.title}, polled {when:%Y-%m-%d}",
        f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {counts_line(meta.kind, changes)}",
    ]
    nouns = NOUNS.get(meta.kind, NOUNS["designation"])
    by_program: dict[str, Counter[str]] = {}
    for c in changes:
        for p in _programs(c):
            by_program.setdefault(p, Counter())[c.change] += 1
    if by_program:
        parts = []
        for p in sorted(by_program, key=lambda p: (-sum(by_program[p].values()), p)):
            n = by_program[p]
            parts.append(f"{p} {', '.join(f'{n[k]} {nouns[k][n[k] != 1]}' for k in ORDER if n[k])}")
        more = f"; +{len(parts) - MAX_PROGRAMS} more programs" if len(parts) > MAX_PROGRAMS else ""
        lines.append("By program: " + "; ".join(parts[:MAX_PROGRAMS]) + more)
    types = Counter(c.payload.get("entity_type") for c in changes if c.kind == "designation")
    if types:
        lines.append("By entity type: " + ", ".join(f"{t or 'unknown'} {n}" for t, n in types.most_common()))
    return lines


@dataclass
class _Group:
    change: str
    program: str
    total: int
    entries: list[str] = field(default_factory=list)
    continued: bool = False

    def head(self, meta: SourceMeta) -> str:
        section = SECTIONS.get(meta.kind, SECTIONS["designation"])[self.change]
        text = f"{section[:1].upper()}{section[1:]}" + (f" — {self.program}" if self.program else "")
        return f"{text} ({self.total}{', continued' if self.continued else ''})"


def _wrap_parts(
    meta: SourceMeta, title: str, intro: list[str], chunks: list[list[_Group]], fmt: str
) -> list[tuple[str, str]]:
    """(subject, body) per part; the subject names the sections and programs the part covers."""
    total = len(chunks)
    out = []
    for i, groups in enumerate(chunks, 1):
        covered: dict[str, list[str]] = {}
        for g in groups:
            covered.setdefault(SECTIONS.get(meta.kind, SECTIONS["designation"])[g.change], []).append(g.program)
        what = []
        for section, programs in covered.items():
            named = [p for p in programs if p]
            if named:
                section += f", {', '.join(named)}" if len(named) <= 3 else f", {len(named)} programs"
            what.append(section)
        subject = title if total == 1 else f"{title.split(' — ')[0]} — {'; '.join(what) or 'summary'}, {i}/{total}"
        lines = intro if i == 1 else []
        if fmt == "html":
            body = f"<p><b>{esc_html(subject)}</b></p>"
            if lines:
                body += "<p>" + "<br>".join(esc_html(x) for x in lines) + "</p>"
            body += "".join(f"<h3>{esc_html(g.head(meta))}</h3><ul>{''.join(g.entries)}</ul>" for g in groups)
        elif fmt == "markdown":
            blocks = [f"**{md(subject)}**", *(["\n".join(md(x) for x in lines)] if lines else [])]
            blocks += [f"**{md(g.head(meta))}**\n" + "\n".join(g.entries) for g in groups]
            body = "\n\n".join(blocks)
        else:
            blocks = [plain(subject), *(["\n".join(plain(x) for x in lines)] if lines else [])]
            blocks += [f"== {plain(g.head(meta))} ==\n" + "\n".join(g.entries) for g in groups]
            body = "\n\n".join(blocks)
        out.append((subject, body))
    return out


def _fit(text: str, budget: int, fmt: str, head: str) -> str:
    """An entry too long for any part shrinks to its headline (the attachment or the list has the rest)."""
    if len(text) <= budget:
        return text
    head = head[: max(50, budget - 40)]
    return {"html": f"<li><b>{esc_html(head)}</b></li>", "markdown": f"• **{md(head)}**"}.get(fmt, f"* {plain(head)}")


def render_changes(
    meta: SourceMeta,
    when: datetime,
    changes: list[Change],
    fmt: str,
    max_body: int,
    *,
    published: str | None = None,
    attach_above: int | None = None,
) -> list[Message]:
    """The digest of one publication for one subscriber, in messages of at most max_body characters.

    `attach_above`: when the set has more changes, the body keeps the summary and the first ATTACH_KEEP entries
    and the whole set travels as CSV and JSON attachments (None: the channel takes no attachments).
    """
    body_format = {"email": "html", "markdown": "markdown", "slack": "markdown"}.get(fmt, "text")
    meta = replace(meta, kind=kind_of(meta, changes))  # a set of publications reads as such, not as designations
    title = summary(meta, when, changes, published)
    intro = summary_lines(meta, when, changes, published)
    sizes = Counter(p for c in changes for p in _programs(c))
    ordered = sorted(
        changes, key=lambda c: (ORDER[c.change], _group_of(c, sizes), (c.name or "").casefold(), c.key, c.id)
    )
    attach = attach_above is not None and len(changes) > attach_above
    shown = ordered[:ATTACH_KEEP] if attach else ordered
    if attach:
        intro = [
            *intro,
            f"The first {len(shown)} of {len(changes)} changes are below; the whole set is attached as CSV and JSON.",
        ]
    budget = max(500, max_body - len(title) - 300)
    intro_size = sum(len(x) + 8 for x in intro)
    totals = Counter((c.change, _group_of(c, sizes)) for c in changes)
    chunks: list[list[_Group]] = [[]]
    size = intro_size
    for c in shown:
        gkey = (c.change, _group_of(c, sizes))
        text = _fit(entry(meta, c, body_format), budget - 200, body_format, _headline(meta, c))
        current = chunks[-1][-1] if chunks[-1] else None
        new_group = current is None or (current.change, current.program) != gkey
        need = len(text) + 1 + (120 if new_group else 0)
        if size + need > budget and any(g.entries for g in chunks[-1]):
            chunks.append([])
            size = 0
            continued = current is not None and not new_group
            new_group = True
        else:
            continued = False
        if new_group:
            chunks[-1].append(_Group(gkey[0], gkey[1], totals[gkey], continued=continued))
            size += 120
        chunks[-1][-1].entries.append(text)
        size += len(text) + 1
    parts = _wrap_parts(meta, title, intro, chunks, body_format)
    messages = [Message(subject, body, body_format) for subject, body in parts]
    if attach:
        stem = re.sub(r"[^A-Za-z0-9]+", "-", f"{meta.title} {pub_date(when, published)}").strip("-") or "changes"
        files = (
            Attachment(f"{stem}-changes.csv", changeset_csv(meta, ordered), "text/csv"),
            Attachment(f"{stem}-changes.json", changeset_json(meta, ordered, when, published), "application/json"),
        )
        messages[0] = Message(messages[0].title, messages[0].body, body_format, files)
    return messages


# --- the whole change set as files ---------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "change",
    "kind",
    "key",
    "name",
    "entity_type",
    "programs",
    "what_changed",
    "before",
    "after",
    "fields",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets an apostrophe (documented)."""
    return "'" + value if value.startswith(_FORMULA) else value


def changeset_rows(changes: list[Change]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "change": c.change,
            "kind": c.kind,
            "key": c.key,
            "name": c.name,
            "before": c.before,
            "after": c.after,
            "fields": c.fields,
        }
        for c in changes
    ]


def changeset_json(meta: SourceMeta, changes: list[Change], when: datetime, published: str | None) -> bytes:
    doc = {
        "source": meta.id,
        "title": meta.title,
        "published": published,
        "polled": when.isoformat(),
        "changes": changeset_rows(changes),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def changeset_csv(meta: SourceMeta, changes: list[Change]) -> bytes:
    """One row per change: readable columns first, then before/after/fields as JSON (the exact change)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in changes:
        p = c.payload
        what = "; ".join(field_lines(c.fields)) if c.change == "amended" else ""
        row = [
            str(c.id),
            c.change,
            c.kind,
            c.key,
            c.name,
            str(p.get("entity_type") or ""),
            "; ".join(_programs(c)),
            what,
            json.dumps(c.before, ensure_ascii=False) if c.before is not None else "",
            json.dumps(c.after, ensure_ascii=False) if c.after is not None else "",
            json.dumps(c.fields, ensure_ascii=False) if c.fields is not None else "",
        ]
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode()  # BOM: spreadsheets read the file as UTF-8


# --- several sources in one message (digests) and ops/test text ----------------------------------------------


def render_digest(groups: list[tuple[SourceMeta, list[Change]]], title: str, fmt: str, max_body: int) -> list[Message]:
    """Several sources' changes in one message: counts per source first, then each source's entries by type."""
    body_format = {"email": "html", "markdown": "markdown", "slack": "markdown"}.get(fmt, "text")
    counts, blocks = [], []
    for meta, changes in groups:
        counts.append(f"{meta.title}: {counts_line(meta.kind, changes)}")
        for change in ORDER:
            chosen = sorted((c for c in changes if c.change == change), key=lambda c: (c.name.lower(), c.key))
            if not chosen:
                continue
            nouns = NOUNS.get(meta.kind, NOUNS["designation"])[change]
            head = f"{meta.title} — {len(chosen)} {nouns[len(chosen) != 1]}"
            blocks.append(
                f"<li><h3>{esc_html(head)}</h3></li>"
                if body_format == "html"
                else (f"**{md(head)}**" if body_format == "markdown" else f"== {plain(head)} ==")
            )
            blocks += [entry(meta, c, body_format) for c in chosen]
    if body_format == "html":
        first = "<li>" + "<br>".join(esc_html(c) for c in counts) + "</li>"
    else:
        first = "\n".join(md(c) if body_format == "markdown" else plain(c) for c in counts) + "\n"
    return _pack(title, [first, *blocks], body_format, max_body)


def _pack(title: str, entries: list[str], body_format: str, max_body: int) -> list[Message]:
    """Pre-rendered entries split into parts of at most max_body characters, "(part i of n)" in the subject."""

    def wrap(chunk: list[str], part: int, total: int) -> str:
        label = f" (part {part} of {total})" if total > 1 else ""
        if body_format == "html":
            return f"<p><b>{esc_html(title)}{label}</b></p><ul>{''.join(chunk)}</ul>"
        head = f"**{md(title)}{label}**" if body_format == "markdown" else f"{plain(title)}{label}"
        return head + "\n\n" + "\n".join(chunk)

    budget = max(500, max_body - len(title) - 200)
    chunks: list[list[str]] = [[]]
    size = 0
    for item in entries:
        if len(item) > budget:
            item = item[: budget - 1] + "…"
        if chunks[-1] and size + len(item) + 1 > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item) + 1
    total = len(chunks)
    part_title = (lambda i: f"{title} ({i} of {total})") if total > 1 else (lambda i: title)
    return [Message(part_title(i), wrap(c, i, total), body_format) for i, c in enumerate(chunks, 1)]


def render_text(title: str, body: str, fmt: str) -> Message:
    """An ops or test message, in the channel's format (its text may quote a publisher: escaped)."""
    if fmt == "email":
        return Message(title, f"<p>{esc_html(body).replace(chr(10), '<br>')}</p>", "html")
    return Message(plain(title), plain(body), "text")
