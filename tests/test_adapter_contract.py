"""The contract every registered adapter must keep, run against its fixture in tests/fixtures/<name>/.

fixture.yaml there names the part files, the adapter options and how to shuffle each part:
    parts: {main: list.xml}
    options: {}
    shuffle: {main: {mode: xml}}      # modes: xml, csv, lines, json, xlsx (extra keys go to the shuffler)
    min_records: 3
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import yaml

from notifier.canonical import canonical, content_hash
from notifier.records import RECORD_KINDS
from notifier.registry import adapters
from tests.contract.shufflers import shuffle_file

FIXTURES = Path(__file__).parent / "fixtures"
ADAPTERS = adapters()


def load_fixture(name: str) -> dict:
    spec_file = FIXTURES / name / "fixture.yaml"
    if not spec_file.exists():
        pytest.fail(f"adapter {name!r} has no fixture: add {spec_file.relative_to(FIXTURES.parent.parent)}")
    spec = yaml.safe_load(spec_file.read_text()) or {}
    spec["paths"] = {part: FIXTURES / name / file for part, file in spec["parts"].items()}
    return spec


def parse_all(name: str, paths: dict[str, Path], options: dict) -> list:
    return list(ADAPTERS[name](options).parse(paths))


def hashes(records: list) -> dict[str, str]:
    return {r.key: content_hash(canonical(r.payload())) for r in records}


@pytest.fixture(params=sorted(ADAPTERS))
def adapter_name(request) -> str:
    return request.param


def test_adapter_declares_what_users_see(adapter_name):
    cls = ADAPTERS[adapter_name]
    assert cls.title and cls.publisher and cls.jurisdiction, f"{adapter_name}: title, publisher, jurisdiction"
    assert cls.kind in RECORD_KINDS
    assert "main" in cls.parts


def test_fixture_parses_into_valid_records_of_the_declared_kind(adapter_name):
    spec = load_fixture(adapter_name)
    records = parse_all(adapter_name, spec["paths"], spec.get("options", {}))
    assert len(records) >= spec.get("min_records", 1)
    for record in records:
        record.validate()
        assert record.kind == ADAPTERS[adapter_name].kind


def test_keys_are_unique_and_stable_across_runs(adapter_name):
    spec = load_fixture(adapter_name)
    first = parse_all(adapter_name, spec["paths"], spec.get("options", {}))
    second = parse_all(adapter_name, spec["paths"], spec.get("options", {}))
    keys = [r.key for r in first]
    assert len(keys) == len(set(keys)), "duplicate keys"
    assert hashes(first) == hashes(second)


def test_hashes_do_not_depend_on_record_or_element_order(adapter_name, tmp_path):
    spec = load_fixture(adapter_name)
    shuffles = spec.get("shuffle") or {}
    if not shuffles:
        pytest.fail(f"{adapter_name}: fixture.yaml must say how to shuffle at least one part")
    original = hashes(parse_all(adapter_name, spec["paths"], spec.get("options", {})))
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
        assert hashes(parse_all(adapter_name, shuffled, spec.get("options", {}))) == original, f"seed {seed}"
