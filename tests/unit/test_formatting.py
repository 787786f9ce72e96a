"""The display module: hand-written expectations, and properties over arbitrary values."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import formatting as fmt

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1234.5"), "$1,234.50"),
        (D("5105.468041813034985726"), "$5,105.47"),
        (D("0.005"), "$0.01"),
        (D("0.004999"), "<$0.01"),
        (D("0.000001"), "<$0.01"),
        (D("-3"), "-$3.00"),
        (D("-0.001"), "-<$0.01"),
        (D("0"), "$0.00"),
        (D("1E+12"), "$1,000,000,000,000.00"),
        (1000000000, "$1,000,000,000.00"),
        (12.5, "$12.50"),
    ],
)
def test_cash(value: fmt.Number, expected: str) -> None:
    assert fmt.cash(value) == expected


def test_cash_without_dust_marker_rounds() -> None:
    assert fmt.cash(D("0.000001"), dust=False) == "$0.00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("5000.000000000000000000"), "5,000"),
        (D("1.23456789"), "1.234567"),
        (D("1.2000"), "1.2"),
        (D("0.0000009"), "<0.000001"),
        (D("0"), "0"),
        (D("23841.861234999"), "23,841.861234"),
    ],
)
def test_quantity(value: Decimal, expected: str) -> None:
    assert fmt.quantity(value) == expected


def test_quantity_places() -> None:
    assert fmt.quantity(D("9999999.99"), 0) == "9,999,999"
    assert fmt.quantity(D("0.4"), 0) == "<1"
    with pytest.raises(ValueError):
        fmt.quantity(D(1), 7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D("1.00891234"), "$1.0089"), (D("0.98955"), "$0.9896"), (D("1"), "$1.0000")],
)
def test_nav(value: Decimal, expected: str) -> None:
    assert fmt.nav(value) == expected


def test_percentages() -> None:
    assert fmt.percent(0.0123) == "1.23%"
    assert fmt.percent(D("0.15"), 0) == "15%"
    assert fmt.change(D("0.0123")) == "+1.23%"
    assert fmt.change(-0.05) == "-5.00%"
    assert fmt.change(0) == "0.00%"
    assert fmt.change(D("0.00001")) == "0.00%"  # rounds to zero: no sign
    assert fmt.change(D("-0.00001")) == "0.00%"  # and no "-0.00%"


def test_drawdown_never_reads_as_a_gain() -> None:
    assert fmt.drawdown(0) == "0.00%"
    assert fmt.drawdown(0.032) == "-3.20%"
    assert fmt.drawdown(D("-0.032")) == "-3.20%"


def test_ratio_and_count() -> None:
    assert fmt.ratio(1.53456) == "1.53"
    assert fmt.ratio(-0.004) == "0.00"
    assert fmt.count(12345) == "12,345"


def test_dates() -> None:
    assert fmt.date_text(date(2025, 1, 31)) == "2025-01-31"
    moment = datetime(2025, 1, 31, 15, 5, tzinfo=timezone(timedelta(hours=1)))
    assert fmt.datetime_text(moment) == "2025-01-31 14:05 UTC"
    assert fmt.date_text(datetime(2025, 1, 31, 23, 59, tzinfo=UTC)) == "2025-01-31"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Short name", 40, "Short name"),
        ("USDC lending on Compound with weekly rotation", 20, "USDC lending on…"),
        ("Supercalifragilisticexpialidocious", 10, "Supercali…"),
        ("a  b\n c", 10, "a b c"),
        ("abc", 1, "…"),
    ],
)
def test_shorten(text: str, width: int, expected: str) -> None:
    result = fmt.shorten(text, width)
    assert result == expected
    assert len(result) <= width


def test_refuses_what_is_not_a_finite_number() -> None:
    with pytest.raises(ValueError):
        fmt.cash(float("nan"))
    with pytest.raises(ValueError):
        fmt.percent(D("Infinity"))
    with pytest.raises(TypeError):
        fmt.cash(True)


NO_EXPONENT_OR_LONG_DECIMALS = re.compile(r"[eE][+-]?\d|\.\d{7,}")
finite_decimals = st.decimals(
    allow_nan=False, allow_infinity=False, min_value=D("-1e15"), max_value=D("1e15")
)


@given(finite_decimals)
def test_display_never_shows_an_exponent_or_more_than_six_decimals(value: Decimal) -> None:
    for text in (
        fmt.cash(value),
        fmt.quantity(value),
        fmt.nav(value),
        fmt.percent(value),
        fmt.change(value),
        fmt.drawdown(value),
        fmt.ratio(value),
    ):
        assert not NO_EXPONENT_OR_LONG_DECIMALS.search(text), text


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=D(0), max_value=D("1e12"), places=18))
def test_quantity_never_shows_more_than_is_held(value: Decimal) -> None:
    text = fmt.quantity(value)
    if not text.startswith("<"):
        assert D(text.replace(",", "")) <= value


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_shorten_fits(text: str, width: int) -> None:
    assert len(fmt.shorten(text, width)) <= width
