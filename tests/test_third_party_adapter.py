"""A source adapter shipped as its own package is discovered through its entry point, keeps the contract and
is polled like ours; a package whose adapter cannot be imported is reported, and the others keep working.

The package is docs/template_source.py, built and installed for real with pip into a private folder that is put on
sys.path for these tests only (and handed to the CLI through PYTHONPATH).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.ingest import registry
from notifier.ingest.pipeline import poll
from tests.conftest import REPO
from tests.support.http import LocalServer
from tests.test_adapter_contract import check_contract

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "example-sanctions-source"
version = "0.1.0"
dependencies = ["sanctions-notifier"]

[project.entry-points."sanctions_notifier.sources"]
example_list = "example_sanctions_source:ExampleSanctionsList"
example_broken = "example_broken_source:ExampleBroken"

[tool.setuptools]
py-modules = ["example_sanctions_source", "example_broken_source"]
"""
MODULES = ("example_sanctions_source", "example_broken_source")


def entry(key: str, name: str, aliases: tuple[str, ...] = (), program: str = "RUSSIA") -> str:
    alias_xml = "".join(f"<alias>{a}</alias>" for a in aliases)
    return (
        f'<entry id="{key}"><name>{name}</name><type>entity</type>{alias_xml}'
        f"<program>{program}</program><listed>2024-02-23</listed><country>RU</country></entry>"
    )


def document(generated: str, *entries: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<sanctionsList generated="{generated}">{"".join(entries)}</sanctionsList>\n'.encode()
    )


V1 = document(
    "2026-03-01T06:00:00Z",
    entry("EX-101", "ACME TRADING LLC", ("ACME LLC", "АКМЕ")),
    entry("EX-102", "NORTHWIND SHIPPING", ("NORTHWIND",)),
    entry("EX-103", "GLOBEX AERO JSC"),
)
# Next day: EX-101 gains an alias (and its aliases come in another order), EX-102 is delisted, EX-104 is listed.
V2 = document(
    "2026-03-02T06:00:00Z",
    entry("EX-104", "INITECH MICRO LTD"),
    entry("EX-103", "GLOBEX AERO JSC"),
    entry("EX-101", "ACME TRADING LLC", ("АКМЕ", "ACME LLC", "ACME TRADING")),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """docs/template_source.py as an installed third-party package; uninstalled (unseen) afterwards."""
    root = tmp_path_factory.mktemp("third-party")
    pkg, site = root / "pkg", root / "site"
    pkg.mkdir()
    (pkg / "pyproject.toml").write_text(PYPROJECT)
    (pkg / "example_sanctions_source.py").write_text((REPO / "docs" / "template_source.py").read_text())
    (pkg / "example_broken_source.py").write_text(
        'raise ImportError("example_broken_source needs libexample, which is not installed")\n'
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--target", str(site), str(pkg)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, f"pip install of the package failed (needs setuptools and wheel):\n{built.stderr}"
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    registry.refresh()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in MODULES:
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        registry.refresh()
        assert "example_list" not in registry.adapters() and "example_broken" not in registry.broken_adapters()


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory) -> Path:
    """What the package's author ships as the adapter's fixture."""
    folder = tmp_path_factory.mktemp("example-fixture")
    (folder / "list.xml").write_bytes(V1)
    (folder / "fixture.yaml").write_text(
        "parts: {main: list.xml}\noptions: {}\nshuffle: {main: {mode: xml}}\nmin_records: 3\n"
    )
    return folder


def test_the_installed_adapter_is_discovered_and_the_broken_one_reported_with_its_error(site):
    found = registry.adapters()
    assert found["example_list"].__module__ == "example_sanctions_source"
    assert Path(sys.modules["example_sanctions_source"].__file__).parent == site
    assert {"us_ofac_sdn", "un_sc", "eu_fsf"} <= set(found), "ours still load"
    assert "needs libexample" in registry.broken_adapters()["example_broken"]
    with pytest.raises(registry.UnknownAdapter, match="failed to load: .*needs libexample"):
        registry.get_adapter("example_broken")


def test_the_contract_kit_passes_on_the_third_party_adapter(site, fixture_dir):
    check_contract(registry.get_adapter("example_list"), fixture_dir)


def test_the_third_party_source_is_polled_through_the_pipeline_and_its_changes_come_out(site, make_ctx):
    with LocalServer() as server:
        url = server.serve("/example/list.xml", V1)
        ctx = make_ctx({"example": {"adapter": "example_list", "url": url}})
        first = poll(ctx, "example")
        server.serve("/example/list.xml", V2)
        second = poll(ctx, "example")
    assert (first.status, first.baseline, first.record_count) == ("accepted", True, 3)
    assert second.status == "accepted" and second.record_count == 3
    assert sorted((c.change, c.key) for c in second.changes) == [
        ("added", "EX-104"),
        ("amended", "EX-101"),
        ("removed", "EX-102"),
    ]
    [amended] = [c for c in second.changes if c.change == "amended"]
    assert amended.fields == [{"field": "aliases", "added": ["ACME TRADING"], "removed": []}]


def test_the_cli_lists_and_polls_the_third_party_source_and_warns_about_the_broken_one(site, fixture_dir, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.yaml").write_text(
        "sources:\n  example:\n    adapter: example_list\n    title: Example list\n"
        "    url: https://example.org/sanctions/list.xml\n    schedule: 1h\n"
    )
    (tmp_path / "config" / "subscriptions.yaml").write_text("subscribers: []\n")
    env = {**os.environ, "PYTHONPATH": str(site), "NOTIFIER_LOG_LEVEL": "WARNING"}
    notifier = str(Path(sys.executable).parent / "notifier")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([notifier, *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)

    listing = run("sources", "--json")
    assert listing.returncode == 0, listing.stderr
    assert '"source": "example"' in listing.stdout and '"title": "Example Ministry sanctions list"' in listing.stdout
    assert "adapter example_broken could not be loaded" in listing.stderr and "needs libexample" in listing.stderr
    polled = run("poll", "example", "--url", str(fixture_dir / "list.xml"))
    assert polled.returncode == 0, polled.stderr
    assert "example: baseline: 3 records stored" in polled.stdout
