"""No secret is ever written down: a full cycle at DEBUG level with secret-bearing URLs everywhere (a list URL
token, webhook passwords, paths and headers, an SMTP password, whole webhook URLs from the environment, a broker
password), then every place the service writes is searched: log files, CLI output, every text column of every
table, the data folder (archives decompressed) and the broker's own keys.
"""

from __future__ import annotations

import base64
import gzip
import os
import subprocess

import pytest
from sqlalchemy import create_engine

from tests.conftest import real
from tests.support.dbtext import database_text
from tests.support.http import LocalServer
from tests.support.receivers import SmtpSink, WebhookReceiver, free_port
from tests.support.servers import RedisServer
from tests.support.service import NOTIFIER, ServiceProcess, configure, wait_for

pytestmark = pytest.mark.slow
CONS = "ofac/consolidated_xml"

SECRETS = {
    "LIST_TOKEN": "ListTok3nQ9xA",
    "HOOK_PASSWORD": "HookPassw0rdZ7",
    "HOOK_PATH": "HookPathS3cretK2",
    "HOOK_HEADER": "HeaderTok3nM5b",
    "SMTP_PASSWORD": "SmtpPassw0rdJ8",
    "DEAD_PATH": "DeadPathS3cretW4",
}
IN_WHOLE_URLS = {"flaky path": "FlakyPathS3cretP1", "ops path": "OpsPathS3cretV6"}
BROKER_PASSWORD = "BrokerPassw0rdR3"


def _every_secret() -> dict[str, str]:
    found = {**SECRETS, **IN_WHOLE_URLS, "broker": BROKER_PASSWORD}
    found["hook basic auth"] = base64.b64encode(f"hookuser:{SECRETS['HOOK_PASSWORD']}".encode()).decode()
    found["smtp auth"] = base64.b64encode(f"\0smtpuser\0{SECRETS['SMTP_PASSWORD']}".encode()).decode()
    return found


def _folder_text(folder) -> str:
    parts = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def _redis_text(server: RedisServer) -> str:
    parts = []
    with server.client() as client:
        for key in client.scan_iter():
            kind = client.type(key).decode()
            value = {
                "string": lambda k: client.get(k),
                "list": lambda k: client.lrange(k, 0, -1),
                "hash": lambda k: client.hgetall(k),
                "set": lambda k: client.smembers(k),
                "zset": lambda k: client.zrange(k, 0, -1),
            }.get(kind, lambda k: b"")(key)
            parts.append(f"{key!r} {value!r}")
    return "\n".join(parts)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a local test server, on purpose
def test_a_full_cycle_at_debug_level_writes_no_secret_anywhere(tmp_path, pg_url):
    hook, flaky, ops = WebhookReceiver(), WebhookReceiver(), WebhookReceiver()
    flaky.responses = [500]
    smtp = SmtpSink(login=("smtpuser", SECRETS["SMTP_PASSWORD"])).start()
    closed = free_port()
    redis = RedisServer(tmp_path / "redis", password=BROKER_PASSWORD).start()
    procs: list[ServiceProcess] = []
    try:
        with LocalServer() as server:
            server.serve("/CONSOLIDATED.XML", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
            list_url = server.url("/CONSOLIDATED.XML") + "?token=${LIST_TOKEN}"
            subscribers = [
                {
                    "name": "analysts",
                    "channels": [
                        {
                            "url": f"json://hookuser:${{HOOK_PASSWORD}}@127.0.0.1:{hook.port}/hooks/${{HOOK_PATH}}"
                            "?+X-Api-Key=${HOOK_HEADER}"
                        },
                        {
                            "url": f"mailto://smtpuser:${{SMTP_PASSWORD}}@127.0.0.1:{smtp.port}"
                            "?from=notifier@example.com&to=analyst@example.com&secure=no&smtp=127.0.0.1"
                        },
                        {"url": "${FLAKY_HOOK_URL}"},
                        {"url": f"json://127.0.0.1:{closed}/dead/${{DEAD_PATH}}"},
                    ],
                },
                {"name": "ops", "tags": ["ops"], "channels": [{"url": "${OPS_WEBHOOK_URL}"}]},
            ]
            env = configure(
                tmp_path,
                {"us_ofac_cons": {"url": list_url, "schedule": "5s", "title": "OFAC Consolidated"}},
                subscribers,
                NOTIFIER_LOG_LEVEL="DEBUG",
                NOTIFIER_BROKER_URL=redis.url(),
                NOTIFIER_DATABASE_URL=pg_url,
                NOTIFIER_DELIVERY_MAX_ATTEMPTS="2",
                NOTIFIER_OPS_FAILURE_THRESHOLD="1",
                FLAKY_HOOK_URL=f"json://127.0.0.1:{flaky.port}/flaky/{IN_WHOLE_URLS['flaky path']}",
                OPS_WEBHOOK_URL=f"json://127.0.0.1:{ops.port}/ops/{IN_WHOLE_URLS['ops path']}",
                **SECRETS,
            )
            procs = [
                ServiceProcess(["worker", "--concurrency", "2"], env, tmp_path, "worker").start(),
                ServiceProcess(["beat"], env, tmp_path, "beat").start(),
            ]
            wait_for(lambda: any("token=" in p for p, _ in server.requests), 60, what="the baseline poll")
            wait_for(lambda: "poll accepted" in procs[0].log(), 60, what="the baseline to be stored")
            server.serve("/CONSOLIDATED.XML", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes())
            wait_for(lambda: hook.received and smtp.messages and flaky.received, 60, what="the alerts")
            wait_for(lambda: ops.received, 60, what="the dead delivery's ops alert")
            assert smtp.logins == ["smtpuser"], "the SMTP password reached the server (and only the server)"
            assert hook.received[0]["path"] == f"/hooks/{SECRETS['HOOK_PATH']}"
            for p in procs:
                p.stop()

            cli_env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")},
                **env,
                "NOTIFIER_SUBSCRIPTIONS_FILE": env["NOTIFIER_SUBSCRIPTIONS_FILE"],
            }
            outputs = []
            for args in (
                ["sources", "--json"],
                ["sources"],
                ["subscriptions", "check"],
                ["subscriptions", "test", "analysts"],
                ["poll", "us_ofac_cons"],
                ["changes", "--json"],
                ["status", "--json"],
                ["status"],
                ["settings"],
                ["outbox", "list"],
            ):
                proc = subprocess.run(
                    [str(NOTIFIER), *args], cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=120
                )
                outputs.append(f"$ notifier {' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}")
        cli_text = "\n".join(outputs)
        assert "KAYAKIRAN" in cli_text and "dead" in cli_text, cli_text[-3000:]
        places = {
            "logs": "\n".join(p.log() for p in procs),
            "cli": cli_text,
            "database": _pg_text(pg_url),
            "data dir": _folder_text(tmp_path / "data"),
            "broker": _redis_text(redis),
        }
        assert "level=debug" in places["logs"], "the service really logged at DEBUG"
        leaks = [
            (place, name)
            for place, text in places.items()
            for name, secret in _every_secret().items()
            if secret in text
        ]
        assert leaks == [], leaks
    finally:
        for p in procs:
            p.kill()
        redis.stop()
        smtp.stop()
        for r in (hook, flaky, ops):
            r.close()


def _pg_text(url: str) -> str:
    engine = create_engine(url)
    try:
        return database_text(engine)
    finally:
        engine.dispose()
