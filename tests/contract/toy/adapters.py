"""Toy adapters for the contract kit's own test: one that keeps the contract, and the two mistakes a contributor
slipped past the old kit (text joined in set order; a date-only volatile value)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from pathlib import Path

from notifier.adapter import Adapter
from notifier.records import Designation


class ToyList(Adapter):
    title = "Toy list"
    publisher = "Contract kit"
    jurisdiction = "INT"
    formats = ("text",)

    def rows(self, parts: Mapping[str, Path]) -> Iterator[tuple[str, str, list[str]]]:
        for line in self.main(parts).read_text(encoding="utf-8").splitlines():
            key, name, aliases = line.split("|")
            yield key, name, aliases.split(";")

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        for key, name, aliases in self.rows(parts):
            yield Designation(
                key=key, name=name, aliases=aliases, remarks=f"also known as {', '.join(sorted(aliases))}"
            )


class SetOrderToyList(ToyList):
    """The aliases joined in set order: the same in one process, another order under another hash seed."""

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        for key, name, aliases in self.rows(parts):
            yield Designation(key=key, name=name, aliases=aliases, remarks=f"also known as {', '.join(set(aliases))}")


class DatedToyList(ToyList):
    """A date-only volatile value: the same all day, so the old kit never saw it; the list "changes" daily."""

    def parse(self, parts: Mapping[str, Path]) -> Iterator[Designation]:
        for key, name, aliases in self.rows(parts):
            yield Designation(key=key, name=name, aliases=aliases, extra={"as_of": datetime.date.today().isoformat()})
