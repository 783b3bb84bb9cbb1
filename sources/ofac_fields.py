"""What OFAC's facts become in a record, whether they come from the XML (idList, remarks) or from sdn.csv remarks.

sdn.csv puts in one `remarks` column, as "; "-separated clauses, what the XML gives in elements: "DOB 10 Dec 1948;
POB Moscow, Russia; nationality Russia; Gender Male; Passport 123 (Russia) issued 01 Jan 2010; a.k.a. 'X';
Linked To: Y." Each clause label is the XML's idType (or a list name: DOB, POB, nationality, citizen, a.k.a.), so
one table of labels serves both formats and `apply_id` is the single place where an id becomes a field.
Clauses with a label we do not know stay in `remarks`, as published: nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from notifier import parsing as h
from notifier.parsing import gender
from notifier.records import Designation, Identifier, Vessel

# idList types that describe the designation rather than identify it: kept as extra["facts"], not identifiers.
FACT_TYPES = re.compile(
    r"^(secondary sanctions risk|target type|organization type|organization established date|listing date"
    r"|effective date|purchase/sales for divestment date|executive order|caatsa|additional sanctions information"
    r"|transactions prohibited|ifca determination|peesa information|fax|nationality of registration|issuer name"
    r"|aircraft (model|manufacture date|operator|construction number)|other vessel|former vessel flag"
    r"|eye color|hair color|height|weight|ethnicity|citizenship|nationality|location)",
    re.IGNORECASE,
)

# Labels of sdn.csv remark clauses that are XML idTypes (longest matched first). Facts with a variable part are
# matched by _FACT_LABEL below.
ID_LABELS = (
    "Passport", "Diplomatic Passport", "Passport Booklet:", "Passport Booklet", "Stateless Person Passport",
    "British National Overseas Passport", "Tax ID No.", "Registration Number", "National ID No.", "Registration ID",
    "Vessel Registration Identification", "Identification Number", "MMSI", "Cedula No.", "C.U.R.P.", "C.U.R.P. #",
    "R.F.C.", "R.F.C. #", "RFC", "NIT #", "RUC #", "RIF #", "D.N.I.", "C.U.I.T.", "C.U.I.", "C.U.I.P.", "C.I.F.",
    "I.F.E.", "SSN", "RTN", "NIE", "Government Gazette Number", "Business Registration Number", "Business Number",
    "Business Registration Document #", "Folio Mercantil No.", "Company Number", "UK Company Number",
    "Commercial Registry Number", "Matricula Mercantil No", "Chamber of Commerce Number", "Enterprise Number",
    "Public Registration Number", "Central Registration System Number", "Certificate of Incorporation Number",
    "Legal Entity Number", "LE Number", "SWIFT/BIC", "BIK (RU)", "D-U-N-S Number", "ISIN", "Equity Ticker",
    "Unified Social Credit Code (USCC)", "United Social Credit Code Certificate (USCCC)",
    "Economic Register Number (CBLS)", "V.A.T. Number", "License", "C.R. No.", "Romanian C.R.",
    "Trade License No.", "Tourism License No.", "Electoral Registry No.", "Credencial electoral",
    "Driver's License No.", "Birth Certificate Number", "Italian Fiscal Code", "Personal ID Card",
    "National Foreign ID Number", "Cartilla de Servicio Militar Nacional", "Istanbul Chamber of Comm. No.",
    "Dubai Chamber of Commerce Membership No.", "US FEIN", "Chinese Commercial Code", "Residency Number",
    "Registered Charity No.", "Branch Unit Number", "Turkish Identification Number", "Numero de Identidad",
    "Citizen's Card Number", "Kenyan ID No.", "Travel Document Number", "Permit Number", "VisaNumberID",
    "File Number", "Tazkira National ID Card", "SRE Permit No.", "Immigration No.", "Refugee ID Card",
    "Numero Unico de Identificacao Tributaria (NUIT)", "Afghan Money Service Provider License Number",
    "Pilot License Number", "UAE Identification", "Organization Code", "MSB Registration Number",
    "Seafarer's Identification Document", "Military Registration Number", "Paraguayan tax identification number",
    "Stateless Person ID Card", "Serial No.", "Moroccan Personal ID No.", "Bosnian Personal ID No.",
    "Aircraft Manufacturer's Serial Number (MSN)", "Aircraft Tail Number", "Previous Aircraft Tail Number",
    "Aircraft Mode S Transponder Code", "Aircraft Serial Identification", "Website", "Email Address", "Phone Number",
    "Gender",
)
FACT_LABELS = (
    "Secondary sanctions risk:", "Transactions Prohibited For Persons Owned or Controlled By U.S. Financial "
    "Institutions:", "Additional Sanctions Information -", "IFCA Determination -", "PEESA Information:",
    "Organization Established Date", "Organization Type:", "Target Type", "Nationality of Registration",
    "Issuer Name", "Aircraft Manufacture Date", "Aircraft Model", "Aircraft Operator",
    "Aircraft Construction Number (also called L/N or S/N or F/N)", "Vessel Year of Build", "Other Vessel Flag",
    "Other Vessel Call Sign", "Other Vessel Type", "Former Vessel Flag", "Eye Color", "Hair Color", "Height",
)
_VARIABLE_LABELS = (
    r"Executive Order \d+ (?:Directive Determination|Directive Information|information)(?: -|:)?",
    r"(?:Listing|Effective) Date \([^()]*\):?",
    r"Purchase/Sales For Divestment Date \([^()]*\):?",
    r"CAATSA Section \d+ Information:",
    r"Digital Currency Address - [A-Z0-9]+",
)
_LABEL = re.compile(
    r"^(?:alt\. )?(?P<label>"
    + "|".join([*(re.escape(x) for x in sorted({*ID_LABELS, *FACT_LABELS}, key=len, reverse=True)), *_VARIABLE_LABELS])
    + r")(?:\s+(?P<value>.*))?$"
)
_DETAILS = re.compile(
    r"^(?P<number>.*?)(?:\s*\((?P<country>[^()]+)\))?(?:\s*issued (?P<issued>\d{0,2} ?[A-Z][a-z]{2} \d{4}|\d{4}))?"
    r"(?:\s*expires (?P<expires>\d{0,2} ?[A-Z][a-z]{2} \d{4}|\d{4}))?$"
)
_LIST_CLAUSE = re.compile(r"^(?:alt\. )?(?P<label>DOB|POB|nationality|citizen|Linked To:)\s+(?P<value>.+)$")
_ALIAS_CLAUSE = re.compile(r"^(?P<type>[afn])\.k\.a\.,? '(?P<name>.*)'$")
_LINKED = re.compile(r"\(\s*(Linked To: .*)\)\s*$")
_IMO = re.compile(r"^IMO\s*(\d{7})$")

# sdn.csv cuts remarks at this length (sdn_comments.csv holds the rest).
REMARKS_LIMIT = 1000


def iso_date(text: str | None) -> str | None:
    """OFAC's "10 Dec 1948" / "Dec 1948" as ISO ("1948-12-10" / "1948-12"); anything else as published."""
    return h.iso_date(text, "%d %b %Y", "%b %Y")


