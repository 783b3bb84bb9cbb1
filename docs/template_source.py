"""Template adapter: copy this file to sources/<source_id>.py (or into your own package) and adapt it.

It reads a made-up but typical XML list, so that it runs as it is (docs/adding-a-source.md; the test
tests/test_third_party_adapter.py installs it as a third-party package and polls it):

    <sanctionsList generated="2026-03-01T06:00:00Z">          <- volatile: never copy it into a record
      <entry id="EX-101">                                     <- the publisher's stable id: the record key
        <name>ACME TRADING LLC</name>
        <type>entity</type>                                   <- individual | entity | vessel | aircraft
        <alias>ACME LLC</alias> <alias>АКМЕ</alias>           <- lists: order never matters (the core sorts)
        <program>RUSSIA</program>
        <listed>2024-02-23</listed>
        <country>RU</country>
        <address>1 Example St, Moscow</address>
        <passport country="RU">1234567</passport>
        <remarks>...</remarks>
      </entry>
    </sanctionsList>

Replace the docstring with what your source is: publisher, format, key, what is left out and why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from notifier.adapter import Adapter, ParseError
from notifier.parsing import child_text, children, expect_root, iter_xml
from notifier.records import Designation, Identifier

LIST_URL = "https://example.org/sanctions/list.xml"  # where a reader can see the list (shown in alerts)
ENTITY_TYPES = {"individual": "person", "entity": "organization", "vessel": "vessel", "aircraft": "aircraft"}


class ExampleSanctionsList(Adapter):
    """One Designation per <entry>, keyed by its id attribute."""

    title = "Example Ministry sanctions list"  # long name, shown by `notifier sources`
    short_title = "Example list"  # in alert summaries
    publisher = "Example Ministry of Foreign Affairs"
    jurisdiction = "XX"  # ISO 3166 alpha-2, or "EU" / "UN" / "INT"
    kind = "designation"  # or "export_control" / "news"
    # formats = ("xml",) and parts = ("main",) are the defaults: declare them only where yours differ (formats:
    # what the guard accepts, an HTML page refused unless "html" is among them; parts: the named files of one
    # snapshot, "main" always, e.g. "aliases" if published apart).

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)  # refuses an empty file or an HTML page, as the guard does
        expect_root(path, "sanctionsList", "Example list")
        for entry in iter_xml(path, "entry"):  # streams: one entry in memory at a time
            yield self._record(entry)

    def _record(self, entry) -> Designation:  # noqa: ANN001 - an lxml element
        key = (entry.get("id") or "").strip()
        name = child_text(entry, "name")
        if not key or not name:
            raise ParseError(f"an entry without id or name (line {entry.sourceline})")
        entry_type = (child_text(entry, "type") or "").lower()
        return Designation(
            key=key,
            name=name,
            entity_type=ENTITY_TYPES.get(entry_type, "unknown"),
            aliases=[t for a in children(entry, "alias") if (t := (a.text or "").strip())],
            programs=[t for p in children(entry, "program") if (t := (p.text or "").strip())],
            listed_on=child_text(entry, "listed"),
            countries=[t for c in children(entry, "country") if (t := (c.text or "").strip())],
            addresses=[t for a in children(entry, "address") if (t := (a.text or "").strip())],
            identifiers=[
                Identifier("Passport", (p.text or "").strip(), p.get("country"))
                for p in children(entry, "passport")
                if (p.text or "").strip()
            ],
            remarks=child_text(entry, "remarks"),
            url=LIST_URL,
            extra={"type_as_published": entry_type} if entry_type and entry_type not in ENTITY_TYPES else {},
        )
