"""Quarantined snapshots on the web: listed with why, their sha256 and their raw file; nobody was alerted.

Read-only for now: accepting or rejecting belongs to notifier.ingest.quarantine (shared with the CLI), which had not
landed when this page was finished."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from tests.conftest import real
from tests.support.web import OFAC_DIR, OFAC_FILES, OFAC_SOURCE, SUBSCRIBERS


def quarantined_ofac(make_ctx):
    """The real 12-18 publication (one delisting) quarantined by a floor of 443 records (it has 442)."""
    from notifier.ingest.pipeline import poll

    sources = {"us_ofac_cons": {**OFAC_SOURCE["us_ofac_cons"], "guard": {"min_records": 443, "max_drop": 0.1}}}
    ctx = make_ctx(sources, SUBSCRIBERS)
    first, second = (real(f"{OFAC_DIR}/{name}") for name in OFAC_FILES)
    assert poll(ctx, "us_ofac_cons", {"main": str(first)}).status == "accepted"
    result = poll(ctx, "us_ofac_cons", {"main": str(second)})
    assert result.status == "quarantined", result.summary()
    return ctx, result.snapshot_id, second


def test_a_quarantined_snapshot_is_listed_with_why_and_its_raw_file(make_ctx):
    from notifier.web.app import create_app

    ctx, snap_id, raw_file = quarantined_ofac(make_ctx)
    client = TestClient(create_app(ctx))
    listing = client.get("/quarantine").text
    assert f'href="/quarantine/{snap_id}"' in listing and "floor" in listing
    assert f'href="/quarantine/{snap_id}"' in client.get("/").text  # on the dashboard too
    page = client.get(f"/quarantine/{snap_id}").text
    assert hashlib.sha256(raw_file.read_bytes()).hexdigest() in page
    assert "Read-only here" in page and "<form method=\"post\" class=\"actions" not in page
    raw = client.get(f"/snapshots/{snap_id}/raw/main")
    assert raw.status_code == 200 and raw.content == raw_file.read_bytes()
    assert "KAYAKIRAN" not in client.get("/changes").text  # nothing was recorded as a change
