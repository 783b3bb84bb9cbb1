"""`notifier web` as a user runs it: replay the README's example, serve, find the delisting; tokens; `notifier run`
with NOTIFIER_WEB_PORT serving the same pages beside the worker."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.conftest import REPO, real
from tests.support.receivers import free_port
from tests.support.service import NOTIFIER, ServiceProcess, configure, wait_for
from tests.support.web import OFAC_DIR, OFAC_FILES, OFAC_SOURCE


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NOTIFIER), *args], cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def env(tmp_path):
    return configure(tmp_path, OFAC_SOURCE, [], NOTIFIER_LOG_LEVEL="WARNING")


def test_a_user_runs_notifier_web_and_finds_the_delisting_with_its_raw_file(env, tmp_path):
    files = [str(real(f"{OFAC_DIR}/{name}")) for name in OFAC_FILES]
    replayed = _cli(env, "replay", "us_ofac_cons", *files)
    assert replayed.returncode == 0, replayed.stderr
    assert "1 removed" in replayed.stdout
    port = free_port()
    web = ServiceProcess(["web", "--port", str(port)], env, tmp_path, "web").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), 60, 0.2, "notifier web to answer")
        page = requests.get(f"{base}/changes", params={"q": "26182"}, timeout=10)
        assert "KAYAKIRAN, Evren" in page.text
        change = page.text.split('href="/changes/')[1].split('"')[0]
        detail = requests.get(f"{base}/changes/{change}", timeout=10).text
        record = requests.get(f"{base}/records/us_ofac_cons/26182", timeout=10).text
        assert ">listed<" in record and ">removed<" in record
        raw_link = detail.split('class="download" href="')[1].split('"')[0]
        raw = requests.get(base + raw_link, timeout=30).content
        assert hashlib.sha256(raw).hexdigest() == hashlib.sha256(open(files[-1], "rb").read()).hexdigest()
        assert requests.get(f"{base}/api/changes", timeout=10).status_code == 401  # the API needs a token
    finally:
        web.stop()
    assert "Traceback" not in web.log()


def test_tokens_are_shown_once_stored_hashed_and_named_errors_are_one_line(env):
    made = _cli(env, "web", "token", "create", "alice", "--role", "reviewer")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("snt_") and len(token) > 40
    from notifier.store.models import ApiToken

    engine = create_engine(f"sqlite:///{env['NOTIFIER_DATA_DIR']}/notifier.db")
    with Session(engine) as session:
        row = session.execute(select(ApiToken)).scalar_one()
    engine.dispose()
    assert row.role == "reviewer" and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in open(f"{env['NOTIFIER_DATA_DIR']}/notifier.db", "rb").read().decode("latin-1")
    again = _cli(env, "web", "token", "create", "alice")
    assert again.returncode == 2 and again.stderr.startswith("error: a token named 'alice' exists")
    wrong = _cli(env, "web", "token", "create", "bob", "--role", "root")
    assert wrong.returncode == 2 and "use one of viewer, reviewer, admin" in wrong.stderr
    listed = _cli(env, "web", "token", "list")
    assert "alice  reviewer  created" in listed.stdout and token not in listed.stdout
    assert _cli(env, "web", "token", "revoke", "alice").returncode == 0
    assert "revoked" in _cli(env, "web", "token", "list").stdout


def test_a_taken_port_is_one_clear_line(env, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cli(env, "web", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}") and "Traceback" not in result.stderr


@pytest.mark.slow
def test_notifier_run_serves_the_web_pages_when_the_port_is_set(env, tmp_path):
    port = free_port()
    run = ServiceProcess(["run", "--concurrency", "1"], {**env, "NOTIFIER_WEB_PORT": str(port)}, tmp_path, "run")
    run.start()
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}"), 90, 0.3, "the web server inside `notifier run`")
        assert "us_ofac_cons" in requests.get(f"http://127.0.0.1:{port}/", timeout=30).text
    finally:
        run.stop()
    assert f"web: http://127.0.0.1:{port}/" in run.log()
