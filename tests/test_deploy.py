"""The deployment files, checked without Docker: every command a container runs exists, every variable is a
real setting, every dependency waits for health, and .env.example names exactly the settings there are."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from notifier.settings import ENV_PREFIX, Settings, env_example
from tests.conftest import REPO

NOTIFIER = Path(sys.executable).parent / "notifier"
CELERY = Path(sys.executable).parent / "celery"
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTING_NAMES = {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def commands() -> list[tuple[str, list[str]]]:
    """(service, argv) for every command and health check test a service runs."""
    found = []
    for name, svc in SERVICES.items():
        if "sanctions-notifier" not in svc.get("image", ""):
            continue  # redis, postgres, prometheus: their own images
        found.append((name, svc["command"]))
        test = svc.get("healthcheck", {}).get("test")
        if test:
            found.append((f"{name} healthcheck", test[1:]))
    return found


def run(argv: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NOTIFIER_DATA_DIR": str(data_dir), "NOTIFIER_LOG_LEVEL": "WARNING"}
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)


def test_compose_runs_the_required_roles_from_one_image():
    roles = {name: svc.get("command") for name, svc in SERVICES.items()}
    assert roles["migrate"] == ["notifier", "migrate"]
    assert roles["worker-poll"] == ["notifier", "worker", "--queues", "poll"]
    assert roles["worker-deliver"] == ["notifier", "worker", "--queues", "deliver"]
    assert roles["beat"] == ["notifier", "beat"]
    assert roles["flower"][:4] == ["celery", "--app", "tasks.app:app", "flower"]
    assert "--enable_events=true" in roles["flower"]
    images = {SERVICES[r]["image"] for r in ("migrate", "worker-poll", "worker-deliver", "beat", "metrics", "flower")}
    assert len(images) == 1, "every notifier role runs the same image"
    for worker in ("worker-poll", "worker-deliver"):
        assert "container_name" not in SERVICES[worker], "a fixed container name would prevent --scale"
        assert "ports" not in SERVICES[worker], "a published port would prevent --scale"


def test_redis_never_evicts_and_every_stateful_service_has_a_health_check():
    redis_cmd = SERVICES["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"
    for name in ("redis", "postgres", "worker-poll", "worker-deliver", "beat", "metrics", "flower"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["worker-poll"]["healthcheck"]["test"] == ["CMD", "notifier", "health", "worker"]
    assert SERVICES["beat"]["healthcheck"]["test"] == ["CMD", "notifier", "health", "beat"]


def test_every_dependency_waits_for_health_or_for_the_migration_to_finish():
    for name, svc in SERVICES.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must name a condition for each dependency"
        for dep, how in deps.items():
            expected = "service_completed_successfully" if dep == "migrate" else "service_healthy"
            assert how.get("condition") == expected, f"{name} -> {dep}: {how}"
            if expected == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits for {dep}, which has no health check"
            assert SERVICES[dep].get("profiles") is None or svc.get("profiles"), f"{name} needs optional {dep}"
    assert set(SERVICES["worker-poll"]["depends_on"]) == {"migrate", "redis", "postgres"}
    assert SERVICES["migrate"].get("restart") == "no"


@pytest.mark.parametrize("service, argv", commands(), ids=[c[0] for c in commands()])
def test_every_command_a_service_runs_exists(service, argv, tmp_path):
    program, *args = argv
    if program == "notifier":
        result = run([str(NOTIFIER), *args, "--help"], tmp_path)
    elif program == "celery":
        pytest.importorskip("flower", reason="flower is not installed here")
        result = run([str(CELERY), *args, "--help"], tmp_path)
    elif program == "python":
        result = run([sys.executable, "-c", f"import ast; ast.parse({args[1]!r})"], tmp_path)
    else:
        pytest.fail(f"{service}: unexpected program {program}")
    assert result.returncode == 0, f"{service}: {argv}: {result.stderr[-2000:]}"
    assert "Usage" in result.stdout or program == "python"


def test_every_notifier_variable_the_compose_file_sets_is_a_real_setting():
    seen = set()
    for name, svc in SERVICES.items():
        env = svc.get("environment", {})
        assert isinstance(env, dict), f"{name}: write environment as a mapping"
        seen |= {k for k in env if k.startswith(ENV_PREFIX)}
    text = (REPO / "docker-compose.yml").read_text()
    seen |= set(re.findall(r"\$\{(NOTIFIER_[A-Z0-9_]+)", text)) - {"NOTIFIER_IMAGE"}
    assert seen and seen <= SETTING_NAMES, f"not settings: {seen - SETTING_NAMES}"


def test_the_env_example_names_every_setting_with_its_default():
    text = (REPO / ".env.example").read_text()
    assert text == env_example(), "regenerate it: notifier settings --example > .env.example"
    named = set(re.findall(r"^#?(NOTIFIER_[A-Z0-9_]+)=", text, re.M))
    assert named == SETTING_NAMES
    for name, info in Settings.model_fields.items():
        assert info.description, f"{name} has no description for .env.example"
        default = "" if info.default is None else str(info.default)
        assert f"#{ENV_PREFIX}{name.upper()}={default}\n" in text


def test_the_dockerfile_copies_files_that_exist_and_runs_a_real_command(tmp_path):
    lines = (REPO / "Dockerfile").read_text().splitlines()
    copies = [shlex.split(line)[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies, "the Dockerfile copies the package"
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] != "#"}
    for sources in copies:
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: no such file"
            assert src not in ignored, f"COPY {src} but .dockerignore leaves it out"
    copied = {s for group in copies for s in group}
    assert {"pyproject.toml", "README.md", "notifier", "tasks", "sources", "config"} <= copied
    cmd = next(line for line in lines if line.startswith("CMD "))
    argv = yaml.safe_load(cmd[4:])
    assert run([str(NOTIFIER), *argv[1:], "--help"], tmp_path).returncode == 0
    assert ".env" in ignored, "secrets in .env must never be baked into the image"


def test_prometheus_files_referenced_by_compose_exist():
    for volume in SERVICES["prometheus"]["volumes"]:
        host = volume.split(":")[0]
        if host.startswith("./"):
            assert (REPO / host).is_file(), host
    prom = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert prom["rule_files"] == ["/etc/prometheus/alerts.yml"]
    targets = {t for job in prom["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert "metrics:9808" in targets and SERVICES["metrics"]["command"][-1] == "9808"


def test_an_empty_variable_means_the_default(monkeypatch):
    """A .env line left as `NOTIFIER_METRICS_PORT=` (what compose passes for an unset ${VAR}) must not break a start."""
    monkeypatch.setenv("NOTIFIER_METRICS_PORT", "")
    monkeypatch.setenv("NOTIFIER_BROKER_URL", "")
    settings = Settings()
    assert settings.metrics_port is None and settings.broker_url is None


def test_the_image_builds_from_a_slim_base_with_the_wheels_only_install_ci_checks():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-3]-slim\b", dockerfile, re.M), "a slim base: no compiler, no ICU"
    installs = [line for line in dockerfile.splitlines() if line.startswith("RUN pip install")]
    assert installs and all("--only-binary=:all:" in line for line in installs)
    ci = (REPO / ".ci" / "run").read_text()
    assert "--dry-run --only-binary=:all: '.[test]'" in ci and ci.index("--only-binary") < ci.index("make test")
