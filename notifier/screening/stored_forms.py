"""Name forms kept between runs, so that screening a file against every list does not read every listed name
again (Japanese names through pykakasi are most of that cost).

A file in the data folder holds the forms `names.forms` computed, by name. It is read only when it was
written by the same matcher: its version is a digest of the modules that compute forms and of the readers
they use, so a changed reading or table makes the file unused and rewritten, never a stale form served.
The file holds strings, tuples and booleans only (marshal): loading it runs no code.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from notifier.screening import names, translit

log = logging.getLogger("notifier.screening.stored_forms")

FILE_NAME = "name_forms.marshal"


@lru_cache(maxsize=1)
def matcher_version() -> str:
    """Digest of what decides a name's forms: the source of `names` and `translit`, the readers' versions,
    Python's Unicode tables."""
    digest = hashlib.sha256()
    for module in (names, translit):
        digest.update(Path(module.__file__ or "").read_bytes())
    for package in ("pykakasi", "anyascii"):
        try:
            digest.update(f"{package} {metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} ?".encode())
    digest.update(f"{unicodedata.unidata_version} {sys.version_info[:2]} {marshal.version}".encode())
    return digest.hexdigest()


def load(path: Path) -> int:
    """Forms in the file, if the same matcher wrote it, offered to `names.forms`; how many (0: none usable)."""
    try:
        version, rows = marshal.loads(path.read_bytes())
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, EOFError, TypeError) as exc:
        log.warning("%s: unreadable (%s); name forms computed anew", path, exc)
        return 0
    if version != matcher_version() or not isinstance(rows, dict):
        return 0
    names.offer_forms(rows)
    return len(rows)


def save(path: Path, listed: Iterable[str]) -> int:
    """Write the forms of these names (the lists' names a run read: never a counterparty's) if any was not
    read from the file; how many were written (0 also when the folder refuses the file: it is only a cache).
    Written aside and renamed: a reader never sees half a file."""
    wanted = set(listed)
    if all(map(names.is_offered, wanted)):
        return 0
    rows = {name: names.forms_row(name) for name in wanted}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_bytes(marshal.dumps((matcher_version(), rows)))
        tmp.replace(path)
    except OSError as exc:  # a cache: a read-only or full data folder must not cost the run its hits
        log.warning("%s: not written (%s); name forms will be computed again next run", path, exc)
        tmp.unlink(missing_ok=True)
        return 0
    return len(rows)
