"""Every real version pair in ../shared/data/real through the pipeline with the default guard: real publications
pass with their real changes; the two history gaps that are not one publication (years apart, a new layout) are
quarantined and one command releases them with their changes. (The OFAC sdn.csv, consolidated XML and UN daily
pairs are replayed in test_guard_hostile.py and test_pipeline_real_data.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.ingest.quarantine import accept
from notifier.store.models import Change
from tests.conftest import REAL, real

SUBS = {"subscribers": [{"name": "analysts", "channels": [{"url": "json://127.0.0.1:9/analysts"}]}]}


@pytest.fixture
def db_url(tmp_path):
    yield f"sqlite:///{tmp_path / 'notifier.db'}"
    from notifier.store.db import dispose_engines

    dispose_engines()


def meti(kind: str, day: str) -> str:
    found = sorted((REAL / "jp/meti_export_ban_parties").glob(f"meti_list_{kind}_tokutei_{day}*.txt"))
    if not found:
        pytest.skip(f"no METI {kind} list of {day} in ../shared/data/real")
    return str(found[0])


def events(ctx, source: str) -> int:
    with Session(ctx.engine) as s:
        return s.scalar(select(func.count()).select_from(Change).where(Change.source == source)) or 0


@pytest.mark.parametrize(
    ("source", "cfg", "old", "new", "counts"),
    [
        pytest.param("un_sc", {}, "un/2024-11-30_consolidated.xml", "un/2025-12-09_consolidated.xml",
                     (132, 11, 167), id="un-a-year"),
        pytest.param("jp_meti_eul", {}, "jp/meti_end_user_list_2025-01-31.html",
                     "jp/meti_end_user_list_2025-09-29.xlsx", None, id="meti-eul-html-to-xlsx"),
        pytest.param("russia", {"adapter": "jp_meti_parties", "options": {"list": "russia"}}, ("russia", "2025-07-25"),
                     ("russia", "2025-09-12"), (2, 0, None), id="meti-parties-russia"),
        pytest.param("third", {"adapter": "jp_meti_parties", "options": {"list": "third-country"}},
                     ("daisangoku", "2025-07-25"), ("daisangoku", "2025-09-12"), (9, 0, None),
                     id="meti-parties-third-countries"),
    ],
)
def test_real_publications_pass_the_default_guard(make_ctx, source, cfg, old, new, counts):
    paths = [meti(*p) if isinstance(p, tuple) else str(real(p)) for p in (old, new)]
    ctx = make_ctx({source: {"url": "unused", **cfg}}, SUBS)
    assert poll(ctx, source, {"main": paths[0]}).baseline
    result = poll(ctx, source, {"main": paths[1]})
    assert result.status == "accepted", result.summary()
    if counts:
        got = (result.added, result.removed, result.amended)
        assert all(want is None or g == want for g, want in zip(got, counts, strict=True)), result.summary()
    assert events(ctx, source) == result.added + result.removed + result.amended


@pytest.mark.parametrize(
    ("source", "old", "new", "why", "counts"),
    [
        pytest.param(
            "us_ofac_sdn",
            {p: f"ofac/csv_sets/2021-07-07/{f}.csv" for p, f in (("main", "sdn"), ("alt", "alt"), ("add", "add"))},
            {p: f"ofac/csv_sets/2023-12-28/{f}.csv" for p, f in (("main", "sdn"), ("alt", "alt"), ("add", "add"))},
            "truncated?",
            (5637, 792, 736),
            id="ofac-csv-set-2.5-years",
        ),
        pytest.param(
            "au_dfat",
            {"main": "au/2024-11-11_regulation8_consolidated.xlsx"},
            {"main": "au/2026-02-24_Australian_Sanctions_Consolidated_List.xlsx"},
            "format change",
            (788, 39, 3023),
            id="au-new-layout",
        ),
    ],
)
def test_history_gaps_are_held_and_one_command_releases_their_real_changes(make_ctx, source, old, new, why, counts):
    ctx = make_ctx({source: {"url": "unused"}}, SUBS)
    assert poll(ctx, source, {p: str(real(f)) for p, f in old.items()}).baseline
    held = poll(ctx, source, {p: str(real(f)) for p, f in new.items()})
    assert held.status == "quarantined" and why in held.reason, held.summary()
    assert events(ctx, source) == 0
    released = accept(ctx, held.snapshot_id, "ops", "several publications at once, checked by hand")
    assert (released.status, released.added, released.removed, released.amended) == ("accepted", *counts)
    assert events(ctx, source) == sum(counts)
