"""What an analyst reads: real publications rendered through every format, asserted on the text.

Who each new party is (dates of birth, identifiers), what changed for each amended one (every added or removed
value), a summary whose counts match the events, amendments before delistings before new designations, subjects
that say what each part covers, the publication's own date.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.render import SourceMeta, _clauses, render_changes
from notifier.store.changes import Change
from notifier.store.models import Record
from tests.conftest import real

SDN = "ofac/sdn_csv"
FORMATS = {"email": 100_000, "slack": 31_500, "text": 29_000}
POLLED = datetime(2026, 12, 2, 3, 30)


def _service(tmp: Path, subscribers: list | None = None, sources: dict | None = None):
    from notifier.app import build_service
    from notifier.settings import Settings

    sources = sources or {"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}}
    (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    (tmp / "subs.yaml").write_text(yaml.safe_dump({"subscribers": subscribers or []}))
    return build_service(
        Settings(
            data_dir=tmp / "data",
            database_url=f"sqlite:///{tmp / 'n.db'}",
            sources_file=tmp / "sources.yaml",
            subscriptions_file=tmp / "subs.yaml",
        )
    )


@pytest.fixture(scope="module")
def ofac_0223(tmp_path_factory):
    """The real OFAC SDN publication of 2024-02-23 (553 designations, 8 amendments) as change views."""
    from notifier.ingest.pipeline import poll

    old, new = real(f"{SDN}/2024-02-20_sdn.csv"), real(f"{SDN}/2024-02-23_sdn.csv")
    svc = _service(tmp_path_factory.mktemp("ofac"))
    poll(svc, "us_ofac_sdn", {"main": str(old)})
    result = poll(svc, "us_ofac_sdn", {"main": str(new)})
    views = [Change(c.id, c.key, c.change, c.kind, c.name, c.before, c.after, c.fields) for c in result.changes]
    meta = SourceMeta("us_ofac_sdn", "OFAC SDN", "US", "designation", None)
    assert {c.published_on for c in result.changes} == {"2024-02-23"}, "the publication's date, from the file"
    yield meta, views, "2024-02-23"
    from notifier.store.db import dispose_engines

    dispose_engines()


def _rendered(meta, views, fmt, published):
    messages = render_changes(meta, POLLED, views, fmt, FORMATS[fmt], published=published)
    return messages, "\n".join(m.body for m in messages)


def _readable(text: str, fmt: str) -> str:
    """The text as the reader sees it (markdown escapes and HTML entities undone)."""
    import html as html_mod

    if fmt == "email":
        return html_mod.unescape(re.sub(r"<[^>]+>", "\n", text))
    if fmt == "slack":
        return re.sub(r"\\(.)", r"\1", text)
    return text


IDENTIFYING = re.compile(r"^(DOB|alt\. DOB|POB|Passport|alt\. Passport|National ID|Tax ID|Registration|IMO|Gender)")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_new_designation_shows_its_birth_dates_and_identifiers(ofac_0223, fmt):
    meta, views, published = ofac_0223
    _, body = _rendered(meta, views, fmt, published)
    text = _readable(body, fmt)
    added = [v for v in views if v.change == "added"]
    assert len(added) == 553
    checked = 0
    for v in added:
        p = v.after
        assert v.name in text
        wanted = [str(d) for d in p.get("birth_dates") or []]
        wanted += [str(i.get("number")) for i in p.get("identifiers") or [] if isinstance(i, dict)]
        wanted += [c for c in _clauses(p.get("remarks") or "") if IDENTIFYING.match(c)]
        for value in wanted:
            assert value in text, f"{v.name}: {value!r} missing from the {fmt} alert"
            checked += 1
    assert checked > 500, "the publication carries hundreds of dates of birth and identifiers"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_amendment_shows_each_added_and_removed_value(ofac_0223, fmt):
    meta, views, published = ofac_0223
    _, body = _rendered(meta, views, fmt, published)
    text = _readable(body, fmt)
    amended = [v for v in views if v.change == "amended"]
    assert len(amended) == 8
    for v in amended:
        for f in v.fields:
            if "added" in f:
                for verb in ("added", "removed"):
                    for item in f[verb]:
                        value = item if isinstance(item, str) else item.get("number") or item.get("value")
                        assert re.search(rf" {verb}: .*{re.escape(str(value))}", text), (v.name, f["field"], item)
            elif isinstance(f.get("after"), str):
                before, after = set(_clauses(f.get("before") or "")), set(_clauses(f["after"]))
                for clause in after - before:
                    assert clause in text, f"{v.name}: new clause {clause!r} missing"
    lines = text.splitlines()
    # BAZALT gained a Tax ID the old alert cut off, and lost its website; KHASIKOV's date of birth moved ten years
    assert any(re.search(r"added: Tax ID No\.? 7719830028 \(Russia\)", x) for x in lines)
    assert any(re.search(r"removed: .*www\.bazalt\.ru", x) for x in lines)
    assert any(re.search(r"(added|changed): .*(28 Jun 1980|1980-06-28)", x) for x in lines)


def test_a_changed_clause_is_shown_with_context_and_never_cut_before_the_change():
    from notifier.alerts.render import text_change

    long_before = "Secondary sanctions risk: " + " ".join(f"w{i}" for i in range(80)) + " old tail words here"
    long_after = "Secondary sanctions risk: " + " ".join(f"w{i}" for i in range(80)) + " new tail words here"
    [line] = text_change("Remarks", long_before, long_after)
    assert line.startswith("Remarks changed: … ") and "old tail" in line and "new tail" in line
    assert "w79" in line and "w10 " not in line, "a little context, not the whole clause"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_summary_comes_first_and_its_counts_match_the_events(ofac_0223, fmt):
    meta, views, published = ofac_0223
    messages, body = _rendered(meta, views, fmt, published)
    first = _readable(messages[0].body, fmt)
    assert "OFAC SDN, publication of 2024-02-23" in first
    assert "561 changes: 8 amended, 553 new designations" in first
    shown = {}
    for part in re.search(r"By program: (.*)", first).group(1).split("; "):
        program, counts = part.split(" ", 1)
        shown[program] = {
            ("amended" if what == "amended" else "added"): int(n)
            for n, what in re.findall(r"(\d+) (amended|new designations?)", counts)
        }
    programs = {p for v in views for p in v.payload["programs"]}
    assert shown == {
        p: {
            k: n
            for k in ("amended", "added")
            if (n := sum(1 for v in views if v.change == k and p in v.payload["programs"]))
        }
        for p in programs
    }
    types = dict((t, int(n)) for t, n in re.findall(r"(\w+) (\d+)", re.search(r"By entity type: (.*)", first)[1]))
    assert types == {
        t: sum(1 for v in views if v.payload["entity_type"] == t) for t in {v.payload["entity_type"] for v in views}
    }
    amended_at = [body.index(v.name if fmt != "email" else v.name.replace("&", "&amp;")) for v in views]
    order = {v.change: [] for v in views}
    for v, at in zip(views, amended_at, strict=True):
        order[v.change].append(at)
    assert max(order["amended"]) < min(order["added"]), "amendments to listed parties come first"


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_part_subject_says_what_it_covers_with_the_publication_date(ofac_0223, fmt):
    meta, views, published = ofac_0223
    messages, _ = _rendered(meta, views, fmt, published)
    n = len(messages)
    assert all(m.title.startswith("OFAC SDN 2024-02-23 — ") for m in messages), "the publication's date, not the poll's"
    if n > 1:
        assert messages[0].title.startswith("OFAC SDN 2024-02-23 — amendments to listed parties, RUSSIA-EO14024")
        assert [m.title.rsplit(", ", 1)[1] for m in messages] == [f"{i}/{n}" for i in range(1, n + 1)]
        assert messages[1].title == f"OFAC SDN 2024-02-23 — new designations, RUSSIA-EO14024, 2/{n}"
    else:
        assert messages[0].title == "OFAC SDN 2024-02-23 — 8 amended, 553 new designations"
    assert all(len(m.body) <= FORMATS[fmt] for m in messages)


def _change_set(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


def test_big_sets_travel_as_csv_and_json_attachments_that_parse_back_to_the_change_set(tmp_path):
    """A real email through a real SMTP server: summary and first entries in the body, the whole set attached."""
    from notifier.alerts.deliver import deliver_one
    from notifier.alerts.outbox import due
    from notifier.ingest.pipeline import poll
    from tests.support.receivers import SmtpSink

    with SmtpSink() as smtp:
        svc = _service(tmp_path, [{"name": "big", "channels": [{"url": smtp.url()}], "attach_above": 50}])
        poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
        result = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
        assert [deliver_one(svc, i).status for i in due(svc.engine)] == ["sent"]
        [mail] = smtp.wait(1)
    expected = _change_set(
        [
            {"id": c.id, "change": c.change, "kind": c.kind, "key": c.key, "name": c.name}
            | {"before": c.before, "after": c.after, "fields": c.fields}
            for c in result.changes
        ]
    )
    files = {p.get_filename(): p.get_payload(decode=True) for p in mail.walk() if p.get_filename()}
    assert files_date(mail) == "2024-02-23", "the subject carries the publication's date, not the poll's"
    stem = "OFAC-SDN-2024-02-23-changes"
    assert sorted(files) == [f"{stem}.csv", f"{stem}.json"]
    doc = json.loads(next(v for k, v in files.items() if k.endswith(".json")))
    assert _change_set(doc["changes"]) == expected
    table = csv.DictReader(io.StringIO(next(v for k, v in files.items() if k.endswith(".csv")).decode("utf-8-sig")))
    parsed = []
    for row in table:
        row = {k: v[1:] if v[:2] in ("'=", "'+", "'-", "'@") else v for k, v in row.items()}  # documented prefix
        parsed.append(
            {"id": int(row["id"]), "change": row["change"], "kind": row["kind"], "key": row["key"], "name": row["name"]}
            | {k: json.loads(row[k]) if row[k] else None for k in ("before", "after", "fields")}
        )
    assert _change_set(parsed) == expected
    html = next(p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/html")
    assert html.count("<li><b>") == 20 and "the whole set is attached as CSV and JSON" in html
    assert "561 changes: 8 amended, 553 new designations" in html


def files_date(mail) -> str:
    subject = str(make_header(decode_header(mail["Subject"])))
    return subject.split(" — ")[0].rsplit(" ", 1)[1]


def test_each_new_designation_says_which_other_lists_already_name_the_party_and_since_when(tmp_path):
    """Real OFAC SDN and UN files: a UN party also on OFAC is found with its UN listing date; OFAC's Russia
    action of 2024-02-23 names parties that are not on the UN list, and the alert says so."""
    from notifier.alerts.deliver import deliver_one
    from notifier.alerts.outbox import due
    from notifier.ingest.pipeline import poll
    from tests.support.receivers import WebhookReceiver

    hook = WebhookReceiver()
    try:
        sources = {"us_ofac_sdn": {"url": "x", "title": "OFAC SDN"}, "un_sc": {"url": "x", "title": "UN SC"}}
        svc = _service(tmp_path, [{"name": "a", "channels": [{"url": hook.url()}], "attach_above": None}], sources)
        poll(svc, "un_sc", {"main": str(real("un/2024-11-30_consolidated.xml"))})
        poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-20_sdn.csv"))})
        index = svc.parties.current()
        with Session(svc.engine) as s:
            un = [json.loads(p) for p in s.execute(select(Record.payload).where(Record.source == "un_sc")).scalars()]
        notes = [(p, index.also_listed(p, "un_sc")) for p in un]
        on_ofac = [(p, n) for p, n in notes if n.startswith("Also on: OFAC SDN")]
        assert len(on_ofac) > 50, "many UN parties are also on the SDN list"
        assert all(n == "Also on: OFAC SDN (seen " + n.split("(seen ")[1] for _, n in on_ofac), on_ofac[:3]
        off = [n for _, n in notes if not n.startswith("Also on")]
        assert off and all(n == "On no other list we follow (OFAC SDN)" for n in off)
        ofac_view = next(p for p, _ in on_ofac)
        sdn_note = index.also_listed({**ofac_view, "listed_on": None}, "us_ofac_sdn")
        un_dates = {p["listed_on"] for p in un if index.also_listed(p, "us_ofac_sdn") == sdn_note}
        assert re.fullmatch(r"Also on: UN SC since \d{4}-\d\d-\d\d", sdn_note) and sdn_note[-10:] in un_dates

        poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
        assert {deliver_one(svc, i).status for i in due(svc.engine)} == {"sent"}
        text = "\n".join(m["message"] for m in hook.wait(1))
        assert text.count("On no other list we follow (UN SC)") + text.count("Also on: UN SC") == 553
    finally:
        hook.close()


class _SlackApi:
    """A local stand-in for Slack's Web API (chat.postMessage and the three-step file upload) that keeps files."""

    def __init__(self) -> None:
        import threading
        from email.parser import BytesParser
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        self.messages: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.shared: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, doc: dict) -> None:
                raw = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                name = query["filename"][0]
                upload = f"http://127.0.0.1:{api.port}/upload/{name}"
                self._answer({"ok": True, "file_id": f"F-{name}", "upload_url": upload})

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/upload/"):
                    head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
                    form = BytesParser().parsebytes(head + raw)
                    for part in form.walk():
                        if part.get_filename():
                            api.files[part.get_filename()] = part.get_payload(decode=True)
                    self._answer({"ok": True})
                elif self.path.endswith("chat.postMessage"):
                    api.messages.append(json.loads(raw))
                    self._answer({"ok": True, "channel": "C0000000001", "ts": "1.0"})
                else:  # files.completeUploadExternal
                    doc = json.loads(raw)
                    api.shared.append(doc)
                    self._answer({"ok": True, "files": doc["files"]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_slack_with_a_bot_token_gets_the_change_set_files_uploaded(ofac_0223, monkeypatch):
    """Where Apprise hands the files to HTTP: the same CSV and JSON uploaded and shared into the channel."""
    from apprise.plugins.slack import NotifySlack

    from notifier.alerts.deliver import can_attach, send
    from notifier.alerts.subscriptions import Channel

    meta, views, published = ofac_0223
    api = _SlackApi()
    try:
        monkeypatch.setattr(NotifySlack, "api_url", f"http://127.0.0.1:{api.port}/api/{{}}")
        channel = Channel(url="slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#sanctions")
        channel.resolved = channel.url
        webhook = Channel(url="slack://T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx")
        webhook.resolved = webhook.url
        assert can_attach(channel) and not can_attach(webhook), "Slack webhooks carry no files"
        messages = render_changes(meta, POLLED, views, "slack", 31_500, published=published, attach_above=100)
        assert len(messages) == 1 and len(messages[0].attachments) == 2
        assert send(channel, messages[0], 10) is None
        assert len(api.messages) == 1 and "561 changes: 8 amended, 553 new designations" in json.dumps(api.messages)
        stem = "OFAC-SDN-2024-02-23-changes"
        assert sorted(api.files) == [f"{stem}.csv", f"{stem}.json"]
        assert {d["files"][0]["title"] for d in api.shared} == {f"{stem}.csv", f"{stem}.json"}
        doc = json.loads(api.files[f"{stem}.json"])
        assert sorted(c["id"] for c in doc["changes"]) == sorted(v.id for v in views)
        assert {c["id"]: (c["before"], c["after"], c["fields"]) for c in doc["changes"]} == {
            v.id: (v.before, v.after, v.fields) for v in views
        }
        rows = list(csv.DictReader(io.StringIO(api.files[f"{stem}.csv"].decode("utf-8-sig"))))
        assert sorted(int(r["id"]) for r in rows) == sorted(v.id for v in views)
        assert doc["published"] == "2024-02-23"
    finally:
        api.close()


def test_a_publication_with_delistings_orders_amendments_then_delistings_then_designations(tmp_path):
    """The real OFAC SDN 2024-02-23 → 2024-05-03 pair: 31 amended, 106 delisted, 587 designated."""
    from notifier.ingest.pipeline import poll

    svc = _service(tmp_path)
    poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-02-23_sdn.csv"))})
    result = poll(svc, "us_ofac_sdn", {"main": str(real(f"{SDN}/2024-05-03_sdn.csv"))})
    views = [Change(c.id, c.key, c.change, c.kind, c.name, c.before, c.after, c.fields) for c in result.changes]
    meta = SourceMeta("us_ofac_sdn", "OFAC SDN", "US", "designation", None)
    published = result.changes[0].published_on
    assert published == "2024-05-03"
    messages = render_changes(meta, POLLED, views, "text", 29_000, published=published)
    text = "\n".join(m.body for m in messages)
    assert "OFAC SDN, publication of 2024-05-03" in messages[0].body
    assert "724 changes: 31 amended, 106 delistings, 587 new designations" in messages[0].body
    heads = [
        m.start() for m in re.finditer(r"^== (Amendments to listed parties|Delistings|New designations)", text, re.M)
    ]
    sections = [re.match(r"== (\w+)", text[h:]).group(1) for h in heads]
    assert set(sections) == {"Amendments", "Delistings", "New"}
    assert sections == sorted(sections, key=["Amendments", "Delistings", "New"].index), "urgent first"
    for v in views:
        assert f"* {VERBS[v.change]}: {v.name} (" in text, v.name
    assert all(m.title.startswith("OFAC SDN 2024-05-03 — ") for m in messages)
    delisting_parts = [m.title for m in messages if "delistings" in m.title]
    assert delisting_parts, "a part says it carries the delistings"


VERBS = {"added": "Designated", "removed": "Delisted", "amended": "Amended"}
