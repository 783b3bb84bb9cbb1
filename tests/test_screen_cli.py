"""`notifier screen FILE`: a counterparty file screened against every current record of the stored lists, as a
compliance team runs it over its customer base (a subprocess in a fresh folder, real lists replayed first)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import real
from tests.test_cli import run, workdir  # noqa: F401  (the fixture)

COUNTERPARTIES = """reference,name,country,dob
C-1,Badege Eric,,
C-2,Makaroff Ivan Petrovich Consulting,,
C-3,Жером Каквабу Буканде,,
C-4,Sadam Husein al Tikriti,,
"""


@pytest.fixture
def stored(workdir):  # noqa: F811
    for source, path in (
        ("un_sc", "un/2025-12-10_consolidated.xml"),
        ("us_ofac_cons", "ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML"),
    ):
        done = run(workdir, "replay", source, str(real(path)))
        assert done.returncode == 0, done.stderr
    (workdir / "cp.csv").write_text(COUNTERPARTIES, encoding="utf-8")
    return workdir


def test_screen_json_gives_one_object_per_hit_with_the_record_score_and_why(stored):
    done = run(stored, "screen", "cp.csv", "--json")
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    by_ref: dict[str, dict] = {}
    for h in hits:
        by_ref.setdefault(h["reference"], h)  # a counterparty's best hit comes first
    assert set(by_ref) == {"C-1", "C-3", "C-4"}, "the made-up consulting firm is nobody"
    eric = by_ref["C-1"]
    assert (eric["source"], eric["key"], eric["record_name"]) == ("un_sc", "6907993", "ERIC BADEGE")
    assert eric["name"] == "Badege Eric" and eric["score"] >= 0.88
    assert any("Badege Eric" in a for a in eric["why"]["agreed"])
    assert by_ref["C-3"]["key"] == "6907997", "Cyrillic against the Latin record"
    assert by_ref["C-4"]["record_name"] == "SADDAM HUSSEIN AL-TIKRITI"
    assert "4 counterparties screened against" in done.stderr and "hits on 3 counterparties" in done.stderr


def test_screen_only_the_named_lists_and_a_higher_threshold(stored):
    only = run(stored, "screen", "cp.csv", "--json", "--source", "us_ofac_cons")
    assert only.returncode == 0, only.stderr
    assert only.stdout.strip() == "" and "0 hits" in only.stderr
    table = run(stored, "screen", "cp.csv", "--threshold", "0.99")
    assert table.returncode == 0 and "ERIC BADEGE" in table.stdout and "Каквабу" not in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["screen", "missing.csv"], "missing.csv: no such file"),
        (["screen", "cp.csv", "--source", "nope"], "unknown source 'nope'"),
        (["screen", "bad.csv"], "no `name` column"),
    ],
)
def test_screen_errors_are_one_line(stored, args, message):
    (stored / "bad.csv").write_text("company\nX\n")
    done = run(stored, *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
