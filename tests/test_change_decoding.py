"""A stored change row's JSON columns read back exactly as json.loads reads them, whichever decoder reads them."""

from __future__ import annotations

import json

import pytest

from notifier.store.changes import Change


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "Société Générale", "aliases": ["ПАО", "x"], "n": 3, "f": 0.1, "e": 1.5e-07, "z": -0.0}',
        '{"big": 18446744073709551616, "low": -9223372036854775809, "id": "12345678901234567890"}',
        '{"nan": NaN, "inf": 1e400}',
        '{"lone": "\\ud800"}',
        '[{"field": "aliases", "added": ["a"], "removed": []}, {"field": "x", "before": null, "after": true}]',
    ],
)
def test_a_change_row_decodes_as_json_reads_it(text):
    row = dict(id=1, source="s", snapshot_id=1, key="k", kind="designation", change="amended", name="n")
    change = Change.from_row({**row, "before": text, "after": text, "fields": text})
    for value in (change.before, change.after, change.fields):
        assert repr(value) == repr(json.loads(text))
