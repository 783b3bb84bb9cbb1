"""Name forms that screening and news linking compare: one Latin spelling, folded, legal forms set aside."""

from __future__ import annotations

import pytest

from notifier.screening.names import fold, latin, legal_form, name_keys, normalize, skeleton


@pytest.mark.parametrize(
    "written",
    ["PJSC VTB Bank", "Bank VTB", "ПАО «Банк ВТБ»", "Public Joint Stock Company VTB Bank", "bank  v.t.b."],
)
def test_every_way_of_writing_vtb_bank_gives_one_key(written):
    assert "bank vtb" in name_keys(written)


def test_cyrillic_names_are_transliterated_and_legal_forms_stripped_whatever_the_form():
    assert (
        normalize("ООО «Ромашка»")
        == normalize("Romashka LLC")
        == normalize("Obshchestvo s ogranichennoy otvetstvennostyu Romashka")
    )
    assert normalize("ВТБ") == "vtb"
    assert latin("Шевченко") == "Shevchenko"


def test_legal_forms_are_recognized_in_many_languages():
    assert legal_form("ООО Ромашка") == "llc"
    assert legal_form("Müller GmbH") == "llc"
    assert legal_form("AO Kaluga Plant") == "jsc"
    assert legal_form("株式会社トヨタ") is not None
    assert legal_form("Ivan Petrov") is None


def test_japanese_is_read_as_japanese_and_kanji_only_names_get_both_readings():
    assert normalize("株式会社トヨタ") == normalize("Toyota K.K.") == "toyota"
    assert normalize("三菱商事株式会社") == "mitsubishishoji"
    assert "chugoku sekiyu" in name_keys("中国石油")
    assert "guo shi you zhong" in name_keys("中国石油")


def test_case_accents_punctuation_and_honorifics_are_folded():
    assert fold("Müller-Lüdenscheidt, J.S.C.") == "muller ludenscheidt jsc"
    assert normalize("Mr. John O'Brien") == "john obrien"
    assert normalize("Emperor Aviation") == "emperor aviation", "only forms of address are dropped"


def test_arabic_names_share_a_consonant_skeleton_with_their_latin_spelling():
    assert skeleton("mohammed") == skeleton("muhammad") == skeleton(latin("محمد").lower()) == "mhmd"
