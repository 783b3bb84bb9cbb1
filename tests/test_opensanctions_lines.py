"""An OpenSanctions entities file is digested line by line as bytes, its bookkeeping cut out: whatever the spacing,
an unchanged entity is not built, a changed one always is, and the records are those of a full parse."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from notifier.adapter import ParseError, Unbuilt
from notifier.ingest.pipeline import poll
from sources.opensanctions import OpenSanctions, entity_to_record
from tests.test_raw_digests import count_builds, entities


def write_compact(path: Path, items: list[dict]) -> str:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in items))
    return str(path)


def write_spaced(path: Path, items: list[dict]) -> str:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in items), encoding="utf-8")
    return str(path)


def recrawled(items: list[dict]) -> list[dict]:
    later = json.loads(json.dumps(items))
    for e in later:
        e["first_seen"], e["last_seen"], e["last_change"] = "2031-01-01T00:00:00", "2031-01-02T00:00:00", None
        e["properties"]["modifiedAt"] = ["2031-01-01"]
        e["properties"]["retrievedAt"] = ["2031-01-01T00:00:00", "2031-01-02T00:00:00"]
    return later


@pytest.mark.parametrize("write", [write_compact, write_spaced])
def test_bookkeeping_moved_in_either_spacing_builds_nothing(make_ctx, tmp_path, monkeypatch, write):
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    assert poll(ctx, "os", {"main": write(tmp_path / "v1.json", entities())}).status == "accepted"
    built = count_builds(monkeypatch)
    result = poll(ctx, "os", {"main": write(tmp_path / "v2.json", recrawled(entities()))})
    assert (result.status, result.added, result.removed, result.amended) == ("accepted", 0, 0, 0)
    assert built == []


def test_bookkeeping_lookalike_text_inside_a_value_is_a_change(make_ctx, tmp_path):
    """Text that reads like a bookkeeping member, inside a value, is the publisher's data: a change to it is
    alerted (a quote inside a JSON string is escaped, so the byte-level cut never takes it)."""
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    items = entities()
    putin = next(e for e in items if e["id"] == "Q7747")
    putin["properties"]["notes"] = ['Seen, "last_seen": "2024-01-01", "modifiedAt": ["x"]']
    poll(ctx, "os", {"main": write_spaced(tmp_path / "v1.json", items)})
    putin["properties"]["notes"] = ['Seen, "last_seen": "2025-01-01", "modifiedAt": ["y"]']
    result = poll(ctx, "os", {"main": write_spaced(tmp_path / "v2.json", items)})
    assert (result.added, result.removed, result.amended) == (0, 0, 1)
    assert [c.key for c in result.changes] == ["Q7747"]


def test_odd_lines_give_the_records_a_full_parse_gives(tmp_path):
    """Blank lines, ids with escapes or non-ASCII, a target flag only on a nested entity, non-targets and
    both spacings in one file: the fast reading yields exactly the records of each line parsed as JSON."""
    items = entities()
    odd = json.loads(json.dumps(items[0]))
    odd["id"], odd["caption"] = 'Q"quoted"', "Odd"
    odd["properties"]["name"] = ["Odd"]
    accent = json.loads(json.dumps(items[1]))
    accent["id"] = "NK-Société"
    nested_only = json.loads(json.dumps(items[2]))
    nested_only["id"], nested_only["target"] = "nested-only", False
    nested_only["properties"]["ownershipAsset"] = [{"id": "x", "schema": "Vessel", "target": True, "properties": {}}]
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in items]
    lines += [b"", b"   ", orjson.dumps(odd), json.dumps(accent, ensure_ascii=False).encode()]
    lines += [json.dumps(nested_only).encode()]
    path = tmp_path / "odd.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    adapter = OpenSanctions({})
    got = {}
    for item in adapter.parse_unbuilt({"main": path}):
        record = adapter.build(item.raw) if type(item) is Unbuilt else item
        if record is not None:
            got[record.key] = record
    want = {}
    for e in [*items, odd, accent, nested_only]:
        record = entity_to_record(e) if e.get("target") else None
        if record is not None:
            want[record.key] = record
    assert got == want and {'Q"quoted"', "NK-Société"} <= set(got) and "nested-only" not in got


def test_a_target_line_cut_short_is_refused(tmp_path):
    path = tmp_path / "cut.json"
    whole = json.dumps(entities()[0]).encode()
    path.write_bytes(whole + b"\n" + whole.replace(b'"Q7747"', b'"Q7748"')[:200])
    adapter = OpenSanctions({})
    with pytest.raises(ParseError, match="line 2 is not JSON"):
        for item in adapter.parse_unbuilt({"main": path}):
            if type(item) is Unbuilt:
                adapter.build(item.raw)


def test_turning_targets_only_off_rebuilds_every_line(make_ctx, tmp_path, monkeypatch):
    """A line's digest names the option it was read with: the same bytes read with another option may be another
    record set (non-targets kept), so nothing is taken as unchanged."""
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    items = entities()
    poll(ctx, "os", {"main": write_spaced(tmp_path / "v1.json", items)})
    ctx.sources["os"].options["targets_only"] = False
    built = count_builds(monkeypatch)
    result = poll(ctx, "os", {"main": write_spaced(tmp_path / "v2.json", recrawled(items))})
    assert result.status in ("accepted", "quarantined")
    assert len(built) == len(items)
