"""The dust rules of ``core.ledger.dust`` one function at a time, with every expected figure worked
out by hand from the rules in its docstring: a position is worth quantity x NAV rounded half-up to
the cash quantum ($0.000001); a non-empty position worth less than $0.01 is dust; a buy or a partial
redeem may not leave dust, a redeem of everything may."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest

from core.errors import InvalidAmount
from core.ledger.dust import (
    DUST_LIMIT,
    check_buy,
    check_redeem,
    is_dust,
    largest_partial_redeem,
    position_value,
    smallest_buy,
)

SYMBOL = "STRAT-DUST-USDC-001"


def test_the_limit_is_one_cent() -> None:
    assert D("0.01") == DUST_LIMIT


@pytest.mark.parametrize(
    ("quantity", "nav", "value"),
    [
        ("3", "0.5", "1.5"),
        ("2.5", "4", "10"),
        # Half a cash quantum rounds up (half-even would give 0.000000 and 0.000002).
        ("0.0000005", "1", "0.000001"),
        ("0.0000025", "1", "0.000003"),
        # Just below half a quantum rounds down.
        ("0.00000049", "1", "0"),
        ("0", "7", "0"),
    ],
)
def test_a_positions_value_rounds_half_up_to_the_cash_quantum(quantity: str, nav: str, value: str) -> None:
    got = position_value(D(quantity), D(nav))
    assert got == D(value)
    assert got.as_tuple().exponent == -6  # always to the cash quantum


@pytest.mark.parametrize(
    ("quantity", "nav", "dust"),
    [
        ("0", "1", False),  # an empty position is not dust, though it is worth nothing
        ("-1", "1", False),
        ("0.009999", "1", True),
        ("0.01", "1", False),  # exactly a cent is enough
        ("0.5", "0.01", True),  # half a token at a cent: half a cent
        ("1", "0.01", False),
        ("0.0099995", "1", False),  # worth $0.0099995, which rounds half-up to a cent
        ("0.000001", "0", True),  # a worthless position is dust
    ],
)
def test_dust_is_a_non_empty_position_worth_under_a_cent(quantity: str, nav: str, dust: bool) -> None:
    assert is_dust(D(quantity), D(nav)) is dust


@pytest.mark.parametrize(
    ("held", "nav", "smallest"),
    [
        ("0", "1", "0.01"),
        ("0.004", "1", "0.01"),  # $0.006 missing: a whole cent
        ("1", "1", "0.01"),  # already worth more than a cent: never less than a cent
        ("1000", "2", "0.01"),
    ],
)
def test_the_smallest_buy_is_a_whole_cent_and_at_least_one(held: str, nav: str, smallest: str) -> None:
    got = smallest_buy(D(held), D(nav))
    assert got == D(smallest) and got.as_tuple().exponent == -2


def test_a_buy_that_leaves_dust_is_refused_with_the_smallest_that_works() -> None:
    expected = (
        f"That buy would leave a {SYMBOL} position worth less than $0.01; "
        "the smallest buy that works is $0.01."
    )
    with pytest.raises(InvalidAmount, match=f"^{re.escape(expected)}$"):
        check_buy(SYMBOL, D(0), D("0.005"), D(1))
    with pytest.raises(InvalidAmount, match=re.escape(expected)):
        check_buy(SYMBOL, D("0.004"), D("0.001"), D(1))  # $0.004 held + $0.001 bought


@pytest.mark.parametrize(
    ("held", "tokens_out", "nav"),
    [
        ("0.004", "0.006", "1"),  # together exactly a cent
        ("0.01", "0.005", "1"),  # $0.015 (held - bought would be dust)
        ("0", "2", "0.005"),  # two tokens at half a cent
    ],
)
def test_a_buy_that_leaves_a_cent_or_more_passes(held: str, tokens_out: str, nav: str) -> None:
    check_buy(SYMBOL, D(held), D(tokens_out), D(nav))


@pytest.mark.parametrize(
    ("held", "nav", "most"),
    [
        ("5", "1", "4.99"),
        # Keep 0.01 / 3 tokens rounded UP to 1e-18 (0.003333333333333334), so what is kept is worth at
        # least a cent: 5 - 0.003333333333333334.
        ("5", "3", "4.996666666666666666"),
        ("100", "0.5", "99.98"),  # keep 0.02 tokens
        ("0.005", "1", "0"),  # not even a cent's worth held: no partial redeem works
        ("0.01", "1", "0"),  # exactly a cent held: keeping a cent leaves nothing to redeem
        ("5", "0", "0"),  # a worthless token: nothing can be kept worth a cent
        ("5", "-1", "0"),
    ],
)
def test_the_largest_partial_redeem_keeps_a_cents_worth(held: str, nav: str, most: str) -> None:
    assert largest_partial_redeem(D(held), D(nav)) == D(most)


@pytest.mark.parametrize(
    ("held", "quantity", "nav"),
    [
        ("5", "5", "1"),  # everything
        ("0.005", "0.005", "1"),  # everything, although it is dust already
        ("5", "6", "1"),  # more than held: not a dust question (the ledger refuses it elsewhere)
        ("5", "4.99", "1"),  # leaves exactly a cent
        ("5", "1", "1"),
    ],
)
def test_redeems_that_leave_no_dust_pass(held: str, quantity: str, nav: str) -> None:
    check_redeem(SYMBOL, D(held), D(quantity), D(nav))


def test_a_partial_redeem_that_leaves_dust_names_both_amounts_that_work() -> None:
    expected = (
        f"That would leave 0.005 {SYMBOL}, worth less than $0.01. "
        "Redeem all of it (5, or 'all'), or at most 4.99."
    )
    with pytest.raises(InvalidAmount, match=f"^{re.escape(expected)}$"):
        check_redeem(SYMBOL, D(5), D("4.995"), D(1))


def test_when_no_partial_redeem_works_only_everything_is_offered() -> None:
    expected = (
        f"That would leave 0.004 {SYMBOL}, worth less than $0.01. "
        "Redeem all of it (0.008, or 'all')."
    )
    with pytest.raises(InvalidAmount, match=f"^{re.escape(expected)}$"):
        check_redeem(SYMBOL, D("0.008"), D("0.004"), D(1))


def test_a_partial_redeem_under_one_token_is_still_offered() -> None:
    expected = (
        f"That would leave 0.005 {SYMBOL}, worth less than $0.01. "
        "Redeem all of it (0.5, or 'all'), or at most 0.49."
    )
    with pytest.raises(InvalidAmount, match=f"^{re.escape(expected)}$"):
        check_redeem(SYMBOL, D("0.5"), D("0.495"), D(1))
