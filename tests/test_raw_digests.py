"""Unbuilt-first adapters: a record whose published form did not move is not built again, and nothing is missed.

The fast path must give exactly the events the full path gives: the same change sets, on SQLite and PostgreSQL,
whatever order or bookkeeping the publisher rewrites between versions.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.store.models import Change, Record
from sources.opensanctions import OpenSanctions

FIXTURE = Path(__file__).parent / "fixtures" / "opensanctions" / "entities.ftm.json"


def entities() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(path: Path, items: list[dict]) -> str:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in items), encoding="utf-8")
    return str(path)


def count_builds(monkeypatch) -> list[str]:
    built: list[str] = []
    original = OpenSanctions.build

    def build(self, raw):
        built.append(raw["id"])
        return original(self, raw)

    monkeypatch.setattr(OpenSanctions, "build", build)
    return built


def changes(ctx, snapshot_id: int) -> set[tuple[str, str]]:
    with Session(ctx.engine) as session:
        rows = session.execute(select(Change).where(Change.snapshot_id == snapshot_id)).scalars()
        return {(c.change, c.key) for c in rows}


def test_an_unchanged_entity_is_not_built_again_even_when_its_bookkeeping_moves(make_ctx, tmp_path, monkeypatch):
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    items = entities()
    assert poll(ctx, "os", {"main": write(tmp_path / "v1.json", items)}).status == "accepted"
    with Session(ctx.engine) as session:
        stored = session.execute(select(Record.raw_digest).where(Record.source == "os")).scalars().all()
    assert stored and all(fp is not None for fp in stored)

    built = count_builds(monkeypatch)
    later = json.loads(json.dumps(items))
    for e in later:  # a new crawl: every bookkeeping field moves, nothing listed changes
        e["last_seen"] = "2031-01-01T00:00:00"
        e.setdefault("properties", {})["modifiedAt"] = ["2031-01-01"]
    result = poll(ctx, "os", {"main": write(tmp_path / "v2.json", later)})
    assert (result.added, result.removed, result.amended) == (0, 0, 0)
    assert built == []


def test_a_changed_entity_is_built_and_diffed_and_a_revert_is_seen(make_ctx, tmp_path, monkeypatch):
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    items = entities()
    poll(ctx, "os", {"main": write(tmp_path / "v1.json", items)})
    built = count_builds(monkeypatch)

    amended = json.loads(json.dumps(items))
    target = next(e for e in amended if e["id"] == "Q7747")
    target["properties"]["alias"] = [*target["properties"].get("alias", []), "V. V. Putin"]
    result = poll(ctx, "os", {"main": write(tmp_path / "v2.json", amended)})
    assert (result.added, result.removed, result.amended) == (0, 0, 1)
    assert built == ["Q7747"]
    assert changes(ctx, result.snapshot_id) == {("amended", "Q7747")}

    reverted_items = json.loads(json.dumps(items))  # back to the first version's content, crawled again (the
    for e in reverted_items:  # very same bytes would be held as a stale copy by the guard)
        e["last_seen"] = "2031-02-01T00:00:00"
    reverted = poll(ctx, "os", {"main": write(tmp_path / "v3.json", reverted_items)})
    assert changes(ctx, reverted.snapshot_id) == {("amended", "Q7747")}


def test_a_reordered_entity_is_redigested_without_an_event(make_ctx, tmp_path, monkeypatch):
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    items = entities()
    poll(ctx, "os", {"main": write(tmp_path / "v1.json", items)})
    reordered = json.loads(json.dumps(items))
    target = next(e for e in reordered if e["id"] == "Q7747")
    target["properties"]["programId"] = list(reversed(target["properties"]["programId"]))
    with Session(ctx.engine) as session:
        before = session.get(Record, ("os", "Q7747")).raw_digest
    result = poll(ctx, "os", {"main": write(tmp_path / "v2.json", reordered)})
    assert (result.added, result.removed, result.amended) == (0, 0, 0)
    with Session(ctx.engine) as session:
        after = session.get(Record, ("os", "Q7747")).raw_digest
    assert after != before  # stored, so the next poll of this order is the fast path again
    built = count_builds(monkeypatch)
    poll(ctx, "os", {"main": write(tmp_path / "v3.json", reordered + [])})
    assert built == []


def test_the_fast_path_and_the_full_parse_give_the_same_records(tmp_path):
    adapter = OpenSanctions({})
    full = {r.key: r for r in adapter.parse({"main": FIXTURE})}
    fast = {}
    for item in adapter.parse_unbuilt({"main": FIXTURE}):
        record = adapter.build(item.raw)
        if record is not None:
            fast[record.key] = record
    assert fast == full and full


def test_sdn_csv_builds_only_the_parties_whose_rows_changed(make_ctx, monkeypatch):
    """Real OFAC publications: 2024-02-20 -> 02-23 (553 designations, 8 amendments) builds those and no other."""
    from sources.us_ofac import OfacSdn
    from tests.conftest import real

    before, after = real("ofac/sdn_csv/2024-02-20_sdn.csv"), real("ofac/sdn_csv/2024-02-23_sdn.csv")
    ctx = make_ctx({"us_ofac_sdn": {"url": "x"}})
    assert poll(ctx, "us_ofac_sdn", {"main": str(before)}).status == "accepted"
    built: list[str] = []
    original = OfacSdn.build

    def build(self, raw):
        record = original(self, raw)
        built.append(record.key)
        return record

    monkeypatch.setattr(OfacSdn, "build", build)
    result = poll(ctx, "us_ofac_sdn", {"main": str(after)})
    assert (result.added, result.removed, result.amended) == (553, 0, 8)
    assert len(built) == 561 and {c.key for c in result.changes} == set(built)


def test_an_unchanged_entity_listed_twice_is_a_duplicate_on_the_fast_path_too(make_ctx, tmp_path):
    """The second copy of an entity whose digest matches the stored one is refused as a duplicate key, as when it
    is built; so is a changed one listed twice."""
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    items = entities()
    poll(ctx, "os", {"main": write(tmp_path / "v1.json", items)})
    target = next(e for e in items if e["id"] == "Q7747")
    again = poll(ctx, "os", {"main": write(tmp_path / "v2.json", [*items, target])})
    assert again.status == "quarantined" and "duplicate record keys (1): Q7747" in again.reason

    changed = json.loads(json.dumps(target))
    changed["properties"]["alias"] = [*changed["properties"].get("alias", []), "V. V. Putin"]
    twice = poll(ctx, "os", {"main": write(tmp_path / "v3.json", [*items, changed, changed])})
    assert twice.status == "quarantined" and "duplicate record keys" in twice.reason and "Q7747" in twice.reason


def test_the_diff_reads_stored_hashes_held_as_bytes_as_the_hex_it_stored(tmp_path):
    """prior_state holds a large list's hashes as bytes: unchanged, amended, removed and renumbered records come out
    exactly as with the hex strings."""
    from notifier.ingest.canonical import canonical_payload, content_hash
    from notifier.ingest.diff import scan
    from notifier.records import Designation

    def record(key: str, name: str) -> Designation:
        return Designation(key=key, name=name, entity_type="person")

    stored = [record("1", "Same"), record("2", "Before"), record("3", "Gone"), record("4", "Moved")]
    hexes = {r.key: content_hash(canonical_payload(r)) for r in stored}
    new = [record("1", "Same"), record("2", "After"), record("5", "Moved"), record("6", "New")]
    for prior in (dict(hexes), {k: bytes.fromhex(v) for k, v in hexes.items()}):
        result = scan(iter([record(r.key, r.name) for r in new]), prior, tmp_path, match_moved=True)
        assert (set(result.added), set(result.amended), result.removed, result.moved) == (
            {"6"},
            {"2"},
            ["3"],
            [("4", "5")],
        )
        result.spill.discard()
