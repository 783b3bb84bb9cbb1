"""A publication event reads as what it is in every format: who published what, where it is linked, the link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifier.alerts.render import SourceMeta, render_changes
from notifier.ingest.discovery import Link
from notifier.ingest.landing import publication_payload
from notifier.store.changes import Change

PAGE = "https://www.meti.go.jp/policy/external_economy/trade_control/02_export/17_russia/russia.html"
NOTICE = "https://www.meti.go.jp/policy/external_economy/trade_control/01_seido/04_seisai/downloadCrimea/20250912list_russia_tokutei.pdf"


@pytest.mark.parametrize("fmt", ["text", "markdown", "email"])
def test_a_publication_alert_names_the_publisher_the_document_and_its_page(fmt):
    payload = publication_payload("METI export-ban parties (Russia)", Link(NOTICE, "（2025年9月12日追加分）", PAGE, 0))
    change = Change(1, payload["key"], "added", "publication", payload["title_text"], None, payload, None)
    meta = SourceMeta("jp_meti_parties_russia", "METI export-ban parties (Russia)", "JP", "designation", PAGE)
    [message] = render_changes(meta, datetime(2025, 9, 12, tzinfo=UTC), [change], fmt, 4000)
    assert message.title == "METI export-ban parties (Russia) 2025-09-12 — 1 new document published"
    body = message.body.replace("\\", "")
    assert "designation" not in body.lower(), "a document, not a designation"
    assert "new document published" in body and "20250912list" in body and "2025年9月12日追加分" in body
    assert NOTICE in body and "Linked from" in body
