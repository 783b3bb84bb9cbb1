"""The contract every registered adapter must keep, run against its fixture in tests/fixtures/<name>/.

fixture.yaml there names the part files, the adapter options and how to shuffle each part:
    parts: {main: list.xml}
    options: {}
    shuffle: {main: {mode: xml}}      # modes: xml, csv, lines, json, xlsx (extra keys go to the shuffler)
    min_records: 3

`check_contract(adapter_cls, fixture_dir)` runs every check on any adapter class, ours or a third party's.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from notifier.adapter import Adapter
from notifier.ingest.canonical import canonical, content_hash
from notifier.ingest.registry import adapters
from notifier.records import RECORD_KINDS
from tests.contract.shufflers import shuffle_file

FIXTURES = Path(__file__).parent / "fixtures"
ADAPTERS = adapters()


def load_fixture(name: str) -> dict:
    spec_file = FIXTURES / name / "fixture.yaml"
    if not spec_file.exists():
        pytest.fail(f"adapter {name!r} has no fixture: add {spec_file.relative_to(FIXTURES.parent.parent)}")
    return load_fixture_dir(FIXTURES / name)


def load_fixture_dir(fixture_dir: Path) -> dict:
    """fixture.yaml of a fixture folder, with the part files' paths resolved."""
    spec = yaml.safe_load((fixture_dir / "fixture.yaml").read_text()) or {}
    spec["paths"] = {part: fixture_dir / file for part, file in spec["parts"].items()}
    return spec


def parse_all(cls: type[Adapter], paths: dict[str, Path], options: dict) -> list:
    return list(cls(options).parse(paths))


def hashes(records: list) -> dict[str, str]:
    return {r.key: content_hash(canonical(r.payload())) for r in records}


# --- the checks, for any adapter class and fixture ---------------------------------------------------------------


def check_declares_what_users_see(cls: type[Adapter]) -> None:
    assert cls.title and cls.publisher and cls.jurisdiction, f"{cls.__name__}: title, publisher, jurisdiction"
    assert cls.kind in RECORD_KINDS
    assert "main" in cls.parts


def check_fixture_parses_into_valid_records(cls: type[Adapter], spec: dict) -> None:
    records = parse_all(cls, spec["paths"], spec.get("options", {}))
    assert len(records) >= spec.get("min_records", 1)
    for record in records:
        record.validate()
        assert record.kind == cls.kind


def check_keys_unique_and_stable(cls: type[Adapter], spec: dict) -> None:
    first = parse_all(cls, spec["paths"], spec.get("options", {}))
    second = parse_all(cls, spec["paths"], spec.get("options", {}))
    keys = [r.key for r in first]
    assert len(keys) == len(set(keys)), "duplicate keys"
    assert hashes(first) == hashes(second)


def check_hashes_ignore_order(cls: type[Adapter], spec: dict, tmp_path: Path) -> None:
    shuffles = spec.get("shuffle") or {}
    if not shuffles:
        pytest.fail(f"{cls.__name__}: fixture.yaml must say how to shuffle at least one part")
    original = hashes(parse_all(cls, spec["paths"], spec.get("options", {})))
    for seed in (1, 2, 3):
        shuffled = {}
        for part, src in spec["paths"].items():
            dst = tmp_path / f"{seed}-{src.name}"
            how = dict(shuffles.get(part) or {})
            if how:
                shuffle_file(src, dst, how.pop("mode"), random.Random(seed), **how)
            else:
                shutil.copy(src, dst)
            shuffled[part] = dst
        assert hashes(parse_all(cls, shuffled, spec.get("options", {}))) == original, f"seed {seed}"


def check_contract(adapter_cls: type[Adapter], fixture_dir: Path) -> None:
    """Every check of the contract, on one adapter class and its fixture folder (with fixture.yaml)."""
    spec = load_fixture_dir(fixture_dir)
    check_declares_what_users_see(adapter_cls)
    check_fixture_parses_into_valid_records(adapter_cls, spec)
    check_keys_unique_and_stable(adapter_cls, spec)
    with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
        check_hashes_ignore_order(adapter_cls, spec, Path(tmp))


# --- run against every registered adapter ------------------------------------------------------------------------


@pytest.fixture(params=sorted(ADAPTERS))
def adapter_name(request) -> str:
    return request.param


def test_adapter_declares_what_users_see(adapter_name):
    check_declares_what_users_see(ADAPTERS[adapter_name])


def test_fixture_parses_into_valid_records_of_the_declared_kind(adapter_name):
    check_fixture_parses_into_valid_records(ADAPTERS[adapter_name], load_fixture(adapter_name))


def test_keys_are_unique_and_stable_across_runs(adapter_name):
    check_keys_unique_and_stable(ADAPTERS[adapter_name], load_fixture(adapter_name))


def test_hashes_do_not_depend_on_record_or_element_order(adapter_name, tmp_path):
    check_hashes_ignore_order(ADAPTERS[adapter_name], load_fixture(adapter_name), tmp_path)
