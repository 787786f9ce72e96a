"""The exchange's arithmetic and its matching rule, as pure functions (no database).

Units: price in USD per token (6 decimals), quantities in token units (18 decimals), cash in USD
(6 decimals); fee and band rates are fractions (0.05 = 5 %).

* A fill of ``q`` units at price ``p`` moves ``cash = floor(q x p)`` to the seller and costs the
  buyer ``cash + fee`` with ``fee = floor(cash x fee_rate)``. Rounding down on every fill means the
  sum of a bid's fills never exceeds what it reserved (a sum of floors is at most the floor of the
  sum), so a partially filled bid can always pay for its next fill.
* A bid reserves ``cost_bound(q, p) = ceil(q x p) + ceil(ceil(q x p) x fee_rate)``; an ask reserves
  its units.
* Price-time priority: the best price first (lowest ask, highest bid), then the oldest order. The
  trade price is the resting (maker) order's price. An incoming order that would meet a resting
  order of its own organisation is refused (no self-trade), so the book is never crossed.
* A remainder worth less than one cash quantum at the price it would trade at is *dust*: it
  neither rests nor trades (its reservation is released).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.errors import ValidationError
from core.formatting import nav
from core.models.exchange import OrderSide
from core.money import CASH_QUANTUM, div, mul, round_down, round_up

ZERO = Decimal(0)


class SelfTrade(ValidationError):
    code = "self_trade"


class OutsidePriceBand(ValidationError):
    code = "price_band"


def fill_cash(quantity: Decimal, price: Decimal) -> Decimal:
    return round_down(mul(quantity, price), CASH_QUANTUM)


def fill_fee(cash: Decimal, fee_rate: Decimal) -> Decimal:
    return round_down(mul(cash, fee_rate), CASH_QUANTUM)


def cost_bound(quantity: Decimal, price: Decimal, fee_rate: Decimal) -> Decimal:
    """The most a bid of ``quantity`` at ``price`` can ever pay, fee included (what it reserves)."""
    notional = round_up(mul(quantity, price), CASH_QUANTUM)
    return notional + round_up(mul(notional, fee_rate), CASH_QUANTUM)


def is_dust(quantity: Decimal, price: Decimal) -> bool:
    return fill_cash(quantity, price) <= 0


def band_distance(price: Decimal, nav: Decimal) -> Decimal:
    """|price - NAV| / NAV as a fraction."""
    return div(abs(price - nav), nav)


def crosses(side: OrderSide, limit: Decimal, resting_price: Decimal) -> bool:
    """Would an incoming order on ``side`` at ``limit`` trade with a resting order at ``resting_price``?"""
    return resting_price <= limit if side is OrderSide.BID else resting_price >= limit


@dataclass(frozen=True, slots=True)
class Resting:
    """A resting order as the matcher sees it (already in priority order)."""

    order_id: int
    wallet_id: int
    organisation_id: int
    price: Decimal
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class PlannedFill:
    maker: Resting
    quantity: Decimal
    cash: Decimal
    maker_remaining: Decimal  # after this fill
    maker_done: bool  # filled, or the rest is dust


@dataclass(frozen=True, slots=True)
class MatchPlan:
    fills: list[PlannedFill]
    remaining: Decimal  # of the incoming order, after the fills
    rests: bool  # the remaining quantity rests on the book (else it is filled or dust)


def plan_match(
    side: OrderSide, quantity: Decimal, limit: Decimal, organisation_id: int, book: Sequence[Resting]
) -> MatchPlan:
    """Match an incoming order against ``book`` (the other side, best first, crossing orders only
    need be given). Raises :class:`SelfTrade` when it would meet its own organisation's order."""
    fills: list[PlannedFill] = []
    remaining = quantity
    for maker in book:
        if not crosses(side, limit, maker.price):
            break
        if maker.organisation_id == organisation_id:
            raise SelfTrade(
                f"this order would trade with your organisation's own order #{maker.order_id} at "
                f"{nav(maker.price)} per token; cancel that one first (/cancel {maker.order_id}) or change "
                "the price"
            )
        q = min(remaining, maker.remaining)
        cash = fill_cash(q, maker.price)
        if cash <= 0:  # what is left is dust at the maker's price
            return MatchPlan(fills, remaining, rests=False)
        left = maker.remaining - q
        fills.append(PlannedFill(maker, q, cash, left, left == 0 or is_dust(left, maker.price)))
        remaining -= q
        if remaining == 0:
            return MatchPlan(fills, ZERO, rests=False)
    return MatchPlan(fills, remaining, rests=not is_dust(remaining, limit))
