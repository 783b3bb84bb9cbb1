"""Which publication a snapshot is: the adapter's reading of the file, else a date in the file's name."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from notifier.adapter import Adapter
from notifier.publication import Publication, date_in_name

log = logging.getLogger("notifier.ingest.publication")


def read_publication(
    adapter_cls: type[Adapter], options: Mapping[str, Any] | None, paths: Mapping[str, Path], main_url: str | None
) -> Publication:
    """Never fails a poll: a file whose header cannot be read is still parsed (and judged) by the adapter."""
    try:
        found = adapter_cls(options).publication(paths)
    except Exception as exc:  # noqa: BLE001 - a date is a nicety; the parse stage judges the file
        log.warning("publication date unreadable: %s", exc, extra={"adapter": adapter_cls.__name__})
        found = Publication()
    return found.or_else(Publication(date=date_in_name(main_url)))
