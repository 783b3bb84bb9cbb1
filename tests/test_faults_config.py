"""Bad configuration fails at start, through the real `notifier` command, with one message that names the file
(or the environment), the key, and what to write instead; never a traceback, never a silent default.

The cases run as subprocesses in parallel (once per module); each test checks one case's outcome.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.service import NOTIFIER

GOOD_SOURCES = 'sources:\n  us_ofac_cons: {url: "https://example.org/CONSOLIDATED.XML"}\n'
GOOD_SUBS = 'subscribers:\n  - {name: analysts, channels: [{url: "json://localhost/hook"}]}\n'
S, U = "config/sources.yaml", "config/subscriptions.yaml"


@dataclass
class Case:
    where: str  # the file (relative) or "environment"
    key: str  # the dotted key or variable named
    fix: str  # words of the fix
    sources: str = GOOD_SOURCES
    subs: str = GOOD_SUBS
    env: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ("subscriptions", "check")


def src(body: str) -> str:
    return f"sources:\n  us_ofac_cons: {body}\n"


def sub(extra: str, channels: str = '[{url: "json://localhost/hook"}]') -> str:
    return f"subscribers:\n  - {{name: a, channels: {channels}{', ' + extra if extra else ''}}}\n"


K = "sources.us_ofac_cons"
CASES = {
    # --- config/sources.yaml ----------------------------------------------------------------------------------
    "src-misspelt-key": Case(S, f"{K}.schedul", "unknown key", sources=src('{url: "https://x/a.xml", schedul: 5m}')),
    "src-schedule-words": Case(S, f"{K}.schedule", "5m", sources=src('{url: "https://x/a.xml", schedule: 5 mins}')),
    "src-schedule-too-often": Case(
        S, f"{K}.schedule", "every 5 seconds", sources=src('{url: "https://x/a", schedule: 1}')
    ),
    "src-schedule-bool": Case(S, f"{K}.schedule", "a duration", sources=src('{url: "https://x/a.xml", schedule: yes}')),
    "src-enabled-maybe": Case(S, f"{K}.enabled", "true or false", sources=src('{url: "https://x/a", enabled: maybe}')),
    "src-max-drop-over-1": Case(
        S, f"{K}.guard.max_drop", "less than or equal to 1", sources=src('{url: "https://x/a", guard: {max_drop: 1.5}}')
    ),
    "src-max-drop-zero": Case(
        S, f"{K}.guard.max_drop", "greater than 0", sources=src('{url: "https://x/a", guard: {max_drop: 0}}')
    ),
    "src-min-records-zero": Case(
        S,
        f"{K}.guard.min_records",
        "greater than or equal to 1",
        sources=src('{url: "https://x/a", guard: {min_records: 0}}'),
    ),
    "src-min-records-text": Case(
        S, f"{K}.guard.min_records", "whole number", sources=src('{url: "https://x/a", guard: {min_records: many}}')
    ),
    "src-guard-not-mapping": Case(S, f"{K}.guard", "mapping", sources=src('{url: "https://x/a", guard: 5}')),
    "src-guard-misspelt": Case(
        S, f"{K}.guard.maxdrop", "unknown key", sources=src('{url: "https://x/a", guard: {maxdrop: 0.2}}')
    ),
    "src-options-a-list": Case(S, f"{K}.options", "mapping", sources=src('{url: "https://x/a", options: [a]}')),
    "src-url-empty": Case(S, f"{K}.url", "empty", sources=src('{url: ""}')),
    "src-url-a-list": Case(S, f"{K}.url", "text", sources=src("{url: [a, b]}")),
    "src-url-missing": Case(S, f"{K}.url", "required key missing", sources=src("{schedule: 5m}")),
    "src-url-unfetchable-scheme": Case(S, f"{K}.url", "http(s)://", sources=src('{url: "ftp://x/a.xml"}')),
    "src-url-env-unset": Case(S, f"{K}.url", "NOPE_LIST_URL is not set", sources=src('{url: "${NOPE_LIST_URL}"}')),
    "src-adapter-unknown": Case(S, f"{K}.adapter", "installed", sources=src('{url: "https://x/a", adapter: nope}')),
    "src-part-the-adapter-lacks": Case(
        S,
        "sources.un_sc.parts.alt",
        "takes the parts",
        sources='sources:\n  un_sc: {url: "https://x/a.xml", parts: {alt: "https://x/b"}}\n',
    ),
    "src-title-a-list": Case(S, f"{K}.title", "text", sources=src('{url: "https://x/a", title: [a]}')),
    "src-source-not-mapping": Case(S, K, "mapping with at least `url:`", sources=src('"https://x/a.xml"')),
    "src-sources-a-list": Case(S, "sources", "mapping", sources="sources: [us_ofac_cons]\n"),
    "src-empty-file": Case(S, "sources", "mapping", sources=""),
    "src-same-source-twice": Case(
        S,
        "us_ofac_cons",
        "appears twice",
        sources='sources:\n  us_ofac_cons: {url: "https://x/a"}\n  us_ofac_cons: {url: "https://x/b"}\n',
    ),
    "src-yaml-syntax": Case(S, "line 3", "fix the syntax", sources='sources:\n  us_ofac_cons: {url: "https://x/a"\n'),
    "src-file-missing": Case(
        "/nonexistent/sources.yaml",
        "not found",
        "create it",
        env={"NOTIFIER_SOURCES_FILE": "/nonexistent/sources.yaml"},
    ),
    "src-bad-in-a-worker": Case(
        S, f"{K}.schedule", "5m", sources=src('{url: "https://x/a", schedule: soon}'), command=("worker",)
    ),
    # --- config/subscriptions.yaml ------------------------------------------------------------------------------
    "sub-subscribers-a-mapping": Case(U, "subscribers", "a list", subs="subscribers: {a: 1}\n"),
    "sub-entry-a-string": Case(U, "subscribers[#1]", "mapping", subs="subscribers: [analysts]\n"),
    "sub-name-missing": Case(U, "subscribers[#1].name", "required key missing", subs="subscribers: [{channels: []}]\n"),
    "sub-channels-empty": Case(U, "subscribers[a].channels", "at least one", subs=sub("", "[]")),
    "sub-channels-missing": Case(
        U, "subscribers[a].channels", "required key missing", subs="subscribers: [{name: a}]\n"
    ),
    "sub-channel-a-string": Case(U, "subscribers[a].channels[0]", "mapping", subs=sub("", '["json://localhost/x"]')),
    "sub-channel-url-missing": Case(U, "subscribers[a].channels[0].url", "required", subs=sub("", "[{format: text}]")),
    "sub-tags-a-string": Case(U, "subscribers[a].tags", "a list", subs=sub("tags: ops")),
    "sub-change-type-unknown": Case(
        U,
        "subscribers[a].filters.changes[0]",
        "'added', 'removed' or 'amended'",
        subs=sub("filters: {changes: [deleted]}"),
    ),
    "sub-source-unknown": Case(
        U, "subscribers[a].filters.sources", "configured: us_ofac_cons", subs=sub("filters: {sources: [nope]}")
    ),
    "sub-filter-misspelt": Case(U, "subscribers[a].filters.source", "unknown key", subs=sub("filters: {source: [x]}")),
    "sub-entity-type-unknown": Case(
        U, "subscribers[a].filters.entity_types", "person, organization", subs=sub("filters: {entity_types: [ship]}")
    ),
    "sub-keywords-a-string": Case(
        U, "subscribers[a].filters.keywords", "a list", subs=sub("filters: {keywords: bank}")
    ),
    "sub-digest-unknown": Case(
        U, "subscribers[a].digest", "'immediate', 'hourly' or 'daily'", subs=sub("digest: weekly")
    ),
    "sub-digest-at-bad": Case(U, "subscribers[a].digest_at", "HH:MM", subs=sub('digest_at: "25:00"')),
    "sub-timezone-unknown": Case(U, "subscribers[a].timezone", "IANA", subs=sub("timezone: Mars/Base")),
    "sub-threshold-over-1": Case(
        U, "subscribers[a].watchlist_threshold", "less than or equal to 1", subs=sub("watchlist_threshold: 2")
    ),
    "sub-literal-password": Case(
        U, "subscribers[a].channels[0].url", "write ${VAR}", subs=sub("", '[{url: "json://u:hunter22@localhost/x"}]')
    ),
    "sub-literal-slack-token": Case(
        U, "subscribers[a].channels[0].url", "write ${VAR}", subs=sub("", '[{url: "slack://T0AAAA/B0BBBB/cccccc"}]')
    ),
    "sub-env-unset": Case(
        U, "subscribers[a].channels[0].url", "NOPE_HOOK is not set", subs=sub("", '[{url: "${NOPE_HOOK}"}]')
    ),
    "sub-scheme-unknown": Case(U, "subscribers[a].channels[0].url", "Apprise", subs=sub("", '[{url: "nosuch://x/y"}]')),
    "sub-scheme-local-effect": Case(
        U, "subscribers[a].channels[0].url", "NOTIFIER_CHANNEL_SCHEMES", subs=sub("", '[{url: "syslog://"}]')
    ),
    "sub-host-private": Case(
        U,
        "subscribers[a].channels[0].url",
        "NOTIFIER_CHANNEL_ALLOW_PRIVATE",
        subs=sub("", '[{url: "json://10.1.2.3/hook"}]'),
        env={"NOTIFIER_CHANNEL_ALLOW_PRIVATE": "false"},
    ),
    "sub-format-unknown": Case(
        U,
        "subscribers[a].channels[0].format",
        "'slack', 'email', 'text' or 'markdown'",
        subs=sub("", '[{url: "json://localhost/x", format: html}]'),
    ),
    "sub-duplicate-name": Case(
        U,
        "subscribers[a].name",
        "must be unique",
        subs='subscribers:\n  - {name: a, channels: [{url: "json://localhost/x"}]}\n'
        '  - {name: a, channels: [{url: "json://localhost/y"}]}\n',
    ),
    "sub-key-twice": Case(U, "name", "appears twice", subs="subscribers:\n  - {name: a, name: b, channels: []}\n"),
    "sub-file-missing": Case(
        "/nonexistent/subs.yaml",
        "not found",
        "create it",
        env={"NOTIFIER_SUBSCRIPTIONS_FILE": "/nonexistent/subs.yaml"},
    ),
    # --- the environment --------------------------------------------------------------------------------------
    "env-timeout-text": Case(
        "environment", "NOTIFIER_CONNECT_TIMEOUT", "a number", env={"NOTIFIER_CONNECT_TIMEOUT": "abc"}
    ),
    "env-timeout-negative": Case(
        "environment", "NOTIFIER_CONNECT_TIMEOUT", "greater than 0", env={"NOTIFIER_CONNECT_TIMEOUT": "-1"}
    ),
    "env-log-level": Case("environment", "NOTIFIER_LOG_LEVEL", "DEBUG, INFO", env={"NOTIFIER_LOG_LEVEL": "verbose"}),
    "env-log-format": Case("environment", "NOTIFIER_LOG_FORMAT", "kv or json", env={"NOTIFIER_LOG_FORMAT": "xml"}),
    "env-attempts-zero": Case(
        "environment",
        "NOTIFIER_DELIVERY_MAX_ATTEMPTS",
        "greater than or equal to 1",
        env={"NOTIFIER_DELIVERY_MAX_ATTEMPTS": "0"},
    ),
    "env-attempts-fraction": Case(
        "environment", "NOTIFIER_DELIVERY_MAX_ATTEMPTS", "whole number", env={"NOTIFIER_DELIVERY_MAX_ATTEMPTS": "2.5"}
    ),
    "env-concurrency-zero": Case(
        "environment",
        "NOTIFIER_WORKER_CONCURRENCY",
        "greater than or equal to 1",
        env={"NOTIFIER_WORKER_CONCURRENCY": "0"},
    ),
    "env-size-cap-zero": Case(
        "environment", "NOTIFIER_MAX_DOWNLOAD_MB", "greater than 0", env={"NOTIFIER_MAX_DOWNLOAD_MB": "0"}
    ),
    "env-broker-not-a-url": Case(
        "environment",
        "NOTIFIER_BROKER_URL",
        "redis://host:6379/0",
        env={"NOTIFIER_BROKER_URL": "localhost"},
        command=("worker",),
    ),
    "env-backoff-over-max": Case(
        "environment",
        "NOTIFIER_DELIVERY_BACKOFF_MAX",
        "raise the maximum",
        env={"NOTIFIER_DELIVERY_BACKOFF": "100", "NOTIFIER_DELIVERY_BACKOFF_MAX": "10"},
    ),
    "env-deadline-over-time-limit": Case(
        "environment", "NOTIFIER_POLL_TIME_LIMIT", "shorter than", env={"NOTIFIER_FETCH_DEADLINE": "1200"}
    ),
    "env-database-url-nonsense": Case(
        "NOTIFIER_DATABASE_URL",
        "not a database URL",
        "sqlite:///data/notifier.db",
        env={"NOTIFIER_DATABASE_URL": "nonsense"},
    ),
    "env-database-unreachable": Case(
        "NOTIFIER_DATABASE_URL",
        "postgresql://127.0.0.1:9/x",
        "server is up",
        env={"NOTIFIER_DATABASE_URL": "postgresql://127.0.0.1:9/x"},
    ),
    "env-data-dir-a-file": Case(
        "NOTIFIER_DATA_DIR", "/etc/hostname", "writable folder", env={"NOTIFIER_DATA_DIR": "/etc/hostname"}
    ),
}


def _run(folder: Path, case: Case) -> tuple[int, str]:
    (folder / "config").mkdir(parents=True)
    (folder / S).write_text(case.sources)
    (folder / U).write_text(case.subs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    # The cases' channels are on localhost: they opt in to private hosts, as a test deployment would.
    env.update({"NOTIFIER_DATA_DIR": str(folder / "data"), "NOTIFIER_CHANNEL_ALLOW_PRIVATE": "true", **case.env})
    proc = subprocess.run(
        [str(NOTIFIER), *case.command], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("config-cases")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, root / name, case) for name, case in CASES.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_setting_stops_the_service_with_one_message_naming_where_what_and_the_fix(outcomes, name):
    case = CASES[name]
    code, output = outcomes[name]
    assert code == 2, output
    assert "Traceback" not in output, output
    assert output.count("error: ") == 1, f"one message, not a cascade:\n{output}"
    message = output[output.index("error: ") :]
    head = message.splitlines()[0]
    assert case.where in head, f"names the file: {head}"
    assert case.key in head, f"names the key: {head}"
    assert case.fix in head, f"says what to write instead: {head}"
    assert output.strip().startswith("error: "), f"nothing else before the message:\n{output}"


def test_a_good_configuration_starts(tmp_path):
    code, output = _run(tmp_path, Case("", "", ""))
    assert code == 0 and "ok: 1 subscriber(s)" in output, output
