"""EU Financial Sanctions Files (FSF): the consolidated list of persons and entities under EU restrictive measures.

Format: the XML export 1.1 (`xmlFullSanctionsList_1_1`, root `export`, namespace
http://eu.europa.ec/fpi/fsd/export). One `sanctionEntity` per designation, keyed by its `logicalId`, which the EU
keeps stable across amendments. The root's `generationDate`/`globalFileId` change with every export and are never
copied into records.

Every detail element (name, citizenship, birth date, address, identification) carries its own `logicalId`; the
primary name is chosen by that id (the lowest `strong` alias is the name the entry was first published under), never
by element order, so a re-ordered export hashes the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from notifier.adapter import Adapter, ParseError, sniff
from notifier.parsing import children, gender, iter_xml, root_tag
from notifier.publication import Publication, head_match, iso_day
from notifier.records import Designation, Identifier

LIST_URL = "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content"
ENTITY_TYPES = {"person": "person", "enterprise": "organization", "vessel": "vessel", "aircraft": "aircraft"}
UNKNOWN_COUNTRY = {"", "00"}


def _attr(el: etree._Element, name: str) -> str | None:
    value = (el.get(name) or "").strip()
    return value if value and value != "-" else None


def _texts(el: etree._Element, name: str) -> list[str]:
    return [t for t in ((c.text or "").strip() for c in children(el, name)) if t]


def _lid(el: etree._Element) -> int:
    try:
        return int(el.get("logicalId") or 0)
    except ValueError:
        return 0


def _country(el: etree._Element) -> str | None:
    code = (el.get("countryIso2Code") or "").strip().upper()
    return None if code in UNKNOWN_COUNTRY else code


def _country_name(el: etree._Element) -> str | None:
    name = _attr(el, "countryDescription")
    return None if not name or name.upper() == "UNKNOWN" else name


def _join(*parts: str | None, sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _whole_name(el: etree._Element) -> str | None:
    return _attr(el, "wholeName") or _join(
        _attr(el, "firstName"), _attr(el, "middleName"), _attr(el, "lastName"), sep=" "
    ) or None


def birth_date_text(el: etree._Element) -> str | None:
    """A birth date as published: ISO when exact, "1962", "1953-1958", "circa 1962", "1402-06-24 (ISLAMIC)"."""
    calendar = (el.get("calendarType") or "GREGORIAN").strip().upper()
    year, month, day = _attr(el, "year"), _attr(el, "monthOfYear"), _attr(el, "dayOfMonth")
    if calendar == "GREGORIAN" and _attr(el, "birthdate"):
        text = _attr(el, "birthdate")
    elif year:
        text = year + (f"-{int(month):02d}" if month else "") + (f"-{int(day):02d}" if month and day else "")
    elif _attr(el, "yearRangeFrom") or _attr(el, "yearRangeTo"):
        low, high = _attr(el, "yearRangeFrom"), _attr(el, "yearRangeTo")
        text = low if low == high or not high else high if not low else f"{low}-{high}"
    else:
        text = _attr(el, "birthdate")
    if not text:
        return None
    if (el.get("circa") or "").lower() == "true":
        text = f"circa {text}"
    if calendar != "GREGORIAN":
        text = f"{text} ({calendar})"
    return text


def _regulation(el: etree._Element) -> dict[str, Any]:
    url = _attr(el, "publicationUrl") or next(iter(_texts(el, "publicationUrl")), None)
    return {
        "number_title": _attr(el, "numberTitle"),
        "type": _attr(el, "regulationType"),
        "organisation_type": _attr(el, "organisationType"),
        "publication_date": _attr(el, "publicationDate"),
        "entry_into_force_date": _attr(el, "entryIntoForceDate"),
        "programme": _attr(el, "programme"),
        "url": url,
    }


def _identifier(el: etree._Element) -> Identifier | None:
    number = _attr(el, "number") or _attr(el, "latinNumber")
    if not number:
        return None
    flags = [
        label for attr, label in (
            ("diplomatic", "diplomatic"), ("knownExpired", "known expired"), ("knownFalse", "known false"),
            ("reportedLost", "reported lost"), ("revokedByIssuer", "revoked by issuer"),
        ) if (el.get(attr) or "").lower() == "true"
    ]
    details = [
        f"issued {_attr(el, 'issueDate')}" if _attr(el, "issueDate") else None,
        f"valid from {_attr(el, 'validFrom')}" if _attr(el, "validFrom") else None,
        f"valid to {_attr(el, 'validTo')}" if _attr(el, "validTo") else None,
        f"issued by {_attr(el, 'issuedBy')}" if _attr(el, "issuedBy") else None,
        f"region {_attr(el, 'region')}" if _attr(el, "region") else None,
        f"latin number {_attr(el, 'latinNumber')}" if _attr(el, "latinNumber") and _attr(el, "number") else None,
        f"name on document {_attr(el, 'nameOnDocument')}" if _attr(el, "nameOnDocument") else None,
        *flags,
        *_texts(el, "remark"),
    ]
    return Identifier(
        type=_attr(el, "identificationTypeDescription") or _attr(el, "identificationTypeCode") or "identification",
        number=number,
        country=_country(el),
        note=_join(*details, sep="; ") or None,
    )


def _address(el: etree._Element) -> str | None:
    po_box = _attr(el, "poBox")
    text = _join(
        _attr(el, "street"), f"PO Box {po_box}" if po_box else None, _attr(el, "place"), _attr(el, "city"),
        _attr(el, "zipCode"), _attr(el, "region"), _country_name(el),
    )
    remarks = _texts(el, "remark")
    if remarks:
        text = _join(text, f"({'; '.join(remarks)})", sep=" ")
    return text or None


def entity_record(el: etree._Element) -> Designation:
    """One `sanctionEntity` element as a Designation."""
    key = _attr(el, "logicalId")
    if not key:
        raise ParseError("EU sanctionEntity without logicalId")
    names = children(el, "nameAlias")
    ordered = sorted(names, key=lambda n: ((n.get("strong") or "true").lower() != "true", _lid(n)))
    all_names = [n for n in (_whole_name(n) for n in ordered) if n]
    extra: dict[str, Any] = {}
    if all_names:
        name, aliases = all_names[0], all_names[1:]
    else:  # never seen in a real export, but an entry must not vanish from the diff for lack of a name
        name, aliases = _attr(el, "euReferenceNumber") or f"EU sanctions entity {key}", []
        extra["name_missing"] = True

    regulations = [_regulation(r) for r in children(el, "regulation")]
    summaries: dict[str | None, list[dict[str, Any]]] = {}
    for summary in el.iter("{*}regulationSummary"):
        reg = _regulation(summary)
        summaries.setdefault(reg["number_title"], []).append(reg)
    known = {r["number_title"] for r in regulations}
    for number_title, regs in summaries.items():  # one per legal act, chosen without regard to element order
        if number_title not in known:
            regulations.append(min(regs, key=lambda r: sorted((k, v or "") for k, v in r.items())))
    publication_dates = sorted(r["publication_date"] for r in regulations if r["publication_date"])

    subject = next(iter(children(el, "subjectType")), None)
    subject_code = (subject.get("code") or "").strip().lower() if subject is not None else ""

    birth_dates, birth_places, birth_remarks = [], [], []
    for b in children(el, "birthdate"):
        birth_dates.append(birth_date_text(b))
        birth_places.append(_join(_attr(b, "place"), _attr(b, "city"), _attr(b, "region"), _country_name(b)))
        birth_remarks.extend(_texts(b, "remark"))

    contacts = [
        f"{c.get('key')}: {c.get('value')}" for a in children(el, "address") for c in children(a, "contactInfo")
        if (c.get("value") or "").strip()
    ]
    name_details = [
        {"name": _whole_name(n), "language": _attr(n, "nameLanguage"), "function": _attr(n, "function"),
         "title": _attr(n, "title"), "remarks": _texts(n, "remark")}
        for n in names
    ]
    extra.update({
        "eu_reference_number": _attr(el, "euReferenceNumber"),
        "united_nations_id": _attr(el, "unitedNationId"),
        "designation_date": _attr(el, "designationDate"),
        "designation_details": _attr(el, "designationDetails"),
        "delisting_date": _attr(el, "delistingDate"),
        "subject_type": subject_code or None,
        "regulations": regulations,
        "name_details": [d for d in name_details if d["function"] or d["title"] or d["remarks"]],
        "birth_date_remarks": birth_remarks,
        "contact_info": contacts,
        "citizenship_countries": [c for c in (_country_name(c) for c in children(el, "citizenship")) if c],
    })
    genders = sorted({g for g in (gender(_attr(n, "gender")) for n in names) if g})
    if len(genders) > 1:
        extra["genders"] = genders  # the names disagree: kept as published, no single field value
    identifiers = [i for i in (_identifier(i) for i in children(el, "identification")) if i]
    if _attr(el, "unitedNationId"):
        identifiers.append(Identifier(type="UN reference", number=_attr(el, "unitedNationId")))
    remarks = sorted(_texts(el, "remark"))
    entity_regulation = next(iter(regulations), {}) if children(el, "regulation") else {}
    return Designation(
        key=key,
        name=name,
        entity_type=ENTITY_TYPES.get(subject_code, "unknown"),
        aliases=aliases,
        programs=[r["programme"] for r in regulations if r["programme"]],
        listed_on=_attr(el, "designationDate") or (publication_dates[0] if publication_dates else None),
        nationalities=[c for c in (_country(c) for c in children(el, "citizenship")) if c],
        countries=[c for c in (_country(a) for a in children(el, "address")) if c],
        birth_dates=[d for d in birth_dates if d],
        birth_places=[p for p in birth_places if p],
        addresses=[a for a in (_address(a) for a in children(el, "address")) if a],
        identifiers=identifiers,
        remarks="\n".join(remarks) or None,
        gender=genders[0] if len(genders) == 1 else None,
        url=entity_regulation.get("url") or LIST_URL,
        extra=extra,
    )


class EuFinancialSanctions(Adapter):
    """EU consolidated financial sanctions list, XML export 1.1."""

    title = "EU Financial Sanctions Files (consolidated list)"
    publisher = "European Commission (DG FISMA)"
    jurisdiction = "EU"
    kind = "designation"
    parser_version = "2"  # 2: gender a field of its own

    def publication(self, parts: Mapping[str, Path]) -> Publication:
        """The export's generationDate and globalFileId (the EU's number for this file)."""
        root = head_match(Path(parts["main"]), r"(<export\b[^>]*>)") or ""
        generated = re.search(r'\sgenerationDate="([^"]+)"', root)
        file_id = re.search(r'\sglobalFileId="([^"]+)"', root)
        return Publication(date=iso_day(generated.group(1)) if generated else None,
                           id=file_id.group(1) if file_id else None)

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        path = self.main(parts)
        head = sniff(path)
        if head.startswith((b"{", b"[")):
            raise ParseError(f"EU FSF: got JSON, not the XML export: {head[:200].decode('utf-8', 'replace')}")
        if not head.startswith(b"<"):
            raise ParseError("EU FSF: not XML (the CSV export is not supported; use xmlFullSanctionsList_1_1)")
        root = root_tag(path)
        if root != "export":
            raise ParseError(f"EU FSF: root element is <{root}>, expected <export>")
        count = 0
        seen: set[str] = set()
        for el in iter_xml(path, "sanctionEntity"):
            record = entity_record(el)
            if record.key in seen:
                raise ParseError(f"EU FSF: logicalId {record.key} appears twice")
            seen.add(record.key)
            count += 1
            yield record
        if not count:
            raise ParseError("EU FSF: the export holds no sanctionEntity")


