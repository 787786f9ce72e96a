"""Dust: no trade may leave a wallet a token position worth less than one cent.

A position worth more than nothing but less than :data:`DUST_LIMIT` ($0.01) can cost more to
redeem than it pays and clutters every view of the wallet. So, at every entry point (the ledger's
:func:`~core.ledger.issuance.buy_in` / :func:`~core.ledger.issuance.redeem_in` call these checks):

* a **buy** that would leave the position worth less than a cent is refused with the smallest buy
  that works;
* a **partial redeem** that would leave less than a cent is refused with the two amounts that work
  (everything, or at most the quantity that leaves a cent);
* a redeem of the **whole position** is always allowed, even when it pays nothing (its value, less
  than a cent-millionth, stays in the pool and so with the other holders).

Units: quantities in token units, NAV in USD per token, values in USD. A position's value is
quantity x NAV rounded half-up to the cash quantum (1e-6 USD).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from core import formatting
from core.errors import InvalidAmount
from core.money import CASH_QUANTUM, TOKEN_QUANTUM, div, mul, round_down, round_up

#: The smallest position value a trade may leave behind (USD).
DUST_LIMIT = Decimal("0.01")
CENT = Decimal("0.01")
ZERO = Decimal(0)


def position_value(quantity: Decimal, nav: Decimal) -> Decimal:
    """USD value of ``quantity`` tokens at ``nav``, to the cash quantum."""
    return mul(quantity, nav).quantize(CASH_QUANTUM, rounding=ROUND_HALF_UP)


def is_dust(quantity: Decimal, nav: Decimal) -> bool:
    """True when a non-empty position is worth less than :data:`DUST_LIMIT`."""
    return quantity > 0 and position_value(quantity, nav) < DUST_LIMIT


def smallest_buy(held: Decimal, nav: Decimal) -> Decimal:
    """The smallest whole-cent buy that leaves a position worth at least a cent."""
    missing = DUST_LIMIT - position_value(held, nav)
    return max(round_up(missing, CENT), CENT)


def check_buy(symbol: str, held: Decimal, tokens_out: Decimal, nav: Decimal) -> None:
    """Refuse a buy of ``tokens_out`` that would leave ``held + tokens_out`` as dust."""
    if is_dust(held + tokens_out, nav):
        raise InvalidAmount(
            f"That buy would leave a {symbol} position worth less than {formatting.cash(DUST_LIMIT)}; "
            f"the smallest buy that works is {formatting.cash(smallest_buy(held, nav))}."
        )


def largest_partial_redeem(held: Decimal, nav: Decimal) -> Decimal:
    """The largest quantity that leaves at least a cent's worth behind (0 when none does)."""
    if nav <= 0:
        return ZERO
    keep = round_up(div(DUST_LIMIT, nav), TOKEN_QUANTUM)
    return max(round_down(held - keep, TOKEN_QUANTUM), ZERO)


def check_redeem(symbol: str, held: Decimal, quantity: Decimal, nav: Decimal) -> None:
    """Refuse a partial redeem that would leave dust; redeeming everything always passes."""
    left = held - quantity
    if left <= 0 or not is_dust(left, nav):
        return
    most = largest_partial_redeem(held, nav)
    partial = f", or at most {formatting.quantity(most)}" if most > 0 else ""
    raise InvalidAmount(
        f"That would leave {formatting.quantity(left)} {symbol}, worth less than "
        f"{formatting.cash(DUST_LIMIT)}. Redeem all of it ({formatting.quantity(held)}, or 'all')"
        f"{partial}."
    )


__all__ = [
    "DUST_LIMIT",
    "check_buy",
    "check_redeem",
    "is_dust",
    "largest_partial_redeem",
    "position_value",
    "smallest_buy",
]
