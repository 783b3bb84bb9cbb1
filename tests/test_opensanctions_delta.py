"""OpenSanctions delta files through the pipeline: ADD/MOD/DEL applied to the stored state, nothing else touched.

The fixture entities file is ours, in the FtM format; the deltas are built from it in OpenSanctions' delta
layout ({"op": ..., "entity": {...}} per line).
"""

from __future__ import annotations

import json

from notifier.ingest.pipeline import poll
from tests.conftest import FIXTURES

FULL = FIXTURES / "opensanctions" / "entities.ftm.json"


def _entities() -> list[dict]:
    return [json.loads(line) for line in FULL.read_text().splitlines() if line.strip()]


def test_a_delta_adds_amends_and_deletes_only_what_it_names(make_ctx, tmp_path):
    targets = [e for e in _entities() if e.get("target")]
    assert len(targets) >= 3
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    base = poll(ctx, "os", {"main": str(FULL)})
    assert base.baseline and base.record_count == len(targets)

    amended = json.loads(json.dumps(targets[0]))
    amended["properties"].setdefault("alias", []).append("A NEW ALIAS LLC")
    added = {**json.loads(json.dumps(targets[1])), "id": "NK-new-entity"}
    delta = tmp_path / "delta.json"
    delta.write_text("\n".join(json.dumps(line) for line in [
        {"op": "MOD", "entity": amended},
        {"op": "ADD", "entity": added},
        {"op": "DEL", "entity": {"id": targets[2]["id"]}},
        {"op": "DEL", "entity": {"id": "never-seen"}},
    ]) + "\n")
    result = poll(ctx, "os", {"main": str(delta)})
    assert result.status == "accepted", result.reason
    got = sorted((c.change, c.key) for c in result.changes)
    assert got == sorted([("amended", targets[0]["id"]), ("added", "NK-new-entity"), ("removed", targets[2]["id"])])
    [amendment] = [c for c in result.changes if c.change == "amended"]
    assert {"field": "aliases", "added": ["A NEW ALIAS LLC"], "removed": []} in amendment.fields
    assert result.record_count == len(targets), "one added, one deleted, the rest untouched"
    fresh = tmp_path / "full.json"  # the next full export (the same bytes again would be a stale copy)
    fresh.write_text(FULL.read_text() + "\n")
    full_again = poll(ctx, "os", {"main": str(fresh)})
    assert sorted((c.change, c.key) for c in full_again.changes) == sorted(
        [("amended", targets[0]["id"]), ("removed", "NK-new-entity"), ("added", targets[2]["id"])]
    ), "a full file afterwards is diffed against the state the delta left"


def test_deletions_in_a_file_that_is_not_a_delta_are_refused(make_ctx, tmp_path):
    ctx = make_ctx({"os": {"adapter": "opensanctions", "url": "x"}})
    poll(ctx, "os", {"main": str(FULL)})
    bad = tmp_path / "bad.json"
    bad.write_text(FULL.read_text() + json.dumps({"op": "DEL", "entity": {"id": "x"}}) + "\n")
    result = poll(ctx, "os", {"main": str(bad)})
    assert result.status == "quarantined" and "line" in result.reason
