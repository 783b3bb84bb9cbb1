"""The contract kit catches the two mistakes a contributor slipped past it (issue 19), and passes a good adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.toy.adapters import DatedToyList, SetOrderToyList, ToyList
from tests.test_adapter_contract import check_contract

TOY = Path(__file__).parent / "contract" / "toy"


def test_an_adapter_that_keeps_the_contract_passes_the_kit():
    check_contract(ToyList, TOY)


def test_text_joined_in_set_order_is_caught_by_another_hash_seed():
    """Stable within one process (the old kit's two parses agreed), different under another PYTHONHASHSEED."""
    with pytest.raises(AssertionError, match="hash differently in another process a day later"):
        check_contract(SetOrderToyList, TOY)


def test_a_date_only_volatile_value_is_caught_by_the_moved_clock():
    """The same all day (the old kit parsed twice within a second), different a day later."""
    with pytest.raises(AssertionError, match="hash differently in another process a day later"):
        check_contract(DatedToyList, TOY)