def id_note(issued: str | None, expires: str | None) -> str | None:
    """The issue and expiry dates of an id document, as one note ("issued 2010-01-10; expires 2015-01-09")."""
    dates = [f"{label} {iso_date(d)}" for label, d in (("issued", issued), ("expires", expires)) if d]
    return "; ".join(dates) or None


def _vessel(record: Designation) -> Vessel:
    if record.vessel is None:
        record.vessel = Vessel()
    return record.vessel


def apply_id(record: Designation, id_type: str, number: str | None, country: str | None, note: str | None) -> None:
    """One idList entry (or remark clause of the same type) into the record's fields."""
    kind = id_type.strip().rstrip(" :-").lower()
    if kind == "gender" and number:
        record.gender = gender(number)
    elif kind == "website" and number:
        record.websites.append(number)
    elif kind == "email address" and number:
        record.emails.append(number)
    elif kind == "phone number" and number:
        record.phones.append(number)
    elif kind == "vessel year of build" and number:
        _vessel(record).build_year = number
    elif FACT_TYPES.match(id_type) or not number:
        fact = {"type": id_type.rstrip(" :-"), "value": number, "country": country}
        record.extra.setdefault("facts", []).append(fact)
    else:
        record.identifiers.append(Identifier(id_type, number, country, note))
        imo = _IMO.match(number)
        if kind == "vessel registration identification" and imo:
            _vessel(record).imo = imo.group(1)
        elif kind == "mmsi":
            _vessel(record).mmsi = number


