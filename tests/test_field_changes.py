"""An amendment says what changed item by item, so an alert can print "Tax ID No. 7702070139 added"."""

from __future__ import annotations

from notifier.ingest.diff import field_changes


def test_list_fields_diff_as_added_and_removed_items_in_any_order():
    passport = {"type": "Passport", "number": "1"}
    before = {"aliases": ["A", "B"], "identifiers": [passport], "programs": ["X"]}
    tax_id = {"type": "Tax ID No.", "number": "77", "country": "Russia"}
    after = {"aliases": ["B", "A", "C"], "identifiers": [passport, tax_id], "programs": ["X"]}
    assert field_changes(before, after) == [
        {"field": "aliases", "added": ["C"], "removed": []},
        {"field": "identifiers", "added": [tax_id], "removed": []},
    ]


def test_dict_fields_diff_key_by_key_with_dotted_names():
    before = {"vessel": {"flag": "Russia", "imo": "9187629"}, "extra": {"title": "Director", "facts": [{"type": "a"}]}}
    after = {"vessel": {"flag": "Cameroon", "imo": "9187629"}, "extra": {"facts": [{"type": "a"}, {"type": "b"}]}}
    assert field_changes(before, after) == [
        {"field": "extra.facts", "added": [{"type": "b"}], "removed": []},
        {"field": "extra.title", "before": "Director", "after": None},
        {"field": "vessel.flag", "before": "Russia", "after": "Cameroon"},
    ]


def test_a_field_that_appears_or_disappears_is_reported_in_its_own_shape():
    assert field_changes({}, {"vessel": {"imo": "1"}, "gender": "male", "websites": ["a.ru"]}) == [
        {"field": "gender", "before": None, "after": "male"},
        {"field": "vessel.imo", "before": None, "after": "1"},
        {"field": "websites", "added": ["a.ru"], "removed": []},
    ]
    assert field_changes({"remarks": "x"}, {"remarks": "y"}) == [{"field": "remarks", "before": "x", "after": "y"}]
