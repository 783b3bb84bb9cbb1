"""Federal Register API documents.json responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.federal_register import FederalRegister
from tests.conftest import real

REAL = "feeds/federal_register_api_documents_2024-01-02_to_01-17.json"
OFAC, BIS = "foreign-assets-control-office", "industry-and-security-bureau"


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in FederalRegister(options).parse({"main": path})}


def test_all_documents_of_the_real_page():
    recs = parse(real(REAL))
    assert len(recs) == 1000
    doc = recs["2024-00273"]
    assert doc.title_text == "Notice of OFAC Sanctions Actions"
    assert doc.published == "2024-01-10"
    assert doc.link == "https://www.federalregister.gov/documents/2024/01/10/2024-00273/notice-of-ofac-sanctions-actions"
    assert doc.summary.startswith("The U.S. Department of the Treasury's Office of Foreign Assets Control (OFAC)")
    assert doc.extra["agencies"] == ["Treasury Department", "Foreign Assets Control Office"]
    assert doc.extra["type"] == "Notice" and doc.extra["citation"] == "89 FR 1628"
    for r in recs.values():
        r.validate()


def test_ofac_filter_keeps_the_sanctions_actions_notices():
    recs = parse(real(REAL), agencies=[OFAC])
    assert len(recs) == 4
    titles = [r.title_text for r in recs.values()]
    assert titles.count("Notice of OFAC Sanctions Actions") == 2
    assert "Publication of Russian Harmful Foreign Activities Sanctions Regulations Web General Licenses 81, 82, 83, " \
           "84, and 85" in titles


def test_bis_filter_and_both():
    bis = parse(real(REAL), agencies=[BIS])
    assert len(bis) == 4
    assert "Sensors and Instrumentation Technical Advisory Committee; Notice of Open Meeting" in [
        r.title_text for r in bis.values()
    ]
    assert all("Industry and Security Bureau" in r.extra["agencies"] for r in bis.values())
    assert len(parse(real(REAL), agencies=[OFAC, BIS])) == 8


def test_page_views_and_comment_counters_are_no_change(tmp_path):
    data = json.loads(real(REAL).read_text(encoding="utf-8"))
    for doc in data["results"]:
        if doc.get("page_views"):
            doc["page_views"]["count"] += 100
        doc["public_inspection_pdf_url"] = (doc.get("public_inspection_pdf_url") or "") + "1"
    later = tmp_path / "later.json"
    later.write_text(json.dumps(data), encoding="utf-8")

    def hashes(recs: dict) -> dict:
        return {k: content_hash(canonical(r.payload())) for k, r in recs.items()}

    assert hashes(parse(later)) == hashes(parse(real(REAL)))


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html",
             "feeds/federal_register_issue_2024-02-12.xml"]
)
def test_other_bodies_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(FederalRegister().parse({"main": real(name)}))