def linked_in_xml_remarks(remarks: str | None) -> tuple[str | None, list[str]]:
    """The XML's remarks end with "(Linked To: A; Linked To: B)": (the rest of the remarks, [A, B])."""
    if not remarks:
        return remarks, []
    found = _LINKED.search(remarks)
    if not found:
        return remarks, []
    names = [n.strip() for n in re.split(r";\s*Linked To:\s*", found.group(1)[len("Linked To:"):]) if n.strip()]
    rest = remarks[: found.start()].strip().rstrip(";").strip()
    return rest or None, names


_ABBREVIATIONS = frozenset({"LTD", "CO", "INC", "CORP", "LTDA", "JR", "SR", "CIA", "BHD", "PVT", "PTE", "Ltd", "Co",
                            "Inc", "Corp", "Jr", "Sr", "Bhd", "Pvt", "Pte", "Sec", "No"})


_INITIALS = re.compile(r"^(?:[A-Za-z]{1,4}\.)+[A-Za-z]{1,4}$")  # S.A, C.V, S.A.S, L.L.C


def _closing_period(clause: str) -> str:
    """sdn.csv ends remarks with a period unless the last clause already ends with one ("CO., LTD.", "S.A.",
    "...aspx#directives."): the period is the clause's own after an abbreviation, initials or a link."""
    body = clause[:-1]
    words = body.rsplit(None, 1)
    last = words[-1].rstrip(",") if words else ""
    if body.endswith("'") or _LABEL.match(clause) or _LIST_CLAUSE.match(clause) and not clause.startswith("Linked"):
        return body
    if last in _ABBREVIATIONS or _INITIALS.match(last) or "#" in last or "://" in last or last.startswith("www."):
        return clause
    return body


@dataclass
class Remarks:
    """sdn.csv remarks taken apart; `aliases` as (type "aka"/"fka"/"nka", name)."""

    aliases: list[tuple[str, str]] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    cut: bool = False  # the remark was cut at OFAC's length limit and its last clause dropped


def apply_remarks(record: Designation, text: str | None, complete: bool) -> Remarks:
    """Parse sdn.csv remarks into the record's fields; returns aliases and the clauses no field took.

    `complete` is False when sdn_comments.csv was not given: a remark of exactly the length limit without its
    closing period was cut by OFAC, and its last clause (a half identifier) is dropped rather than stored wrong.
    """
    out = Remarks()
    if not text or not text.strip():
        return out
    cut = not complete and len(text) >= REMARKS_LIMIT and not text.rstrip().endswith(".")
    clauses = [c.strip() for c in text.strip().split("; ") if c.strip()]
    if cut:
        clauses.pop()
        out.cut = True
    elif clauses and clauses[-1].endswith("."):
        clauses[-1] = _closing_period(clauses[-1])
    for clause in clauses:
        alias = _ALIAS_CLAUSE.match(clause)
        if alias:
            out.aliases.append((f"{alias.group('type')}ka", alias.group("name").strip()))
            continue
        listed = _LIST_CLAUSE.match(clause)
        if listed:
            label, value = listed.group("label"), listed.group("value").strip()
            if label == "DOB":
                record.birth_dates.append(iso_date(value) or value)
            elif label == "POB":
                record.birth_places.append(value)
            elif label == "nationality":
                record.nationalities.append(value)
            elif label == "citizen":
                record.citizenships.append(value)
                record.nationalities.append(value)
            else:
                record.linked_to.append(value)
            continue
        labelled = _LABEL.match(clause)
        if labelled:
            label, value = labelled.group("label"), (labelled.group("value") or "").strip()
            details = _DETAILS.match(value)
            if details and not FACT_TYPES.match(label):  # facts are free text: "Sec. 235(a)(2)" is no country
                number = details.group("number").strip() or None
                note = id_note(details.group("issued"), details.group("expires"))
                apply_id(record, label, number, details.group("country"), note)
            else:
                apply_id(record, label, value or None, None, None)
            continue
        out.rest.append(clause)
    return out
