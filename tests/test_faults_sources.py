"""Hostile or broken sources, served for real on 127.0.0.1: none may alert a subscriber, each leaves ops a reason.

Every case polls a good baseline, then the bad answer, then the next real publication: the bad answer is
refused (failed or quarantined, with its reason stored and sent to ops), the analysts hear nothing, and the next
good snapshot is diffed against the last accepted one (its real changes come out exactly). On SQLite: what is
checked here is the pipeline's judgement, which does not depend on the database.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import time
import uuid
import zlib
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.alerts.deliver import deliver_one
from notifier.alerts.outbox import due
from notifier.app import build_service
from notifier.ingest.guard import double_encoded
from notifier.ingest.pipeline import poll
from notifier.settings import Settings
from notifier.store.db import dispose_engines
from notifier.store.models import Delivery, SourceState
from tests.conftest import real
from tests.support.dbtext import database_text
from tests.support.http import LocalServer
from tests.support.receivers import WebhookReceiver
from tests.support.service import NOTIFIER

CONS = "ofac/consolidated_xml"
SDN = "ofac/sdn_csv"
UN = "un"
FAIL = "failures"


class Rig:
    """One source behind a LocalServer, analysts and ops on webhooks, every failure alerting ops at once."""

    def __init__(self, tmp_path: Path, server: LocalServer, analysts: WebhookReceiver, ops: WebhookReceiver) -> None:
        self.tmp_path, self.server, self.analysts, self.ops = tmp_path, server, analysts, ops

    def service(self, source: str, **settings: object):  # noqa: ANN201
        url = self.server.url("/list")
        (self.tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": {source: {"url": url}}}))
        subscribers = [
            {"name": "analysts", "channels": [{"url": self.analysts.url("/analysts")}]},
            {"name": "ops", "tags": ["ops"], "channels": [{"url": self.ops.url("/ops")}]},
        ]
        (self.tmp_path / "subs.yaml").write_text(yaml.safe_dump({"subscribers": subscribers}))
        base = dict(read_timeout=1.0, fetch_deadline=2.0, max_download_mb=8, ops_failure_threshold=1)
        return build_service(
            Settings(
                data_dir=self.tmp_path / "data",
                database_url=f"sqlite:///{self.tmp_path / 'notifier.db'}",
                sources_file=self.tmp_path / "sources.yaml",
                subscriptions_file=self.tmp_path / "subs.yaml",
                **{**base, **settings},
            )
        )


@pytest.fixture
def rig(tmp_path):
    analysts, ops = WebhookReceiver(), WebhookReceiver()
    with LocalServer() as server:
        yield Rig(tmp_path, server, analysts, ops)
    analysts.close()
    ops.close()
    dispose_engines()


def deliver_due(svc) -> list[str]:
    return [deliver_one(svc, i).status for i in due(svc.engine)]


def _gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about 1,000 to 1): small on the wire, huge once decoded."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(size >> 20)), packer.flush()])


def _laughs(padding: int) -> bytes:
    """A billion-laughs document; `padding` bytes of comment first push the DTD past a quick look at the head."""
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    head = b'<?xml version="1.0"?>\n' + (b"<!--" + b"x" * padding + b"-->\n" if padding else b"")
    body = real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes()
    body = body[body.index(b"<sdnList") :].replace(b"<lastName>", b"<lastName>&lol9;", 1)
    return head + f'<!DOCTYPE sdnList [<!ENTITY lol0 "lol">{lol}]>\n'.encode() + body


def _sdn_rows(path: str) -> list[bytes]:
    return real(path).read_bytes().splitlines(keepends=True)


def _cons(date: str) -> bytes:
    return real(f"{CONS}/{date}_CONSOLIDATED.XML").read_bytes()


# (source, baseline, bad answer, expected status, reason pattern, next good publication, its (added, removed, amended))
CASES = {
    "status-500": ("cons", dict(body=b"Internal Server Error", status=500), "failed", r"HTTP 500"),
    "status-404": ("cons", dict(body=b"", status=404), "failed", r"HTTP 404"),
    "real-eu-500-page": (
        "cons",
        dict(path=f"{FAIL}/eu_fsf_http500_2021-02-09.html", status=500),
        "failed",
        r"HTTP 500",
    ),
    "timeout": ("cons", dict(body="next", delay=2.5), "failed", r"timed out"),
    "slow-drip-never-finishing": ("cons", dict(body="next", drip=0.005), "failed", r"longer than the deadline"),
    "connection-reset": ("cons", dict(body="next", reset_after=50_000), "failed", r"connection broken"),
    "truncated-body": ("cons", dict(body="next", declared_length=2_000_000), "failed", r"connection broken"),
    "truncated-document": ("cons", dict(body="half"), "quarantined", r"not well-formed XML"),
    "empty-body": ("cons", dict(body=b""), "quarantined", r"empty download"),
    "real-html-error-page-200": (
        "cons",
        dict(path=f"{FAIL}/eu_fsf_http500_2021-02-09.html", content_type="text/html"),
        "quarantined",
        r"HTML page",
    ),
    "real-html-landing-page-200": ("cons", dict(path=f"{FAIL}/eu_csv_got_html_page.html"), "quarantined", r"HTML page"),
    "real-json-error-body-200": (
        "cons",
        dict(path=f"{FAIL}/eu_fsf_http500_2026-02-08.json", content_type="application/json"),
        "quarantined",
        r"not parseable",
    ),
    "gzip-bomb": ("cons", dict(body="bomb", headers={"Content-Encoding": "gzip"}), "failed", r"size cap"),
    "billion-laughs": ("cons", dict(body="laughs"), "quarantined", r"declares entities"),
    "billion-laughs-behind-a-70kb-comment": ("cons", dict(body="laughs-padded"), "quarantined", r"declares entities"),
    "far-over-the-size-cap": ("cons", dict(body=b"x" * 65536, repeat=4096), "failed", r"size cap"),
    "far-over-the-cap-without-length": (
        "cons",
        dict(body=b"x" * 65536, repeat=4096, length=False),
        "failed",
        r"size cap",
    ),
    "wrong-encoding-declared-utf8": ("un", dict(body="un-cp1252"), "quarantined", r"not well-formed XML"),
    "utf8-read-as-latin1-mojibake": ("un", dict(body="un-mojibake"), "quarantined", r"wrong text encoding"),
    "utf16-csv": ("sdn", dict(body="sdn-utf16", content_type="text/csv"), "quarantined", r"not parseable"),
    "duplicated-record-keys": ("sdn", dict(body="sdn-dup", content_type="text/csv"), "quarantined", r"duplicate|twice"),
    "half-the-records-dropped": ("sdn", dict(body="sdn-half", content_type="text/csv"), "quarantined", r"drop of 50%"),
    "real-empty-sdn-download": (
        "sdn",
        dict(path=f"{FAIL}/ofac_sdn_csv_empty_download_2024-05-04.csv", content_type="text/csv"),
        "quarantined",
        r"empty download",
    ),
}

SOURCES = {
    # source id, baseline, next good publication, the changes between them (added, removed, amended)
    "cons": ("us_ofac_cons", lambda: _cons("2025-10-22"), lambda: _cons("2025-12-18"), (0, 1, 0)),
    "un": (
        "un_sc",
        lambda: real(f"{UN}/2025-12-09_consolidated.xml").read_bytes(),
        lambda: real(f"{UN}/2025-12-10_consolidated.xml").read_bytes(),
        (0, 1, 0),
    ),
    "sdn": (
        "us_ofac_sdn",
        lambda: real(f"{SDN}/2024-02-20_sdn.csv").read_bytes(),
        lambda: real(f"{SDN}/2024-02-23_sdn.csv").read_bytes(),
        (553, 0, 8),
    ),
}


def _bad_body(name: str, base: bytes, following: bytes) -> bytes:
    if name == "next":
        return following
    if name == "half":
        return following[: len(following) // 2]
    if name == "bomb":
        return _gzip_bomb(64 << 20)
    if name == "laughs":
        return _laughs(0)
    if name == "laughs-padded":
        return _laughs(70_000)
    if name == "un-cp1252":
        return following.decode("utf-8").encode("cp1252", "replace")
    if name == "un-mojibake":
        return following.decode("utf-8").encode("utf-8").decode("latin-1").encode("utf-8")
    if name == "sdn-utf16":
        return following.decode("cp1252").encode("utf-16")
    rows, trailer = base.splitlines(keepends=True)[:-1], base.splitlines(keepends=True)[-1:]  # ends with ^Z
    if name == "sdn-dup":
        return b"".join(rows + rows[100:120] + trailer)
    if name == "sdn-half":
        return b"".join(rows[::2] + trailer)
    raise AssertionError(name)


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_or_broken_answer_alerts_no_subscriber_and_tells_ops_why(rig, case):
    kind, route, status, reason = CASES[case]
    source, baseline, following, changes = SOURCES[kind]
    base, nxt = baseline(), following()
    svc = rig.service(source)
    rig.server.serve("/list", base)
    assert poll(svc, source).status == "accepted"

    route = dict(route)
    body = real(route.pop("path")).read_bytes() if "path" in route else route.pop("body")
    if isinstance(body, str):
        body = _bad_body(body, base, nxt)
    rig.server.serve("/list", body, **route)
    started = time.monotonic()
    result = poll(svc, source)
    took = time.monotonic() - started

    assert result.status == status, result.summary()
    assert re.search(reason, result.reason), result.reason
    assert took < 8, f"a hostile answer held the poll for {took:.1f}s"
    with Session(svc.engine) as s:
        state = s.get(SourceState, source)
        assert state.last_error == result.reason and state.last_status == status
        purposes = set(s.execute(select(Delivery.purpose)).scalars())
    assert purposes == {"ops"}, "only ops hear of a refused snapshot"
    assert deliver_due(svc) == ["sent"]
    [alert] = rig.ops.wait(1)
    assert result.reason[:60] in alert["message"], "the ops alert carries the reason"
    assert rig.analysts.received == [] and rig.analysts.hits == 0

    # The next real publication is diffed against the last accepted snapshot, never against the bad answer.
    rig.server.serve("/list", nxt, headers={"X-Version": "next"})
    recovered = poll(svc, source)
    assert recovered.status == "accepted", recovered.summary()
    assert (recovered.added, recovered.removed, recovered.amended) == changes
    assert deliver_due(svc) == ["sent"], "one alert to the analysts (its parts all sent)"
    assert rig.analysts.received and {r["path"] for r in rig.analysts.received} == {"/analysts"}


def _data_dir_text(folder: Path) -> str:
    """Every file under the data dir, archived snapshots decompressed."""
    parts = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            parts.append((gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.mark.parametrize("padding", [0, 70_000], ids=["dtd-at-the-head", "dtd-behind-a-70kb-comment"])
def test_an_external_entity_never_brings_a_local_files_content_anywhere(rig, tmp_path, caplog, capfd, padding):
    secret = f"XXE-CANARY-{uuid.uuid4().hex}"
    canary = tmp_path / "canary.txt"
    canary.write_text(secret)
    body = _cons("2025-12-18")
    body = body[body.index(b"<sdnList") :].replace(b"<lastName>", b"<lastName>&xxe;", 3)
    doc = (
        b'<?xml version="1.0"?>\n'
        + (b"<!--" + b"x" * padding + b"-->\n" if padding else b"")
        + f'<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "{canary.as_uri()}">]>\n'.encode()
        + body
    )
    svc = rig.service("us_ofac_cons", log_level="DEBUG")
    caplog.set_level("DEBUG")
    rig.server.serve("/list", _cons("2025-10-22"))
    poll(svc, "us_ofac_cons")
    rig.server.serve("/list", doc)
    result = poll(svc, "us_ofac_cons")
    deliver_due(svc)
    assert result.status == "quarantined" and "declares entities" in result.reason
    out, err = capfd.readouterr()
    seen_by_ops = json.dumps(rig.ops.wait(1))
    places = {
        "database": database_text(svc.engine),
        "logs": caplog.text + out + err,
        "data dir": _data_dir_text(tmp_path / "data"),
        "alerts": seen_by_ops + json.dumps(rig.analysts.received),
    }
    assert all(secret not in text for text in places.values()), [k for k, v in places.items() if secret in v]
    assert str(canary) in places["data dir"], "the raw answer is archived for audit (the path, not the content)"


def test_real_publications_never_look_double_encoded():
    """The encoding guard has no false alarm on real lists in many scripts (Arabic, Cyrillic, CJK, accents)."""
    for path in (
        f"{UN}/2025-12-09_consolidated.xml",
        f"{SDN}/2024-05-03_sdn.csv",
        "eu/excerpt_2026-08-05_b_xmlFullSanctionsList_1_1.xml",
        "uk/hmt_consolidated_2014-04-02_ConList.csv",
        "jp/mof_shisantouketsu20260828_excerpt.csv",
        "ch/excerpt_2026-08-15_targets.xml",
    ):
        raw = real(path).read_bytes()
        for enc in ("utf-8", "cp1252"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        flagged = [line for line in text.splitlines() if double_encoded(line)]
        assert flagged == [], (path, flagged[:3])


def _peak_rss_of_a_poll(tmp_path: Path, url: str, cap_mb: int) -> tuple[int, str]:
    """Peak resident memory (MB) of `notifier poll` run as its own process, and what it printed."""
    (tmp_path / "cfg").mkdir(exist_ok=True)
    sources = tmp_path / "cfg" / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": {"us_ofac_cons": {"url": url}}}))
    (tmp_path / "cfg" / "subs.yaml").write_text("subscribers: []\n")
    env = {
        **os.environ,
        "NOTIFIER_DATA_DIR": str(tmp_path / f"data-{uuid.uuid4().hex[:6]}"),
        "NOTIFIER_SOURCES_FILE": str(sources),
        "NOTIFIER_SUBSCRIPTIONS_FILE": str(tmp_path / "cfg" / "subs.yaml"),
        "NOTIFIER_MAX_DOWNLOAD_MB": str(cap_mb),
        "NOTIFIER_BROKER_URL": "",
        "NOTIFIER_DATABASE_URL": "",
    }
    proc = subprocess.Popen(
        [str(NOTIFIER), "poll", "us_ofac_cons"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage: its peak RSS, in KiB on Linux
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss // 1024, output


@pytest.mark.slow
def test_memory_stays_bounded_whatever_size_a_body_claims_or_decodes_to(tmp_path):
    """A 1 GiB body and a gzip bomb decoding to 1 GiB cost no more memory than polling the real 1 MB list."""
    with LocalServer() as server:
        normal, normal_out = _peak_rss_of_a_poll(tmp_path, server.serve("/ok", _cons("2025-10-22")), 16)
        assert "baseline: 443 records" in normal_out, normal_out
        huge, huge_out = _peak_rss_of_a_poll(
            tmp_path, server.serve("/huge", b"<" * 65536, repeat=16384, length=False), 16
        )
        bomb, bomb_out = _peak_rss_of_a_poll(
            tmp_path, server.serve("/bomb", _gzip_bomb(1 << 30), headers={"Content-Encoding": "gzip"}), 16
        )
    print(f"peak RSS: normal poll {normal} MB, 1 GiB body {huge} MB, 1 GiB gzip bomb {bomb} MB (cap 16 MB)")
    assert "size cap" in huge_out and "size cap" in bomb_out, (huge_out, bomb_out)
    assert huge <= normal + 24 and bomb <= normal + 24, (normal, huge, bomb)
