"""The guard's checks one by one, on small inputs (the replays of damaged real files are in test_guard_hostile)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from notifier.config import GuardConfig
from notifier.ingest.canonical import fingerprint, normalize_key
from notifier.ingest.guard import (
    Refused,
    Shape,
    check_parts,
    check_records,
    check_shape,
    check_stale,
    lost_letters,
    part_facts,
)
from sources.us_ofac import OfacConsolidated
from tests.conftest import real

GUARD = GuardConfig()


def test_numeric_keys_are_one_record_however_padded():
    assert normalize_key("036") == normalize_key("36") == normalize_key(" 36 ") == "36"
    assert normalize_key("000") == "0"
    assert normalize_key("002-000166") == "002-000166", "only wholly numeric ids are normalized"
    assert normalize_key("QDi.001") == "QDi.001"


def test_a_renumbered_record_keeps_its_fingerprint():
    old = {"key": "36", "name": "AEROCARIBBEAN AIRLINES", "url": "https://x/?id=36", "programs": ["CUBA"]}
    new = {**old, "key": "100036", "url": "https://x/?id=100036"}
    assert fingerprint(old) == fingerprint(new)
    assert fingerprint(old) != fingerprint({**new, "programs": ["IRAN"]})


@pytest.mark.parametrize(
    ("before", "after", "lossy"),
    [
        ({"name": "Müller", "aliases": ["Жуков"]}, {"name": "M?ller", "aliases": ["?????"]}, True),
        ({"name": "Müller"}, {"name": "M\ufffd\ufffdller"}, True),
        ({"name": "Müller"}, {"name": "Mueller"}, False),
        ({"name": "WHAT?"}, {"name": "WHAT?"}, False),
        ({"name": "Smith"}, {"name": "Smith?"}, False),
    ],
)
def test_lost_letters_are_only_letters_turned_into_question_marks_or_replacement_chars(before, after, lossy):
    assert lost_letters(before, after) is lossy


def shape(**kw) -> Shape:
    base = dict(prior=10000, count=10000, added=0, removed=0, amended=0)
    return Shape(**{**base, **kw})


@pytest.mark.parametrize(
    ("figures", "why"),
    [
        (dict(removed=300, count=9700), "truncated?"),
        (dict(removed=9000, added=9000, rekeyed=8990), "renumbered"),
        (dict(amended=9000, fields=Counter({"programs": 9000})), "format change: field 'programs'"),
        (dict(amended=4000, fields=Counter({"remarks": 2000, "aliases": 2000})), "mass amendment"),
        (dict(amended=300, sampled=300, lossy=[str(i) for i in range(300)]), "lossy text"),
    ],
)
def test_shapes_of_broken_downloads_are_refused_with_their_reason(figures, why):
    with pytest.raises(Refused, match=why.replace("?", r"\?")):
        check_shape(shape(**figures), GUARD)


@pytest.mark.parametrize(
    "figures",
    [
        dict(added=587, removed=106, amended=31, fields=Counter({"remarks": 29})),  # OFAC 2024-02-23 -> 05-03
        dict(amended=499, fields=Counter({"remarks": 499})),  # one remark added to 499 records at once
        dict(removed=3, count=9997),  # within the grace, whatever the list's size
        dict(removed=3, added=3, rekeyed=3),  # a handful re-keyed: ordinary delistings and designations
    ],
)
def test_shapes_of_real_publications_pass(figures):
    check_shape(shape(**figures), GUARD)


def test_per_source_thresholds_apply():
    with pytest.raises(Refused, match="mass amendment"):
        check_shape(shape(amended=499), GuardConfig(max_amend=0.01))


def test_a_part_that_lost_its_end_byte_or_shrank_is_refused(tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(b"1,a\r\n2,b\r\n3,c\r\n4,d\r\n5,e\r\n6,f\r\n\x1a")
    prior = {"alt": part_facts(good)}
    assert prior["alt"] == {"lines": 6, "eof_marker": True}
    cut = tmp_path / "cut.csv"
    cut.write_bytes(b"1,a\r\n2,b\r\n")
    with pytest.raises(Refused, match="end-of-file byte"):
        check_parts({"alt": part_facts(cut)}, prior, GUARD)
    cut.write_bytes(b"1,a\r\n2,b\r\n\x1a")
    with pytest.raises(Refused, match="part 'alt' has 2 rows against 6"):
        check_parts({"alt": part_facts(cut)}, prior, GuardConfig(drop_grace=0))
    assert part_facts(real("au/2024-11-11_regulation8_consolidated.xlsx")) == {}, "no rows counted in a zip"


def test_the_publishers_declared_count_must_match():
    with pytest.raises(Refused, match="header declares 443"):
        check_records(441, [], 443, GUARD, declared=443)
    check_records(443, [], 443, GUARD, declared=443)


def test_an_old_publication_served_again_is_stale():
    when = datetime(2024, 2, 20, tzinfo=UTC)
    with pytest.raises(Refused, match="stale: byte for byte"):
        check_stale("abc", {"abc": (7, when)})
    with pytest.raises(Refused, match="stale: published 2025-10-22"):
        check_stale("new", {}, "2025-10-22", "2025-12-18")
    check_stale("new", {"abc": (7, when)}, "2025-12-18", "2025-12-18")


def test_utf16_xml_with_its_declaration_parses(tmp_path):
    src = real("ofac/consolidated_xml/2025-12-18_CONSOLIDATED.XML").read_text(encoding="utf-8")
    text = src.replace('<?xml version="1.0" standalone="yes"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    for name, data in (("le.xml", text.encode("utf-16")), ("be.xml", b"\xfe\xff" + text.encode("utf-16-be"))):
        path = tmp_path / name
        path.write_bytes(data)
        adapter = OfacConsolidated()
        assert sum(1 for _ in adapter.parse({"main": path})) == 442
        assert adapter.declared_count == 442


def test_the_encoding_check_counts_plain_ascii_rows_it_does_not_read(tmp_path):
    """Only rows beyond ASCII are read for mis-decoded text, but every row counts in the share: 3 garbled of 23
    pass (under a fifth), 3 of 13 are refused."""
    from notifier.ingest.diff import Spill
    from notifier.ingest.guard import Refused, check_encoding

    def spill(plain: int) -> Spill:
        out = Spill(tmp_path)
        for i in range(plain):
            out.add(f"a{i}", "0" * 32, f'{{"name":"Plain {i}"}}')
        for i in range(3):
            out.add(f"g{i}", "0" * 32, f'{{"name":"CafÃ© {i}"}}', None, "designation", f"CafÃ© {i}")
        out.add("ok", "0" * 32, '{"name":"Café"}')
        return out

    check_encoding(spill(19))
    with pytest.raises(Refused, match="3 of 13"):
        check_encoding(spill(9))
