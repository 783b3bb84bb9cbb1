"""The contract every registered adapter must keep, run against its fixture in tests/fixtures/<name>/.

fixture.yaml there names the part files, the adapter options and how to shuffle each part:
    parts: {main: list.xml}
    options: {}
    shuffle: {main: {mode: xml}}      # modes: xml, csv, lines, json, xlsx (extra keys go to the shuffler)
    min_records: 3
    format: xml                       # the declared format this fixture is in (default: the adapter's first)
    formats:                          # a fixture for each other declared format, same keys as above
      csv: {parts: {main: list.csv}, shuffle: {main: {mode: csv, header_rows: 1}}, min_records: 3}

`check_contract(adapter_cls, fixture_dir)` runs every check on any adapter class, ours or a third party's, for
every format the fixture folder holds. Besides validity, unique keys and order, it parses each fixture in two
fresh processes with different PYTHONHASHSEED, the second with the clock moved by a day, and every record's hash
must match: text joined in set order, or a value taken from today's date, would otherwise alert falsely after a
worker restart or at midnight.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
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
ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = adapters()
DAY = 86400.0
# Declared formats without a fixture yet (a PDF cannot be written without a PDF writer among our dependencies...):
# the list may only shrink. Each entry says why.
FORMATS_WITHOUT_FIXTURE = {
    ("gb_fcdo", "csv"): "the real CSV layouts are tested in tests/test_source_gb_fcdo.py",
    ("jp_meti_eul", "html"): "the real HTML list is tested in tests/test_source_jp_meti_eul.py",
    ("jp_meti_goods", "xlsx"): "no real XLSX sample; the CSV follows METI's table",
    ("jp_meti_parties", "pdf"): "the real PDFs are tested in tests/test_pdf_text.py and test_source_jp_meti_parties.py",
    ("jp_mof", "csv"): "the real CSV is tested in tests/test_source_jp_mof.py",
    ("opensanctions", "json"): "the same FtM entities, one per line: the jsonl fixture",
}


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


def fixtures_by_format(cls: type[Adapter], spec: dict, fixture_dir: Path) -> dict[str, dict]:
    """format -> its fixture spec (paths resolved): the folder's main fixture and each entry of `formats:`."""
    out = {spec.get("format") or cls.formats[0]: spec}
    for fmt, extra in (spec.get("formats") or {}).items():
        entry = {"options": spec.get("options", {}), **extra}
        entry["paths"] = {part: fixture_dir / file for part, file in entry["parts"].items()}
        out[fmt] = entry
    return out


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


def parse_in_process(cls: type[Adapter], spec: dict, hash_seed: int, clock_shift: float = 0.0) -> dict[str, str]:
    """key -> hash of the fixture's records, parsed in a fresh interpreter with this hash seed and clock."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "CONTRACT_CLOCK_SHIFT": str(clock_shift)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), _import_root(cls), env.get("PYTHONPATH")]))
    paths = json.dumps({part: str(path) for part, path in spec["paths"].items()})
    target = f"{cls.__module__}:{cls.__qualname__}"
    run = subprocess.run(
        [sys.executable, "-m", "tests.contract.run_parse", target, paths, json.dumps(spec.get("options", {}))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"{target} failed in a fresh process:\n{run.stderr[-3000:]}"
    return json.loads(run.stdout)


def _import_root(cls: type[Adapter]) -> str:
    """The folder the adapter's module is imported from (a third party's package may live anywhere)."""
    file = Path(sys.modules[cls.__module__].__file__ or "").resolve()
    depth = cls.__module__.count(".") + (1 if file.name == "__init__.py" else 0)
    return str(file.parents[depth])


def check_hashes_survive_a_restart_and_a_new_day(cls: type[Adapter], spec: dict) -> None:
    """Two processes, as two workers or one restarted: hash seeds 1 and 2, and the second a day later."""
    first = parse_in_process(cls, spec, hash_seed=1)
    later = parse_in_process(cls, spec, hash_seed=2, clock_shift=DAY)
    assert set(first) == set(later), "the keys depend on the process or the date"
    moved = sorted(k for k in first if first[k] != later[k])
    assert not moved, (
        f"{cls.__name__}: {len(moved)} record(s) hash differently in another process a day later (keys "
        f"{', '.join(moved[:5])}): text joined in set or dict order, or a value taken from the clock, would alert "
        "every subscriber after a worker restart or at midnight; sort what you join, leave volatile values out"
    )


def check_contract(adapter_cls: type[Adapter], fixture_dir: Path) -> None:
    """Every check of the contract, on one adapter class and its fixture folder (with fixture.yaml), for every
    format the folder holds a fixture of."""
    check_declares_what_users_see(adapter_cls)
    for fmt, spec in fixtures_by_format(adapter_cls, load_fixture_dir(fixture_dir), fixture_dir).items():
        assert fmt in adapter_cls.formats, f"{adapter_cls.__name__}: fixture for {fmt!r}, not a declared format"
        check_fixture_parses_into_valid_records(adapter_cls, spec)
        check_keys_unique_and_stable(adapter_cls, spec)
        with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
            check_hashes_ignore_order(adapter_cls, spec, Path(tmp))
        check_hashes_survive_a_restart_and_a_new_day(adapter_cls, spec)


# --- run against every registered adapter ------------------------------------------------------------------------


@pytest.fixture(params=sorted(ADAPTERS))
def adapter_name(request) -> str:
    return request.param


def test_adapter_declares_what_users_see(adapter_name):
    check_declares_what_users_see(ADAPTERS[adapter_name])


def each_format(adapter_name: str) -> dict[str, dict]:
    return fixtures_by_format(ADAPTERS[adapter_name], load_fixture(adapter_name), FIXTURES / adapter_name)


def test_fixture_parses_into_valid_records_of_the_declared_kind(adapter_name):
    for spec in each_format(adapter_name).values():
        check_fixture_parses_into_valid_records(ADAPTERS[adapter_name], spec)


def test_keys_are_unique_and_stable_across_runs(adapter_name):
    for spec in each_format(adapter_name).values():
        check_keys_unique_and_stable(ADAPTERS[adapter_name], spec)


def test_hashes_do_not_depend_on_record_or_element_order(adapter_name, tmp_path):
    for fmt, spec in each_format(adapter_name).items():
        (tmp_path / fmt).mkdir()
        check_hashes_ignore_order(ADAPTERS[adapter_name], spec, tmp_path / fmt)


def test_hashes_do_not_depend_on_the_process_or_the_day(adapter_name):
    for spec in each_format(adapter_name).values():
        check_hashes_survive_a_restart_and_a_new_day(ADAPTERS[adapter_name], spec)


def test_every_declared_format_has_a_fixture(adapter_name):
    cls = ADAPTERS[adapter_name]
    covered = set(each_format(adapter_name))
    assert covered <= set(cls.formats), f"fixtures for undeclared formats: {sorted(covered - set(cls.formats))}"
    missing = {f for f in cls.formats if f not in covered}
    excused = {f for (name, f) in FORMATS_WITHOUT_FIXTURE if name == adapter_name}
    assert missing == excused, (
        f"{adapter_name}: formats without a fixture {sorted(missing)} (excused: {sorted(excused)}); add one under "
        f"`formats:` in tests/fixtures/{adapter_name}/fixture.yaml"
    )
