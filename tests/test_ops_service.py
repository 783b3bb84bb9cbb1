"""`notifier status`, the health checks and the metrics endpoint against a really running service, on the
embedded broker (`notifier run`) and on Redis (`notifier worker` + `notifier beat`): healthy while it is, then
a failing source, a dead delivery and a stopped worker each show as unhealthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from notifier.app import build_service
from notifier.ops.status import collect
from notifier.settings import Settings
from tests.conftest import real
from tests.support.http import LocalServer
from tests.support.receivers import WebhookReceiver, free_port
from tests.support.service import ServiceProcess, wait_for

NOTIFIER = Path(sys.executable).parent / "notifier"
CONS = "ofac/consolidated_xml"
pytestmark = pytest.mark.slow


@pytest.fixture(params=["embedded", "redis"])
def deployment(request, tmp_path):
    """Environment and commands of a running service; the Redis flavour gets a private Redis and PostgreSQL."""
    if request.param == "embedded":
        db_url = f"sqlite:///{tmp_path / 'data' / 'notifier.db'}"
        yield {"NOTIFIER_DATABASE_URL": db_url, "NOTIFIER_BROKER_URL": ""}, [["run"]]
        return
    from tests.support.servers import RedisServer

    with RedisServer(tmp_path / "redis") as redis_server:
        env = {"NOTIFIER_DATABASE_URL": request.getfixturevalue("pg_url"), "NOTIFIER_BROKER_URL": redis_server.url()}
        yield env, [["worker", "--concurrency", "1"], ["beat"]]


def test_status_health_and_metrics_tell_the_truth_about_a_running_service(tmp_path, deployment):
    env_extra, commands = deployment
    hook = WebhookReceiver()
    metrics_port = free_port()
    with LocalServer() as server:
        ofac = server.serve("/CONSOLIDATED.XML", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
        mirror = server.serve("/mirror.xml", real(f"{CONS}/2025-10-22_CONSOLIDATED.XML").read_bytes())
        (tmp_path / "config").mkdir()
        sources = {
            "us_ofac_cons": {"url": ofac, "schedule": "5s"},
            "mirror": {"adapter": "us_ofac_cons", "url": mirror, "schedule": "5s"},
        }
        (tmp_path / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
        subs = {"subscribers": [{"name": "analysts", "channels": [{"url": hook.url()}], "filters": {}}]}
        (tmp_path / "config" / "subscriptions.yaml").write_text(yaml.safe_dump(subs))
        env = {
            "NOTIFIER_DATA_DIR": str(tmp_path / "data"),
            "NOTIFIER_HEARTBEAT_INTERVAL": "1",
            "NOTIFIER_RELAY_INTERVAL": "1",
            "NOTIFIER_RELAY_GRACE": "2",
            "NOTIFIER_DELIVERY_MAX_ATTEMPTS": "1",
            "NOTIFIER_OPS_FAILURE_THRESHOLD": "2",
            "NOTIFIER_METRICS_PORT": str(metrics_port),
            "NOTIFIER_METRICS_ADDR": "127.0.0.1",
            "NOTIFIER_LOG_LEVEL": "INFO",
            **env_extra,
        }
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=env["NOTIFIER_DATABASE_URL"],
            broker_url=env["NOTIFIER_BROKER_URL"] or None,
            sources_file=tmp_path / "config" / "sources.yaml",
            subscriptions_file=tmp_path / "config" / "subscriptions.yaml",
            heartbeat_interval=1,
            relay_interval=1,
            ops_failure_threshold=2,
        )
        svc = build_service(settings, with_subscribers=False)

        def cli(*args: str) -> subprocess.CompletedProcess:
            full = {**os.environ, **env, "NOTIFIER_LOG_LEVEL": "WARNING"}
            return subprocess.run([str(NOTIFIER), *args], env=full, cwd=tmp_path, capture_output=True, text=True)

        def problems() -> list[str]:
            return collect(svc).all_problems

        def metrics() -> str:
            return urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()

        procs = [ServiceProcess(cmd, env, tmp_path, f"svc{i}").start() for i, cmd in enumerate(commands)]
        try:

            def all_good() -> bool:
                report = collect(svc)
                return report.healthy and report.relay and all(s.condition == "ok" for s in report.sources)

            wait_for(all_good, 60, what="a healthy service")
            status = cli("status", "--json")
            assert status.returncode == 0, status.stdout + status.stderr
            report = json.loads(status.stdout)
            assert {s["source"]: s["condition"] for s in report["sources"]} == {"mirror": "ok", "us_ofac_cons": "ok"}
            assert [w["state"] for w in report["workers"]] == ["alive"]
            assert [b["state"] for b in report["beat"]["processes"]] == ["scheduling"]
            assert cli("health", "worker").returncode == 0 and cli("health", "beat").returncode == 0
            assert "notifier_healthy 1.0" in wait_for(metrics, 20, what="the worker's metrics endpoint")

            # A source starts failing while the other's change cannot be delivered: both show, separately.
            hook.responses = [500]
            server.serve("/mirror.xml", b"", status=503)
            server.serve("/CONSOLIDATED.XML", real(f"{CONS}/2025-12-18_CONSOLIDATED.XML").read_bytes())
            wait_for(lambda: any(p.startswith("source mirror: 2 failed polls") for p in problems()), 30, what="failing")
            wait_for(lambda: any("1 dead deliveries" in p for p in problems()), 30, what="the dead delivery")
            scraped = metrics()
            assert 'notifier_source_healthy{source="mirror"} 0.0' in scraped
            assert 'notifier_source_healthy{source="us_ofac_cons"} 1.0' in scraped
            assert "notifier_outbox_dead 1.0" in scraped and "notifier_healthy 0.0" in scraped
            listed = cli("outbox", "list", "--json")
            assert [json.loads(line)["status"] for line in listed.stdout.splitlines()] == ["dead"]

            worker = procs[0]
            if len(procs) == 1:
                assert worker.stop() == 0, "SIGTERM stops `notifier run` cleanly"
                expected = "queue poll: no live worker consumes it"
            else:
                worker.kill()  # no clean shutdown: the heartbeat just stops
                expected = "lost, last heartbeat"
            wait_for(lambda: any(expected in p for p in problems()), 30, what=expected)
            down = cli("health", "worker")
            assert down.returncode == 1 and len(down.stdout.strip().splitlines()) == 1, down.stdout
            final = cli("status")
            assert final.returncode == 1 and "UNHEALTHY" in final.stdout and "dead deliveries" in final.stdout
        finally:
            for p in procs:
                p.stop()
            hook.close()
            logs = "\n".join(p.log() for p in procs)
            if "Traceback" in logs:
                print(logs[-5000:])
    assert "task_id=" in logs, "log lines inside tasks carry the task id"
