"""Federal Register documents from its API (`/api/v1/documents.json`): OFAC and BIS notices, rules and orders.

The response is {"count", "description", "total_pages", "next_page_url", "results": [document...]}; each document
becomes a NewsItem keyed by its document_number (the Federal Register's permanent id). Option `agencies` (a list of
agency slugs, e.g. ["foreign-assets-control-office", "industry-and-security-bureau"]) keeps only documents of those
agencies. Counters and signed URLs that change between downloads (page_views, comment counts in dockets and
regulations_dot_gov_info, the public-inspection PDF's ?timestamp) stay out of the records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter, ParseError
from notifier.parsing import decode
from notifier.records import NewsItem

EXTRA_FIELDS = (
    "type", "subtype", "action", "citation", "toc_doc", "toc_subject", "dates", "effective_on", "signing_date",
    "executive_order_number", "presidential_document_number", "proclamation_number", "correction_of", "docket_ids",
    "regulation_id_numbers", "topics", "pdf_url", "full_text_xml_url", "start_page", "end_page", "volume",
    "significant", "comments_close_on", "disposition_notes", "executive_order_notes",
)


def _agencies(doc: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(names, slugs) of a document's agencies; sub-offices without a slug keep their raw name."""
    names, slugs = [], []
    for agency in doc.get("agencies") or []:
        if not isinstance(agency, dict):
            continue
        name = agency.get("name") or agency.get("raw_name")
        if name:
            names.append(str(name))
        if agency.get("slug"):
            slugs.append(str(agency["slug"]))
    return names, slugs


def document_record(doc: Mapping[str, Any]) -> NewsItem:
    number = str(doc.get("document_number") or "").strip()
    if not number:
        raise ParseError("Federal Register: a document without document_number")
    names, slugs = _agencies(doc)
    extra: dict[str, Any] = {"agencies": names, "agency_slugs": slugs, "document_number": number}
    for field in EXTRA_FIELDS:
        value = doc.get(field)
        if value not in (None, "", [], {}):
            extra[field] = value
    refs = [
        f"{r.get('title')} CFR {r.get('part')}" for r in doc.get("cfr_references") or [] if isinstance(r, dict)
    ]
    if refs:
        extra["cfr_references"] = refs
    return NewsItem(
        key=number,
        title_text=str(doc.get("title") or "").strip(),
        published=doc.get("publication_date") or None,
        link=doc.get("html_url") or None,
        summary=str(doc.get("abstract") or "").strip(),
        feed="Federal Register",
        language="en",
        extra=extra,
    )


class FederalRegister(Adapter):
    """A Federal Register API documents.json page -> NewsItem records (optionally only some agencies')."""

    title = "Federal Register documents"
    publisher = "Office of the Federal Register (NARA) and GPO"
    jurisdiction = "US"
    kind = "news"
    windowed = True
    formats = ("json",)

    def parse(self, parts: Mapping[str, Path]) -> Iterator[NewsItem]:
        path = self.main(parts)
        try:
            data = json.loads(decode(path.read_bytes(), ("utf-8-sig",)))
        except json.JSONDecodeError as exc:
            raise ParseError(f"Federal Register: not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ParseError("Federal Register: JSON is not an object")
        if "errors" in data or "error" in data:
            raise ParseError(f"Federal Register: API error: {str(data.get('errors') or data.get('error'))[:200]}")
        results = data.get("results")
        if results is None and data.get("count") == 0:
            return  # a valid answer with no documents (the guard decides about empty snapshots)
        if not isinstance(results, list):
            raise ParseError("Federal Register: no 'results' list in the response")
        wanted = set(self.options.get("agencies") or [])
        seen: set[str] = set()
        for doc in results:
            if not isinstance(doc, dict):
                raise ParseError("Federal Register: a result that is not an object")
            record = document_record(doc)
            if wanted and not wanted.intersection(record.extra["agency_slugs"]):
                continue
            if record.key in seen:
                continue  # pages overlap when documents are published between two page requests
            seen.add(record.key)
            yield record
