"""sdn.csv remarks become the fields the XML gives: the CSV and the XML of one publication give the same records."""

from __future__ import annotations

import csv
import json

from notifier.ingest.canonical import canonical_payload
from notifier.ingest.pipeline import poll
from notifier.records import Designation, Identifier, Vessel
from sources.ofac_fields import apply_remarks
from sources.us_ofac import OfacConsolidated, OfacSdn
from tests.conftest import real

# Fields the prim CSV cannot carry without its alt.csv/add.csv companions (not in the real sample).
_NEEDS_COMPANIONS = ("aliases", "addresses", "countries")


def _comparable(record: Designation) -> dict:
    payload = canonical_payload(record)
    for name in _NEEDS_COMPANIONS:
        payload.pop(name, None)
    extra = payload.get("extra", {})
    extra.pop("alias_details", None)
    payload["extra"] = extra
    return payload


def test_consolidated_csv_and_xml_of_one_publication_give_the_same_records():
    xml_path = real("ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML")
    xml = {r.key: r for r in OfacConsolidated().parse({"main": xml_path})}
    prim = {r.key: r for r in OfacConsolidated().parse({"main": real("ofac/CONS_PRIM_2025-12-19.csv")})}
    assert set(prim) == set(xml) and len(xml) == 442
    cut = {k for k, r in prim.items() if "remarks_cut" in r.extra}
    assert len(cut) == 10, "sdn.csv cuts remarks at 1000 characters; without sdn_comments.csv those records are short"
    differ = {k for k in set(xml) - cut if _comparable(xml[k]) != _comparable(prim[k])}
    # 17064 (OAO NOVATEK): the XML itself puts "(Russia)" inside idNumber where the CSV says "... (Russia)".
    assert differ == {"17064"}
    assert xml["17064"].identifiers[0].number.endswith("(Russia)")
    for key, record in prim.items():
        assert set(record.aliases) <= set(xml[key].aliases), f"{key}: every a.k.a. of the remarks is an XML alias"
    # the fields are really filled, not equal because both are empty
    filled = [r for k, r in prim.items() if k not in cut]
    assert sum(bool(r.identifiers) for r in filled) > 250 and sum(bool(r.birth_dates) for r in filled) > 50
    assert sum(bool(r.linked_to) for r in filled) > 250 and sum(bool(r.websites) for r in filled) > 100
    vtb = prim["17013"]
    assert Identifier("Tax ID No.", "7702070139", "Russia") in vtb.identifiers
    assert {"www.vtb.com", "www.vtb.ru"} <= set(vtb.websites) and "SWIFT/BIC" in {i.type for i in vtb.identifiers}


def _raw_rows(path) -> dict[str, list[str]]:
    with open(path, encoding="latin-1", newline="") as fh:
        return {row[0]: row for row in csv.reader(fh) if len(row) == 12}


def test_every_new_designation_of_2024_02_23_carries_the_birth_dates_and_ids_its_remarks_give():
    old = _raw_rows(real("ofac/sdn_csv/2024-02-20_sdn.csv"))
    path = real("ofac/sdn_csv/2024-02-23_sdn.csv")
    raw = _raw_rows(path)
    new_keys = set(raw) - set(old)
    assert len(new_keys) == 553
    records = {r.key: r for r in OfacSdn().parse({"main": path}) if r.key in new_keys}
    with_dob = with_ids = 0
    for key in new_keys:
        record, remark = records[key], raw[key][11]
        clauses = [c.strip().rstrip(".").removeprefix("alt. ") for c in remark.split("; ")]
        dobs = [c[4:] for c in clauses if c.startswith("DOB ")]
        assert len(record.birth_dates) == len(set(dobs)), f"{key}: {dobs} -> {record.birth_dates}"
        with_dob += bool(dobs)
        for clause in clauses:
            for label in ("Tax ID No.", "Passport", "National ID No.", "Registration Number", "Registration ID"):
                if clause.startswith(label + " ") and "remarks_cut" not in record.extra:
                    number = clause[len(label) + 1 :].split(" (")[0]
                    assert any(i.type == label and i.number == number for i in record.identifiers), (key, clause)
                    with_ids += 1
        payload = json.dumps(record.payload(), ensure_ascii=False)
        for clause in clauses[:-1] if "remarks_cut" in record.extra else clauses:
            if clause.startswith("Gender "):
                assert record.gender == clause.split()[1].lower()
            elif clause.startswith(("nationality ", "citizen ")):
                assert clause.split(" ", 1)[1] in record.nationalities
            elif clause.startswith("Linked To: "):
                assert clause[len("Linked To: ") :].rstrip(".") in {n.rstrip(".") for n in record.linked_to}
            elif clause.startswith("Vessel Registration Identification IMO "):
                assert record.vessel and record.vessel.imo == clause.split()[-1]
        assert record.name in payload
    assert with_dob > 50 and with_ids > 900, (with_dob, with_ids)  # 57 persons with a DOB, 990 ids (measured)


