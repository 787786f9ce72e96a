"""Amounts people type: the accepted forms, the refused ones (before any arithmetic), the limit in
words, and arbitrary strings that never raise anything but the typed validation error."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.commands.parsing import cash_arg, quantity_arg
from core.errors import InvalidAmount, ValidationError
from core.money import parse_cash, read_typed_amount

DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1000", "1000"),
        ("1,000.50", "1000.50"),
        ("1000.5", "1000.5"),
        ("$1,000", "1000"),
        ("$1000", "1000"),
        ("0.01", "0.01"),
        ("12,345,678.9", "12345678.9"),
        (" 250 ", "250"),
        ("1,000,000,000", "1000000000"),
    ],
)
def test_accepted_forms(typed: str, expected: str) -> None:
    assert cash_arg(typed) == Decimal(expected)


@pytest.mark.parametrize(
    "typed",
    [
        "1,5",  # a decimal comma: would have become 15
        "1,00,000",  # Indian grouping: would have become 100000
        "1,0000",
        ",100",
        "100,",
        "1e999999999",  # was an unhandled decimal.InvalidOperation
        "1E3",
        "-5",
        "+5",
        "5.",
        ".5",
        "1.2.3",
        "$",
        "$$5",
        "5$",
        "NaN",
        "Infinity",
        "ten",
        "١٠٠",  # Arabic-Indic digits
        "１００",  # full-width digits
        "1 000",
        "1_000",
        "0x10",
        "",
    ],
)
def test_refused_forms_say_what_is_expected(typed: str) -> None:
    with pytest.raises(InvalidAmount) as info:
        cash_arg(typed)
    assert "write it like 1000, 1,000.50 or $1,000" in info.value.message


def test_limits_and_precision_in_words() -> None:
    with pytest.raises(InvalidAmount, match=r"at most \$1,000,000,000\.00$"):
        cash_arg("1,000,000,001")
    with pytest.raises(InvalidAmount, match="greater than zero"):
        cash_arg("0")
    with pytest.raises(InvalidAmount, match="more than 6 decimal places"):
        cash_arg("1.0000001")
    # The ledger API: a comma is a thousands separator or an error, never silently dropped.
    with pytest.raises(InvalidAmount):
        parse_cash("1,5")
    assert parse_cash("1,500") == Decimal(1500)


def test_quantities_take_all_and_refuse_dollars() -> None:
    assert quantity_arg("all") is None and quantity_arg("ALL") is None
    assert quantity_arg("2.5") == Decimal("2.5")
    assert quantity_arg("1,000") == Decimal(1000)
    with pytest.raises(InvalidAmount):
        quantity_arg("$5")
    with pytest.raises(InvalidAmount):
        quantity_arg("1e5")


@settings(max_examples=2000 if DEEP else 200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_only_ever_gives_the_typed_error(text: str) -> None:
    for parse in (cash_arg, quantity_arg, read_typed_amount):
        try:
            value = parse(text)
        except ValidationError as error:
            assert error.message and "\n" not in error.message
        else:
            assert value is None or (isinstance(value, Decimal) and value.is_finite() and value >= 0)


@settings(max_examples=1000 if DEEP else 100, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999"), places=2))
def test_every_well_formed_amount_round_trips(amount: Decimal) -> None:
    grouped = f"{amount:,.2f}"
    assert cash_arg(grouped) == amount
    assert cash_arg("$" + grouped) == amount
    assert cash_arg(f"{amount:.2f}") == amount
