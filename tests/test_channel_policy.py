"""Channels allowed by policy: remote services by default; local-effect schemes and private hosts only on opt-in."""

from __future__ import annotations

import pytest

from notifier.alerts.subscriptions import ChannelPolicy, load_subscribers, private_host
from notifier.errors import ConfigError
from notifier.settings import DEFAULT_CHANNEL_SCHEMES

STRICT = ChannelPolicy.from_settings(DEFAULT_CHANNEL_SCHEMES, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "slack://T000/B000/XXXX",
        "mailtos://user:pw@smtp.example.com?to=a@example.com",
        "jsons://hooks.example.com/notify",
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "msteams://team/token_a/token_b/token_c",
    ],
)
def test_remote_services_are_allowed_by_default(url):
    assert STRICT.problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("syslog://", "local effect"),
        ("dbus://", "local effect"),
        ("windows://", "local effect"),
        ("macosx://", "local effect"),
        ("json://127.0.0.1:8080/hook", "loopback/private"),
        ("json://localhost/hook", "loopback/private"),
        ("jsons://10.0.0.5/hook", "loopback/private"),
        ("json://192.168.1.10/hook", "loopback/private"),
        ("json://[::1]:9000/x", "loopback/private"),
        ("json://169.254.169.254/latest/meta-data", "loopback/private"),
        ("json://intranet/hook", "loopback/private"),
        ("mailto://user:pw@example.com?smtp=127.0.0.1&to=a@example.com", "loopback/private"),
    ],
)
def test_local_effect_schemes_and_private_targets_are_refused_by_default(url, why):
    problem = STRICT.problem(url)
    assert problem is not None and why in problem


def test_opt_ins_allow_private_hosts_and_listed_schemes():
    relaxed = ChannelPolicy.from_settings(DEFAULT_CHANNEL_SCHEMES + ",syslog", allow_private=True)
    assert relaxed.problem("json://127.0.0.1:8080/hook") is None
    assert relaxed.problem("syslog://") is None
    assert relaxed.problem("dbus://") is not None, "only the schemes listed are allowed"


def test_public_names_and_addresses_are_not_private():
    assert not private_host("hooks.slack.com")
    assert not private_host("8.8.8.8")
    assert private_host("printer.local") and private_host("127.0.0.2") and private_host("fd00::1")


def test_subscriptions_with_a_refused_channel_fail_naming_the_key_and_the_setting(tmp_path):
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        "subscribers:\n"
        "  - {name: desk, channels: [{url: 'syslog://'}]}\n"
        "  - {name: hook, channels: [{url: 'json://127.0.0.1:9/x'}]}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_subscribers(path, policy=STRICT)
    lines = str(exc.value).splitlines()
    assert any("subscribers[desk].channels[0].url" in line and "NOTIFIER_CHANNEL_SCHEMES" in line for line in lines)
    assert any(
        "subscribers[hook].channels[0].url" in line and "NOTIFIER_CHANNEL_ALLOW_PRIVATE" in line for line in lines
    )
    allowed = ChannelPolicy.from_settings(DEFAULT_CHANNEL_SCHEMES + ",syslog", allow_private=True)
    assert [s.name for s in load_subscribers(path, policy=allowed)] == ["desk", "hook"]
