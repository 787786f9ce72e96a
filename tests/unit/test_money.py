"""Money hygiene: Decimal only, floats refused or trapped, user amounts validated with clear messages.

Units: cash in USD (6 decimals), token quantities (18 decimals); see core/money.py.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from core.errors import InvalidAmount
from core.models.base import Money
from core.money import (
    CASH_QUANTUM,
    MAX_CASH_AMOUNT,
    MAX_TOKEN_AMOUNT,
    TOKEN_QUANTUM,
    canonical_text,
    div,
    mul,
    parse_cash,
    parse_tokens,
    round_down,
    round_up,
    to_decimal,
)

# --- the FloatOperation trap ---------------------------------------------------------------------


def test_float_operation_is_trapped_in_tests() -> None:
    assert decimal.getcontext().traps[decimal.FloatOperation]
    # Without the trap these two silently succeed: an inexact Decimal and a mixed comparison.
    with pytest.raises(decimal.FloatOperation):
        Decimal(0.1)  # noqa: RUF032 - the float is the point
    with pytest.raises(decimal.FloatOperation):
        _ = Decimal("1.10") < 0.5


def test_float_in_ledger_arithmetic_raises() -> None:
    # FloatOperation is a TypeError; Decimal arithmetic with a float never yields a number.
    assert issubclass(decimal.FloatOperation, TypeError)
    with pytest.raises(TypeError):
        mul(Decimal("100"), 0.01)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        div(Decimal("100"), 3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _ = Decimal("1.10") + 0.1  # type: ignore[operator]
    # A balance compared with a float (the classic silent bug) is trapped inside ledger code too.
    balance = round_down(Decimal("10.5"), CASH_QUANTUM)
    with pytest.raises(decimal.FloatOperation):
        _ = balance >= 10.5


def test_ledger_helpers_are_exact() -> None:
    assert mul(Decimal("0.1"), Decimal("3")) == Decimal("0.3")
    assert round_down(div(Decimal(1), Decimal(3)), CASH_QUANTUM) == Decimal("0.333333")
    assert round_up(div(Decimal(1), Decimal(3)), CASH_QUANTUM) == Decimal("0.333334")
    assert round_down(Decimal("-0.0000005"), CASH_QUANTUM) == Decimal("-0.000001")  # towards -inf


# --- parsing user amounts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", Decimal("100")),
        ("12.50", Decimal("12.5")),
        ("$1,234.567891", Decimal("1234.567891")),
        (" 7 ", Decimal(7)),
        (5, Decimal(5)),
        (Decimal("0.01"), Decimal("0.010000")),  # one cent: the smallest cash amount
        (str(MAX_CASH_AMOUNT), MAX_CASH_AMOUNT),
    ],
)
def test_parse_cash_accepts(value: object, expected: Decimal) -> None:
    parsed = parse_cash(value)
    assert parsed == expected
    assert isinstance(parsed, Decimal)
    assert parsed.as_tuple().exponent == -6  # quantised to the cash quantum


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than zero"),
        (0, "greater than zero"),
        ("-5", "must be positive"),
        (Decimal("-0.000001"), "must be positive"),
        ("NaN", "NaN"),
        (Decimal("sNaN"), "NaN"),
        ("Infinity", "finite"),
        ("-inf", "finite"),
        (1.5, "not float"),
        (True, "not bool"),
        ("0.0000001", "more than 6 decimal places"),
        ("0.000001", "at least $0.01 (one cent)"),
        (Decimal("0.009999"), "at least $0.01 (one cent)"),
        ("1.1234567", "more than 6 decimal places"),
        ("1000000000.000001", "exceeds the limit"),
        ("1e10", "exceeds the limit"),
        ("ten dollars", "not a number"),
        ("", "not a number"),
        ([1], "unsupported type"),
        (None, "unsupported type"),
    ],
)
def test_parse_cash_refuses(value: object, message: str) -> None:
    with pytest.raises(InvalidAmount) as info:
        parse_cash(value)
    assert message in str(info.value)
    assert info.value.message == str(info.value)  # a person-readable message, not a repr


def test_parse_tokens_keeps_18_places() -> None:
    q = parse_tokens("0.000000000000000001")
    assert q == TOKEN_QUANTUM
    assert parse_tokens("123456789.123456789123456789") == Decimal("123456789.123456789123456789")
    assert parse_tokens(str(MAX_TOKEN_AMOUNT)) == MAX_TOKEN_AMOUNT


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than zero"),
        ("-1", "must be positive"),
        ("nan", "NaN"),
        ("inf", "finite"),
        (0.5, "not float"),
        ("0.0000000000000000001", "more than 18 decimal places"),
        ("1000000000000.000000000000000001", "exceeds the limit"),
    ],
)
def test_parse_tokens_refuses(value: object, message: str) -> None:
    with pytest.raises(InvalidAmount, match=message):
        parse_tokens(value)


def test_error_names_the_field() -> None:
    with pytest.raises(InvalidAmount, match=r"^total supply must be greater than zero$"):
        parse_tokens("0", field="total supply")


def test_to_decimal_never_goes_through_float() -> None:
    # 0.1 as text is exactly one tenth; through float it would be 0.1000000000000000055511151231257827
    assert to_decimal("0.1") == Decimal(1) / Decimal(10)
    with pytest.raises(InvalidAmount):
        to_decimal(0.1)


# --- the Money column type -----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgres"])
@pytest.mark.parametrize("bad", [0.1, 1.0, float("nan"), True])
def test_money_refuses_float_at_bind_time(dialect: object, bad: object) -> None:
    with pytest.raises(TypeError, match="refusing to store"):
        Money().process_bind_param(bad, dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgres"])
@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_money_refuses_non_finite(dialect: object, bad: Decimal) -> None:
    with pytest.raises(TypeError, match="non-finite"):
        Money().process_bind_param(bad, dialect)  # type: ignore[arg-type]


def test_money_refuses_strings() -> None:
    with pytest.raises(TypeError, match="must be Decimal"):
        Money().process_bind_param("1.5", sqlite.dialect())


def test_money_binds_text_on_sqlite() -> None:
    bound = Money().process_bind_param(Decimal("1234567890.123456789012345678"), sqlite.dialect())
    assert bound == "1234567890.123456789012345678"
    assert Money().process_bind_param(Decimal("1E+3"), sqlite.dialect()) == "1000"  # never exponent form
    assert Money().process_bind_param(Decimal("0E-18"), sqlite.dialect()) == "0"
    assert Money().process_bind_param(7, sqlite.dialect()) == "7"


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999.999999999999999999",  # 38 digits: NUMERIC(38, 18)'s maximum
        "12345678901.123456789012345678",  # 29 digits: one more than the default context keeps
        "999999999999.999999999999999999",  # the largest token quantity a request may move, minus 1e-18
        "-0.000000000000000001",
    ],
)
def test_money_sqlite_text_never_rounds(value: str) -> None:
    # Decimal.normalize() rounds to the context's 28 digits; storage must not.
    bound = Money().process_bind_param(Decimal(value), sqlite.dialect())
    assert bound == value
    assert Money().process_result_value(bound, sqlite.dialect()) == Decimal(value)


def test_canonical_text() -> None:
    assert canonical_text(Decimal("1.500000")) == "1.5"
    assert canonical_text(Decimal("1E+3")) == "1000"
    assert canonical_text(Decimal("-0E-18")) == "0"
    assert canonical_text(Decimal("1000000000.000000000000000001")) == "1000000000.000000000000000001"


def _canonical_by_normalize(value: Decimal) -> str:
    """The reference definition: normalise in a context as wide as the value, then plain text."""
    if value == 0:
        return "0"
    exact = decimal.Context(prec=max(len(value.as_tuple().digits), 1))
    return format(value.normalize(exact), "f")


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e24"),
                   max_value=Decimal("1e24"), places=18)
       | st.decimals(allow_nan=False, allow_infinity=False))
def test_canonical_text_matches_the_normalising_definition(value: Decimal) -> None:
    assert canonical_text(value) == _canonical_by_normalize(value)


def test_canonical_text_by_hand() -> None:
    cases = {"100.000": "100", "-0.500": "-0.5", "1E+3": "1000", "0.000": "0", "-0": "0",
             "12345678901.123456789012345678": "12345678901.123456789012345678", "1.10E-7": "0.00000011"}
    assert {k: canonical_text(Decimal(k)) for k in cases} == cases
