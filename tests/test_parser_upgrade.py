"""Upgrading an adapter that reads more out of the same file must not alert every stored party as amended."""

from __future__ import annotations

import shutil

from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.records import Designation
from notifier.store.models import SourceState
from sources.us_ofac import OfacSdn
from tests.conftest import real

SDN = "ofac/sdn_csv"


def _poll_with_the_old_parser(ctx, monkeypatch) -> None:
    """What parser version 1 stored: remarks left whole, no fields taken from them (on both reading paths: the
    whole parse and the build on demand that polls use)."""
    new_parse, new_build = OfacSdn.parse, OfacSdn.build

    def old_form(r):
        return Designation(key=r.key, name=r.name, entity_type=r.entity_type, programs=r.programs,
                           remarks="as version 1 stored it", url=r.url)

    def old_parse(self, parts):
        for r in new_parse(self, parts):
            yield old_form(r)

    monkeypatch.setattr(OfacSdn, "parse", old_parse)
    monkeypatch.setattr(OfacSdn, "build", lambda self, raw: old_form(new_build(self, raw)))
    monkeypatch.setattr(OfacSdn, "parser_version", "1")
    first = poll(ctx, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
    assert first.status == "accepted" and first.baseline
    monkeypatch.undo()


def test_after_an_upgrade_the_next_publication_alerts_only_its_own_changes(make_ctx, monkeypatch):
    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}})
    _poll_with_the_old_parser(ctx, monkeypatch)
    result = poll(ctx, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
    assert result.status == "accepted" and (result.added, result.removed, result.amended) == (553, 0, 8)
    bazalt = next(c for c in result.changes if c.key == "16862")
    assert {f["field"] for f in bazalt.fields} >= {"identifiers", "websites", "programs"}
    with Session(ctx.engine) as session:
        assert session.get(SourceState, "us_ofac_sdn").parser_version == OfacSdn.parser_version == "2"


def test_without_the_archived_snapshot_the_upgrade_shows_as_amendments_for_the_guard_to_judge(make_ctx, monkeypatch):
    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}})
    _poll_with_the_old_parser(ctx, monkeypatch)
    shutil.rmtree(ctx.settings.data_dir / "archive")
    result = poll(ctx, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
    # documented limit: nothing to re-read, so the stored records differ from the new reading almost everywhere
    assert result.status == "quarantined" or result.amended > 10_000, result.summary()


def test_an_unchanged_file_after_the_upgrade_already_gets_the_new_fields_without_alerts(make_ctx, monkeypatch):
    from sqlalchemy import select

    from notifier.store.models import Change, Record

    ctx = make_ctx({"us_ofac_sdn": {"url": "unused", "guard": {"min_records": 5000}}})
    _poll_with_the_old_parser(ctx, monkeypatch)
    again = poll(ctx, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
    assert again.status == "unchanged"
    with Session(ctx.engine) as session:
        payload = session.execute(select(Record.payload).where(Record.key == "16862")).scalar_one()
        assert "www.bazalt.ru" in payload and "as version 1 stored it" not in payload  # BAZALT's website field
        assert session.execute(select(Change)).first() is None
