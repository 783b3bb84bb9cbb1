"""The lists' name forms kept between screening runs: read back equal, never from another matcher version."""

from __future__ import annotations

import marshal

import pytest

from notifier.screening import names, stored_forms
from notifier.screening.batch import screen_entries

LISTED = [
    "ПАО «Банк ВТБ»", "株式会社ロスアトム", "ウラジーミル・プーチン", "محمد بن سلمان",
    "SHAGIVALEEV, Timur Nailevich", "김정은",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _nothing_offered():
    names.offer_forms({})
    yield
    names.offer_forms({})


def _refuse(name: str) -> names.NameForms:
    raise AssertionError(f"forms of {name!r} computed, not read from the file")


def test_forms_read_back_from_the_file_equal_the_computed_ones(tmp_path, monkeypatch):
    path = tmp_path / stored_forms.FILE_NAME
    computed = {n: names.forms(n) for n in LISTED}
    assert stored_forms.save(path, LISTED) == len(LISTED)
    names.offer_forms({})
    assert stored_forms.load(path) == len(LISTED)
    monkeypatch.setattr(names, "_forms", _refuse)
    assert {n: names.forms(n) for n in LISTED} == computed
    assert stored_forms.save(path, LISTED) == 0, "nothing new: the file is not rewritten"


def test_a_file_of_another_matcher_version_or_unreadable_is_not_used(tmp_path):
    path = tmp_path / stored_forms.FILE_NAME
    path.write_bytes(marshal.dumps(("another version", {"X": ((), None, (), False, "latin")})))
    assert stored_forms.load(path) == 0
    assert names.forms("X").tokens == ("x",)
    path.write_bytes(b"not marshal")
    assert stored_forms.load(path) == 0
    assert stored_forms.load(tmp_path / "missing") == 0


def test_a_folder_that_refuses_the_file_costs_the_run_nothing(tmp_path, caplog):
    folder = tmp_path / "gone"  # no such folder: the write fails as on a read-only or full disk
    assert stored_forms.save(folder / stored_forms.FILE_NAME, LISTED) == 0
    assert "not written" in caplog.text
    assert not folder.exists()


def test_a_second_screening_run_reads_the_lists_forms_and_finds_the_same_hits(tmp_path, monkeypatch):
    path = tmp_path / stored_forms.FILE_NAME
    entries = [{"name": "Bank VTB PJSC", "line": 2}, {"name": "Mohammed bin Salman", "line": 3}]
    designations = [("src", {"key": str(i), "name": n, "entity_type": "organization"}) for i, n in enumerate(LISTED)]
    first = screen_entries(entries, designations, forms_file=path)
    assert first[0], "the bench pair is found"
    names.offer_forms({})
    real_forms = names._forms
    monkeypatch.setattr(names, "_forms", lambda n: _refuse(n) if n in LISTED else real_forms(n))
    assert screen_entries(entries, designations, forms_file=path) == first
    stored = marshal.loads(path.read_bytes())[1]
    assert set(stored) == set(LISTED), "the lists' names only, never a counterparty's"
