"""PDFs read in-process: METI's party lists and MOFA's notices give the same records as the text the adapter
read before (pdftotext output of the same PDFs), and bad PDFs are a clear ParseError."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.adapter import ParseError
from notifier.parsing import pdf_text
from sources.jp_meti_parties import JapanMetiExportBanParties
from tests.conftest import real

RU_TEXT = "jp/meti_export_ban_parties/meti_list_russia_tokutei_2025-09-12_926dd5660.txt"
RU_PDF = "jp/mofa_notices/list_russia_tokutei.pdf"  # METI's full list, 最終更新日 2025-09-12
NOTICE_2025_09_12 = "jp/mofa_notices/20250912list_russia_tokutei.pdf"  # METI's notice adding 560 and 561
MOFA_NOTICE_2024_06_21 = "jp/mofa_notices/100687427.pdf"  # MOFA's notice adding Russian parties 524-537
# pdftotext glued words the PDF keeps apart ("ExperimentalPhysics", "9Melitopolskaya"): there the PDF is right.
PDFTOTEXT_GLUED = {
    "russia-256": ("name", "Experimental Physics"),
    "russia-275": ("addresses", "9 Melitopolskaya ul., Str. 3, Moscow, Russia"),
    "russia-343": ("name", "Physical, Technical"),
    "russia-529": ("addresses", "Munitsipalny Okrug Krasnoselski"),
}


def records(path: Path) -> tuple[dict[str, dict], bool]:
    adapter = JapanMetiExportBanParties({})
    out = {}
    for r in adapter.parse({"main": path}):
        r.validate()
        out[r.key] = r.payload()
    return out, adapter.is_delta


def test_the_russia_list_pdf_gives_the_records_of_its_pdftotext_text():
    from_pdf, pdf_delta = records(real(RU_PDF))
    from_text, _ = records(real(RU_TEXT))
    assert not pdf_delta and len(from_pdf) == len(from_text) == 561
    differ = sorted(k for k in from_text if from_pdf[k] != from_text[k])
    assert differ == sorted(PDFTOTEXT_GLUED)
    for key, (field, right) in PDFTOTEXT_GLUED.items():
        assert right in str(from_pdf[key][field])
        assert right not in str(from_text[key][field])


def test_a_notice_of_additions_is_a_delta_with_the_full_lists_records():
    full, _ = records(real(RU_TEXT))
    notice, delta = records(real(NOTICE_2025_09_12))
    assert delta
    assert sorted(notice) == ["russia-560", "russia-561"]
    for key, payload in notice.items():
        assert {**payload, "extra": None} == {**full[key], "extra": None}
    assert notice["russia-560"]["name"] == "Alfa Machinery Group"


def test_a_mofa_notice_pdf_gives_the_entries_it_adds():
    full, _ = records(real(RU_PDF))
    notice, delta = records(real(MOFA_NOTICE_2024_06_21))
    assert delta and sorted(notice, key=lambda k: int(k.split("-")[1])) == [f"russia-{n}" for n in range(524, 538)]
    same = [k for k in notice if {**notice[k], "extra": None} == {**full[k], "extra": None}]
    assert len(same) >= 13  # 536 breaks a hyphenated word over a line differently in the later list
    assert notice["russia-524"]["name"] == "Device Consulting"
    assert "Device Consulting Co. Ltd" in notice["russia-524"]["aliases"]


def test_pdf_text_keeps_hyphenated_line_ends_and_strips_layout_blanks():
    text = pdf_text(real(RU_PDF))
    assert "\x02" not in text and "\r" not in text
    assert "最終更新日：2025 年 09 月 12 日" in text
    assert all(line == line.strip() for line in text.splitlines())


@pytest.mark.parametrize(
    "body, why",
    [
        (b"", "not a PDF"),
        (b"<html><body>Not found</body></html>", "not a PDF"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 100, "not a readable PDF"),
    ],
)
def test_a_damaged_or_false_pdf_is_a_parse_error(tmp_path, body, why):
    path = tmp_path / "list.pdf"
    path.write_bytes(body)
    with pytest.raises(ParseError, match=why):
        pdf_text(path)


def test_a_truncated_real_pdf_is_refused_not_read_as_a_short_list(tmp_path):
    data = real(RU_PDF).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    try:
        got, _ = records(cut)
    except ParseError:
        return
    pytest.fail(f"a half PDF was read as {len(got)} records")


def test_a_pdf_with_too_many_pages_is_refused():
    with pytest.raises(ParseError, match="more than the 5"):
        pdf_text(real(RU_PDF), max_pages=5)


def test_damaged_copies_of_the_real_pdf_never_read_as_a_slightly_different_list(tmp_path):
    """Bytes overwritten at random places (seed not used while writing the check): each damaged copy is refused,
    reads the same, or loses so many entries that the guard's 10 % drop check quarantines it."""
    import random

    path = real(RU_PDF)
    good, _ = records(path)
    data = path.read_bytes()
    rnd = random.Random(2026)
    outcomes = []
    for _ in range(20):
        damaged = bytearray(data)
        at, size = rnd.randrange(0, len(data) - 5000), rnd.choice([16, 500, 5000])
        damaged[at : at + size] = bytes(rnd.randrange(256) for _ in range(size))
        copy = tmp_path / "damaged.pdf"
        copy.write_bytes(bytes(damaged))
        try:
            got, _ = records(copy)
        except ParseError:
            outcomes.append("refused")
            continue
        if got == good:
            outcomes.append("same")
        else:
            assert len(got) < 0.9 * len(good), f"damage at {at} (+{size}) read as {len(got)} records, some changed"
            outcomes.append("mass drop")
    assert outcomes.count("refused") >= 15, outcomes
