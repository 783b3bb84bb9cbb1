"""OpenSanctions FtM entities files: targets only, volatile fields ignored, streamed, and the bench generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.ingest.canonical import canonical, content_hash
from sources.opensanctions import OpenSanctions
from tests.conftest import REPO, real

# entities.ftm.json is written by us in the real FtM export format (no real OpenSanctions sample was available).
FIXTURE = Path(__file__).parent / "fixtures" / "opensanctions" / "entities.ftm.json"
GEN = REPO / "bench" / "gen_ftm.py"


def parse(path: Path, **options) -> dict:
    return {r.key: r for r in OpenSanctions(options).parse({"main": path})}


def hashes(records: dict) -> dict[str, str]:
    return {k: content_hash(canonical(r.payload())) for k, r in records.items()}


def test_targets_become_designations_of_the_right_type():
    recs = parse(FIXTURE)
    assert {k: r.entity_type for k, r in recs.items()} == {
        "Q7747": "person",
        "NK-2TyN2ufwYaRzSvz7QyYcdr": "organization",
        "imo-9610808": "vessel",
        "NK-aircraft-ra96023": "aircraft",
        "NK-Wagner": "organization",
        "NK-miller-alexei": "person",
    }
    putin = recs["Q7747"]
    assert putin.name == "Vladimir Vladimirovich Putin"
    assert putin.aliases == ["Владимир Владимирович Путин", "PUTIN, Vladimir Vladimirovich", "Vova"]
    assert putin.birth_dates == ["1952-10-07"] and putin.nationalities == ["RU"]
    assert set(putin.programs) == {"US-RUSSIA-EO14024", "EU-RUS", "sanction", "role.pep"}
    assert putin.url == "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=35096"
    sber = recs["NK-2TyN2ufwYaRzSvz7QyYcdr"]
    sber_ids = {(i.type, i.number) for i in sber.identifiers}
    assert sber_ids >= {("innCode", "7707083893"), ("leiCode", "549300WE6TAF5EEWQS81")}
    assert "Savings Bank of the Russian Federation" in sber.aliases
    vessel = recs["imo-9610808"]
    assert vessel.countries == ["LR"]
    assert ("imoNumber", "IMO9610808") in {(i.type, i.number) for i in vessel.identifiers}
    wagner = recs["NK-Wagner"]  # nested sanction entity
    assert wagner.listed_on == "2021-12-13" and "EU Russia" in wagner.programs
    assert recs["NK-aircraft-ra96023"].remarks == "Aircraft of the Special Flight Detachment Rossiya."


def test_volatile_fields_do_not_enter_records(tmp_path):
    changed = tmp_path / "later.json"
    with open(FIXTURE, encoding="utf-8") as src, open(changed, "w", encoding="utf-8") as dst:
        for line in src:
            entity = json.loads(line)
            entity["first_seen"] = entity["last_seen"] = entity["last_change"] = "2030-01-01T00:00:00"
            entity["properties"]["modifiedAt"] = ["2030-01-01"]
            entity["properties"]["retrievedAt"] = ["2030-01-01"]
            dst.write(json.dumps(entity, ensure_ascii=False) + "\n")
    assert hashes(parse(changed)) == hashes(parse(FIXTURE))
    assert "2030" not in json.dumps([canonical(r.payload()) for r in parse(changed).values()])


def test_non_targets_and_non_things_are_skipped():
    everything = parse(FIXTURE, targets_only=False)
    assert set(everything) - set(parse(FIXTURE)) == {"NK-RF-MinFin"}  # a PublicBody that is no target
    assert not {"addr-19-vavilova", "ofac-sanction-10520", "ownership-sber-1"} & set(everything)


def test_a_line_that_is_not_json_names_its_line_and_earlier_records_stream(tmp_path):
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.json"
    bad.write_text("\n".join(lines[:2] + ['{"id": "x", "schema": "Per'] + lines[2:]) + "\n", encoding="utf-8")
    it = OpenSanctions().parse({"main": bad})
    assert next(it).key == "Q7747"  # streamed: records come before the whole file is read
    next(it)
    with pytest.raises(ParseError, match="line 3"):
        next(it)


@pytest.mark.parametrize(
    "name", ["failures/eu_fsf_http500_2021-11-04.json", "failures/eu_csv_got_html_page.html",
             "failures/ofac_sdn_csv_empty_download_2024-05-04.csv", "failures/eu_fsf_http500_2021-02-09.html"]
)
def test_real_failure_downloads_are_parse_errors(name):
    with pytest.raises(ParseError):
        list(OpenSanctions().parse({"main": real(name)}))


def test_generator_base_and_changed_copy_diff_as_specified(tmp_path):
    base, changed = tmp_path / "base.jsonl", tmp_path / "changed.jsonl"
    subprocess.run([sys.executable, str(GEN), "1000", str(base), "--seed", "7"], check=True)
    subprocess.run(
        [sys.executable, str(GEN), "1000", str(changed), "--base", str(base), "--change-fraction", "0.04",
         "--seed", "8"],
        check=True, capture_output=True,
    )
    before, after = hashes(parse(base)), hashes(parse(changed))
    assert len(before) == 1000
    schemas = {r.extra["schema"] for r in parse(base).values()}
    assert schemas == {"Person", "Company", "Vessel"}
    added, removed = after.keys() - before.keys(), before.keys() - after.keys()
    amended = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert (len(amended), len(removed), len(added)) == (20, 10, 10)  # 4 % of 1000: half, quarter, quarter
    assert len(after) == 1000
