"""Parse a fixture in a fresh process and print its records' hashes as JSON: the contract kit runs this in two
processes, with different PYTHONHASHSEED and, in one of them, the clock moved (CONTRACT_CLOCK_SHIFT seconds).

    python -m tests.contract.run_parse MODULE:CLASS '{"main": "path"}' '{"option": 1}'

The clock is moved before the adapter is imported, in every way an adapter reads it: time.time/time_ns,
time.localtime/gmtime/strftime without a time, datetime.datetime.now/utcnow/today and datetime.date.today.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import sys
import time as _time
from pathlib import Path


def shift_clock(seconds: float) -> None:
    real_time, real_time_ns = _time.time, _time.time_ns
    real_localtime, real_gmtime, real_strftime = _time.localtime, _time.gmtime, _time.strftime

    def time() -> float:
        return real_time() + seconds

    def time_ns() -> int:
        return real_time_ns() + int(seconds * 1e9)

    def localtime(secs: float | None = None) -> _time.struct_time:
        return real_localtime(time() if secs is None else secs)

    def gmtime(secs: float | None = None) -> _time.struct_time:
        return real_gmtime(time() if secs is None else secs)

    def strftime(fmt: str, t: _time.struct_time | None = None) -> str:
        return real_strftime(fmt, localtime() if t is None else t)

    class Datetime(_dt.datetime):
        @classmethod
        def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
            return cls.fromtimestamp(time(), tz)

        @classmethod
        def utcnow(cls) -> _dt.datetime:  # type: ignore[override]
            return cls.fromtimestamp(time(), _dt.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls) -> _dt.datetime:  # type: ignore[override]
            return cls.fromtimestamp(time())

    class Date(_dt.date):
        @classmethod
        def today(cls) -> _dt.date:  # type: ignore[override]
            return cls.fromtimestamp(time())

    _time.time, _time.time_ns = time, time_ns
    _time.localtime, _time.gmtime, _time.strftime = localtime, gmtime, strftime
    _dt.datetime, _dt.date = Datetime, Date  # type: ignore[misc]


def main() -> None:
    shift = float(os.environ.get("CONTRACT_CLOCK_SHIFT") or 0)
    if shift:
        shift_clock(shift)
    target, paths, options = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    from notifier.ingest.canonical import canonical, content_hash

    records = cls(options).parse({part: Path(p) for part, p in paths.items()})
    print(json.dumps({r.key: content_hash(canonical(r.payload())) for r in records}, sort_keys=True))


if __name__ == "__main__":
    main()
