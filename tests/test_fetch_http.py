"""Polling over real HTTP on 127.0.0.1: validators replayed, 304 short-circuits, errors leave state untouched."""

from __future__ import annotations

from sqlalchemy.orm import Session

from notifier.ingest.pipeline import poll
from notifier.store.models import SourceState
from tests.conftest import real
from tests.support.http import LocalServer

CONS = "ofac/consolidated_xml"


def test_second_poll_sends_the_servers_validators_back_and_a_304_ends_the_poll(make_ctx, monkeypatch):
    body = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes()
    with LocalServer() as server:
        lm = server.http_date(-3600)
        url = server.serve("/CONSOLIDATED.XML", body, last_modified=lm)
        ctx = make_ctx({"us_ofac_cons": {"url": url}})
        assert poll(ctx, "us_ofac_cons").status == "accepted"
        etag = f'"{__import__("hashlib").sha1(body).hexdigest()}"'

        parsed = []
        from notifier.ingest import pipeline

        real_scan = pipeline._parse_and_scan
        monkeypatch.setattr(pipeline, "_parse_and_scan", lambda *a, **k: parsed.append(1) or real_scan(*a, **k))
        second = poll(ctx, "us_ofac_cons")
        headers = server.requests[-1][1]
        assert headers["If-None-Match"] == etag and headers["If-Modified-Since"] == lm
        assert second.status == "unchanged" and second.reason == "304 Not Modified"
        assert parsed == [], "a 304 must end the poll before parsing"


def test_last_modified_alone_is_replayed_verbatim(make_ctx):
    body = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes()
    with LocalServer() as server:
        lm = "Wed, 22 Oct 2025 14:03:11 GMT"
        url = server.serve("/c.xml", body, etag=False, last_modified=lm)
        ctx = make_ctx({"us_ofac_cons": {"url": url}})
        poll(ctx, "us_ofac_cons")
        result = poll(ctx, "us_ofac_cons")
        assert server.requests[-1][1]["If-Modified-Since"] == lm
        assert "If-None-Match" not in server.requests[-1][1]
        assert result.status == "unchanged"


def test_same_bytes_without_validators_are_unchanged_by_sha256(make_ctx):
    body = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes()
    with LocalServer() as server:
        url = server.serve("/c.xml", body, etag=False)
        ctx = make_ctx({"us_ofac_cons": {"url": url}})
        poll(ctx, "us_ofac_cons")
        result = poll(ctx, "us_ofac_cons")
        assert (result.status, result.reason) == ("unchanged", "same sha256")


def test_a_changed_file_is_fetched_and_diffed(make_ctx):
    with LocalServer() as server:
        url = server.serve("/c.xml", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
        ctx = make_ctx({"us_ofac_cons": {"url": url}})
        poll(ctx, "us_ofac_cons")
        server.serve("/c.xml", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes())
        result = poll(ctx, "us_ofac_cons")
        assert result.status == "accepted" and [(c.change, c.key) for c in result.changes] == [("removed", "26182")]


def test_gzip_encoded_bodies_are_decoded(make_ctx):
    with LocalServer() as server:
        url = server.serve("/c.xml", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes(), gzip=True)
        ctx = make_ctx({"us_ofac_cons": {"url": url}})
        assert poll(ctx, "us_ofac_cons").record_count == 443


def _state(ctx) -> tuple:
    with Session(ctx.engine) as s:
        st = s.get(SourceState, "us_ofac_cons")
        return st.revision, st.record_count, st.validators, st.consecutive_failures, st.last_error


def test_server_errors_and_timeouts_leave_the_state_untouched_and_record_the_error(make_ctx):
    body = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes()
    with LocalServer() as server:
        url = server.serve("/c.xml", body)
        ctx = make_ctx({"us_ofac_cons": {"url": url}}, read_timeout=0.5)
        poll(ctx, "us_ofac_cons")
        revision, count, validators, _, _ = _state(ctx)
        server.serve("/c.xml", b"oops", status=500)
        failed = poll(ctx, "us_ofac_cons")
        assert failed.status == "failed" and "HTTP 500" in failed.reason
        server.serve("/c.xml", body, delay=2.0)
        timed_out = poll(ctx, "us_ofac_cons")
        assert timed_out.status == "failed" and "timed out" in timed_out.reason
        after = _state(ctx)
        assert after[:3] == (revision, count, validators)
        assert after[3] == 2 and "timed out" in after[4]


def test_size_cap_stops_a_download_that_is_too_large(make_ctx):
    with LocalServer() as server:
        url = server.serve("/c.xml", b"<sdnList>" + b" " * (3 * 1024 * 1024) + b"</sdnList>")
        ctx = make_ctx({"us_ofac_cons": {"url": url}}, max_download_mb=1)
        result = poll(ctx, "us_ofac_cons")
        assert result.status == "failed" and "size cap" in result.reason


def test_file_urls_and_plain_paths_both_work(make_ctx):
    path = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML")
    ctx = make_ctx({"us_ofac_cons": {"url": path.as_uri()}})
    assert poll(ctx, "us_ofac_cons").record_count == 443
    assert poll(ctx, "us_ofac_cons", {"main": str(path)}).status == "unchanged"


def test_a_part_answering_304_is_taken_from_the_stored_copy_not_treated_as_empty(make_ctx):
    folder = "ofac/csv_sets/2023-12-28"
    sdn = real(f"{folder}/sdn.csv").read_bytes()
    with LocalServer() as server:
        urls = {p: server.serve(f"/{p}.csv", real(f"{folder}/{p}.csv").read_bytes(), content_type="text/csv")
                for p in ("sdn", "alt", "add")}
        ctx = make_ctx({"us_ofac_sdn": {"url": urls["sdn"], "parts": {"alt": urls["alt"], "add": urls["add"]}}})
        assert poll(ctx, "us_ofac_sdn").record_count == 13821
        first_row_end = sdn.index(b"\n") + 1
        server.serve("/sdn.csv", sdn[first_row_end:], content_type="text/csv")  # ent_num 36 delisted
        result = poll(ctx, "us_ofac_sdn")
        statuses = [h.get("If-None-Match") is not None for path, h in server.requests[-3:]]
        assert statuses == [True, True, True]
        assert (result.added, result.removed, result.amended) == (0, 1, 0)
        assert [c.key for c in result.changes] == ["36"]


def test_a_worker_without_the_stored_copy_fetches_the_whole_file_instead_of_a_304(make_ctx):
    """Poll workers on another machine (or a pruned archive) must not be stuck on a 304 they cannot use."""
    import shutil

    body = real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes()
    with LocalServer() as server:
        url = server.serve("/c.xml", body)
        ctx = make_ctx({"us_ofac_cons": {"url": url}})
        poll(ctx, "us_ofac_cons")
        shutil.rmtree(ctx.archive.root)
        result = poll(ctx, "us_ofac_cons")
        assert "If-None-Match" not in server.requests[-1][1]
        assert (result.status, result.reason) == ("unchanged", "same sha256")
