"""Retention: old raw snapshots and old sent deliveries go, what the sources still depend on stays, and change
events are never touched."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.ingest.pipeline import poll
from notifier.ops.prune import prune
from notifier.store.models import Change, Delivery, SourceState
from notifier.timeutil import utcnow
from tests.conftest import real
from tests.support.receivers import WebhookReceiver

CONS = "ofac/consolidated_xml"
FILES = ("2025-10-22_CONSOLIDATED.XML", "2025-12-18_CONSOLIDATED.XML", "2025-12-18_downloaded-again_CONSOLIDATED.XML")


def age_files(paths, days: float) -> None:
    then = time.time() - days * 86400
    for p in paths:
        os.utime(p, (then, then))


def count(svc, model) -> int:
    with Session(svc.engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_prune_keeps_what_the_sources_depend_on_and_deletes_the_rest_after_the_window(make_ctx, tmp_path):
    hook = WebhookReceiver()
    try:
        subs = {"subscribers": [{"name": "analysts", "channels": [{"url": hook.url()}]}]}
        svc = make_ctx({"us_ofac_cons": {"url": "x"}}, subs, retention_archive_days=30, retention_delivery_days=30)
        for name in FILES:
            poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/{name}"))})
        page = tmp_path / "error.xml"
        page.write_text("<html>maintenance</html>")
        assert poll(svc, "us_ofac_cons", {"main": str(page)}).status == "quarantined"
        [delivery_id] = due(svc.engine)
        assert deliver_one(svc, delivery_id).status == "sent"
        archives = sorted(svc.archive.root.glob("*/*.gz"))
        assert len(archives) == 4
        leftover = archives[0].parent / "crashed.tmp"
        leftover.write_bytes(b"half")
        changes = count(svc, Change)

        assert prune(svc).summary(False).startswith("deleted 0 archived snapshots"), "nothing is old yet"

        age_files([*archives, leftover], days=31)
        later = utcnow() + timedelta(days=31)
        dry = prune(svc, dry_run=True, now=later)
        assert (dry.archives, dry.archives_kept, dry.deliveries) == (3 + 1, 1, 1)
        assert all(p.exists() for p in archives) and count(svc, Delivery) == 1, "a dry run deletes nothing"

        done = prune(svc, now=later)
        assert (done.archives, done.deliveries) == (4, 1)
        with Session(svc.engine) as s:
            state = s.get(SourceState, "us_ofac_cons")
        current = json.loads(state.validators)["main"]["sha256"]
        assert [p.name for p in svc.archive.root.glob("*/*")] == [f"{current}.gz"]
        assert svc.archive.restore(current, tmp_path).read_bytes() == real(f"{CONS}/{FILES[2]}").read_bytes()
        assert count(svc, Change) == changes, "change events are kept"
        assert count(svc, Delivery) == 0
    finally:
        hook.close()


def test_zero_days_keeps_everything_and_unsent_deliveries_are_never_pruned(make_ctx):
    svc = make_ctx(
        {"us_ofac_cons": {"url": "x"}},
        {"subscribers": [{"name": "a", "channels": [{"url": "json://127.0.0.1:9/x"}]}]},
        retention_archive_days=0,
        retention_delivery_days=1,
    )
    for name in FILES[:2]:
        poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/{name}"))})
    age_files(svc.archive.root.glob("*/*.gz"), days=3650)
    result = prune(svc, now=utcnow() + timedelta(days=3650))
    assert (result.archives, result.deliveries) == (0, 0)
    assert count(svc, Delivery) == 1 and len(list(svc.archive.root.glob("*/*.gz"))) == 2


def test_downloads_and_spill_files_left_by_a_killed_poll_are_pruned_after_a_day(make_ctx):
    svc = make_ctx({"us_ofac_cons": {"url": "x"}})
    poll(svc, "us_ofac_cons", {"main": str(real(f"{CONS}/{FILES[0]}"))})
    svc.tmp_dir.mkdir(parents=True, exist_ok=True)
    stale = [svc.tmp_dir / "main-abc.part", svc.tmp_dir / "spill-abc.jsonl"]
    fresh = svc.tmp_dir / "main-running.part"
    for path in [*stale, fresh]:
        path.write_bytes(b"left by a crash")
    age_files(stale, days=2)
    assert prune(svc, dry_run=True).temp_files == 2 and all(p.exists() for p in stale)
    assert prune(svc).temp_files == 2
    assert not any(p.exists() for p in stale) and fresh.exists(), "a poll running now keeps its files"