def test_remark_grammar_alt_ids_documents_vessels_and_free_text():
    record = Designation(key="1", name="X")
    rest = apply_remarks(
        record,
        "DOB 10 Dec 1948; alt. DOB circa 1950; POB Moscow, Russia; nationality Russia; citizen Cyprus; Gender Female; "
        "Passport 123456 (Russia) issued 01 Jan 2010 expires 01 Jan 2020; alt. Passport 99 (Cyprus); "
        "Vessel Registration Identification IMO 9187629; MMSI 273000000; Vessel Year of Build 1999; "
        "Website www.example.ru; Email Address a@example.ru; Secondary sanctions risk: section 1(b) of Executive "
        "Order 13224; a.k.a. 'ALPHA'; f.k.a. 'BETA, S.A.'; Member of the State Duma; Linked To: ROMASHKA, LLC.",
        complete=True,
    )
    assert record.birth_dates == ["1948-12-10", "circa 1950"] and record.birth_places == ["Moscow, Russia"]
    assert record.nationalities == ["Russia", "Cyprus"] and record.citizenships == ["Cyprus"]
    assert record.gender == "female"
    assert record.identifiers[:2] == [
        Identifier("Passport", "123456", "Russia", "issued 2010-01-01; expires 2020-01-01"),
        Identifier("Passport", "99", "Cyprus"),
    ]
    assert record.vessel == Vessel(imo="9187629", mmsi="273000000", build_year="1999")
    assert record.websites == ["www.example.ru"] and record.emails == ["a@example.ru"]
    assert record.extra["facts"] == [
        {"type": "Secondary sanctions risk", "value": "section 1(b) of Executive Order 13224", "country": None}
    ]
    assert rest.aliases == [("aka", "ALPHA"), ("fka", "BETA, S.A.")]
    assert rest.rest == ["Member of the State Duma"] and record.linked_to == ["ROMASHKA, LLC"]


def test_a_remark_cut_at_the_limit_loses_its_half_clause_not_its_truth():
    text = "Tax ID No. 7702070139 (Russia); " + "Member of the board; " * 47 + "Registration Number 10277000"
    text = text[:1000]
    record = Designation(key="1", name="X")
    parsed = apply_remarks(record, text, complete=False)
    assert parsed.cut and record.identifiers == [Identifier("Tax ID No.", "7702070139", "Russia")]
    whole = Designation(key="1", name="X")
    assert not apply_remarks(whole, text, complete=True).cut  # with sdn_comments.csv the remark is whole


def test_sdn_comments_continue_the_cut_remarks_so_every_link_is_kept():
    folder = "ofac/csv_sets/2021-07-07"
    parts = {p: real(f"{folder}/{f}.csv") for p, f in (("main", "sdn"), ("comments", "sdn_comments"))}
    records = {r.key: r for r in OfacSdn().parse(parts)}
    assert "remarks_cut" not in records["12300"].extra
    assert "RED MUNDIAL INMOBILIARIA, S.A. DE C.V." in records["12300"].linked_to
    assert len(records["12300"].linked_to) > 15
    alone = {r.key: r for r in OfacSdn().parse({"main": parts["main"]})}
    assert "remarks_cut" in alone["12300"].extra


def test_bazalt_amendment_says_the_tax_id_was_added_and_the_website_removed(make_ctx):
    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}})
    poll(ctx, "us_ofac_sdn", {"main": str(real("ofac/sdn_csv/2024-02-20_sdn.csv"))})
    result = poll(ctx, "us_ofac_sdn", {"main": str(real("ofac/sdn_csv/2024-02-23_sdn.csv"))})
    [bazalt] = [c for c in result.changes if c.key == "16862"]
    fields = {f["field"]: f for f in bazalt.fields}
    assert fields["identifiers"]["added"] == [
        {"type": "Registration Number", "number": "1127747209501", "country": "Russia"},
        {"type": "Tax ID No.", "number": "7719830028", "country": "Russia"},
    ]
    assert fields["websites"] == {"field": "websites", "added": [], "removed": ["www.bazalt.ru"]}
    assert fields["emails"]["removed"] == ["moscow@bazalt.ru"]
    assert fields["programs"]["added"] == ["RUSSIA-EO14024"]
    assert "remarks" not in fields, "the remarks held nothing but fields: no whole-text before/after"


def test_xml_remarks_give_up_their_links_and_keep_the_rest():
    from sources.ofac_fields import linked_in_xml_remarks

    assert linked_in_xml_remarks("For more information: http://x#directives.; (Linked To: VTB BANK)") == (
        "For more information: http://x#directives.",
        ["VTB BANK"],
    )
    two = linked_in_xml_remarks("(Linked To: A (HK) LIMITED; Linked To: B, S.A.)")
    assert two == (None, ["A (HK) LIMITED", "B, S.A."])
    assert linked_in_xml_remarks("HAMAS - Hebron") == ("HAMAS - Hebron", [])
