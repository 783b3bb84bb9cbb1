"""Shortcuts of the matcher that must never change a result: a comparison skipped by a bound is one whose
score could not have mattered."""

from __future__ import annotations

import random

from notifier.screening.matching import (
    DEFAULT_THRESHOLD,
    _sound_may_reach,
    _sound_similarity,
    _sounds,
    compare,
    make_party,
    name_similarity,
)
from notifier.screening.names import forms

NAMES = [
    "Mohammed bin Salman", "محمد بن سلمان", "Abdul Raqib Hasan", "عبدالرقیب حسن", "Sergei Viktorovich Lavrov",
    "Лавров Сергей Викторович", "セルゲイ・ラブロフ", "ウラジーミル・プーチン", "Vladimir Vladimirovich Putin",
    "Putin Vladimir", "Kim Jong Un", "김정은", "Krasnov Trading LLC", "クラスノフ", "Mahmoud Ahmadinejad",
    "محمود احمدی نژاد", "Central Bank of Iran", "セントラル・バンク", "Petrov Ivan", "Ветров Иван",
    "Ali Barzan Ibrahim Hasan", "Barzan Ibrahim Hasan", "Network Trading", "ネットワーク・トレーディング",
    "Markovic Dragan", "マルコヴィッチ・ドラガン", "Usman Ghani", "عثمان غني", "Abdullah al-Turki", "عبدالله التركي",
]  # fmt: skip


def _readings(rng: random.Random) -> str:
    word = "".join(rng.choice("bdgkmnrstaui") for _ in range(rng.randint(1, 7)))
    if rng.random() < 0.25:
        word += "|" + "".join(rng.choice("bdgkmnrstau") for _ in range(rng.randint(0, 6)))
    return word


def test_a_sound_comparison_is_skipped_only_when_it_cannot_reach_what_is_needed():
    pairs = []
    for a in NAMES:
        for b in NAMES:
            fa, fb = forms(a), forms(b)
            for kana in (False, True):
                for p in (False, True):
                    pairs.append((_sounds(fa, kana, kana, p), _sounds(fb, kana, kana, p)))
    rng = random.Random(15)
    for _ in range(8_000):  # consonant strings of every shape, with two readings and empty ones
        pairs.append(tuple(tuple(_readings(rng) for _ in range(rng.randint(1, 5))) for _ in range(2)))
    skipped = 0
    for a, b in pairs:
        score = _sound_similarity(a, b)
        for need in (0.0, 0.5, 0.7, 0.8, 0.84, 0.88, 0.9, 0.93, 0.95, 1.0, score, score + 1e-6):
            if not _sound_may_reach(a, b, need):
                skipped += 1
                assert score < need, (a, b, need, score)
    assert skipped > len(pairs), "the bound skips most comparisons that cannot reach a threshold"


def test_a_floor_changes_no_score_at_or_above_it_and_no_hit():
    for a in NAMES:
        for b in NAMES:
            exact = name_similarity(forms(a), forms(b))
            for low in (0.5, 0.8, DEFAULT_THRESHOLD, exact):
                quick = name_similarity(forms(a), forms(b), low)
                assert quick == exact if exact >= low else quick <= exact
            hit = compare(make_party([a]), make_party([b]), floor=DEFAULT_THRESHOLD)
            assert hit is None or hit.name_score == exact
