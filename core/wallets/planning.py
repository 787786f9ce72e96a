"""Pure rebalance arithmetic: current weights, drift, and the trade plan (no database).

Conventions: values in USD (``Decimal``), NAV in USD per token, quantities in token units.
Wallet value = cash + sum(quantity x NAV). Drift = half the L1 distance between current and target
weight vectors *including cash* (0 = on target, 1 = completely different).

The plan converts float-free ``Decimal`` target weights into trades explicitly:
sells are token quantities (rounded down to ``TOKEN_QUANTUM``; a position whose target is zero is
sold in full), buys are cash amounts (rounded down to ``CASH_QUANTUM``) and are scaled down so that
buys plus their trading costs never exceed the cash the wallet will have — cash never goes negative.
Trades below ``min_trade`` are skipped; sells are executed before buys.

Free balances: cash reserved by open exchange bids (``cash_reserved``) and units reserved by open
asks (``Position.reserved``) belong to those orders, not to the rebalancer. Weights and drift are of
the wallet's whole value (reserved included: it is still the wallet's money), but a plan only sells
free units and only spends free cash; a sale cut short by reserved units says so in the notes. So a
wallet with open orders rebalances what it can instead of failing on the ledger's free-balance checks.

Dust: a plan never leaves a position worth less than :data:`DUST_MARGIN` (twice the ledger's one-cent
dust limit, so fee settlement between plan and trade cannot push it under): a trim that would is
turned into a full sale, and a buy that would is skipped. A full sale of a dust position is always
accepted by the ledger, so a rebalance never fails on dust.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core import formatting
from core.ledger.dust import DUST_LIMIT
from core.money import CASH_QUANTUM, TOKEN_QUANTUM, div, mul, round_down, round_up

ZERO = Decimal(0)
ONE = Decimal(1)
#: Positions a plan leaves behind are worth at least this much (or nothing).
DUST_MARGIN = 2 * DUST_LIMIT


@dataclass(frozen=True)
class Position:
    symbol: str
    quantity: Decimal  # all units held, reserved ones included
    nav: Decimal
    reserved: Decimal = ZERO  # of ``quantity``, units locked by open exchange asks

    @property
    def value(self) -> Decimal:
        return mul(self.quantity, self.nav)

    @property
    def free(self) -> Decimal:
        """Units the wallet may redeem now (not reserved by open asks)."""
        return self.quantity - self.reserved


@dataclass(frozen=True)
class PlannedTrade:
    symbol: str
    side: str  # "buy" (cash amount) or "redeem" (token quantity)
    cash: Decimal  # buy: cash paid; redeem: estimated cash received at current NAV
    quantity: Decimal  # redeem: tokens burned; buy: estimated tokens received
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"symbol": self.symbol, "side": self.side, "cash": format(self.cash, "f"),
                "quantity": format(self.quantity, "f"), "reason": self.reason}


def wallet_value(cash: Decimal, positions: list[Position]) -> Decimal:
    return cash + sum((p.value for p in positions), ZERO)


def current_weights(cash: Decimal, positions: list[Position]) -> dict[str, Decimal]:
    """Symbol -> weight of wallet value (cash excluded); empty for an empty wallet."""
    total = wallet_value(cash, positions)
    if total <= 0:
        return {}
    return {p.symbol: div(p.value, total) for p in positions if p.quantity > 0}


def drift(cash: Decimal, positions: list[Position], target: dict[str, Decimal],
          target_cash: Decimal) -> Decimal:
    """Half the L1 distance between current and target weights, cash included."""
    total = wallet_value(cash, positions)
    if total <= 0:
        return ZERO
    current = current_weights(cash, positions)
    symbols = set(current) | set(target)
    distance = sum((abs(current.get(s, ZERO) - target.get(s, ZERO)) for s in symbols), ZERO)
    distance += abs(div(cash, total) - target_cash)
    return distance / 2


def plan_trades(
    cash: Decimal,
    positions: list[Position],
    target: dict[str, Decimal],
    navs: dict[str, Decimal],
    *,
    min_trade: Decimal,
    cost_rate: Decimal,
    sell_caps: dict[str, Decimal] | None = None,
    cash_reserved: Decimal = ZERO,
) -> tuple[list[PlannedTrade], list[str]]:
    """Trades moving the wallet to ``target``; returns (trades, notes about skipped/trimmed trades).

    ``cash`` is the wallet's whole cash, of which ``cash_reserved`` is held by open bids (only the
    rest is spent); ``navs`` holds the NAV of every target symbol; ``sell_caps`` optionally limits
    the cash that may be redeemed per symbol today (the redemption limit).
    """
    notes: list[str] = []
    total = wallet_value(cash, positions)
    if total <= 0:
        return [], ["the wallet is empty"]
    held = {p.symbol: p for p in positions if p.quantity > 0}
    sells, proceeds = _plan_sells(total, held, target, notes, min_trade=min_trade,
                                  cost_rate=cost_rate, sell_caps=sell_caps)

    wanted: list[tuple[str, Decimal]] = []
    for symbol in sorted(target):
        have = held[symbol].value if symbol in held else ZERO
        gap = round_down(mul(target[symbol], total) - have, CASH_QUANTUM)
        if gap <= 0:
            continue
        if gap < min_trade:
            notes.append(f"{symbol}: a purchase of {formatting.cash(gap)} is below the "
                         f"{formatting.cash(min_trade)} minimum, skipped")
            continue
        wanted.append((symbol, gap))
    budget = cash - cash_reserved + proceeds  # free cash only: open bids keep theirs
    need = sum((g + _cost(g, cost_rate) for _, g in wanted), ZERO)
    scale = ONE if need <= budget or need == 0 else div(budget, need)
    if scale < ONE:
        held_back = (f"; {formatting.cash(cash_reserved)} is reserved by open exchange orders"
                     if cash_reserved > 0 else "")
        notes.append(f"purchases scaled to {formatting.percent(scale)} so cash and trading costs stay "
                     f"covered{held_back}")
    buys: list[PlannedTrade] = []
    spent = ZERO
    for symbol, gap in wanted:
        amount = round_down(mul(gap, scale), CASH_QUANTUM)
        # Never let the rounding of costs push spending above the budget.
        while amount > 0 and spent + amount + _cost(amount, cost_rate) > budget:
            amount = round_down(amount - CASH_QUANTUM - _cost(amount, cost_rate), CASH_QUANTUM)
        have = held[symbol].value if symbol in held else ZERO
        if amount < max(min_trade, CASH_QUANTUM) or have + amount < DUST_MARGIN:
            continue
        spent += amount + _cost(amount, cost_rate)
        quantity = round_down(div(amount, navs[symbol]), TOKEN_QUANTUM) if navs[symbol] > 0 else ZERO
        buys.append(PlannedTrade(symbol, "buy", amount, quantity, f"raise towards target "
                                                                  f"{formatting.percent(target[symbol], 1)}"))
    return sells + buys, notes


def _plan_sells(total: Decimal, held: dict[str, Position], target: dict[str, Decimal],
                notes: list[str], *, min_trade: Decimal, cost_rate: Decimal,
                sell_caps: dict[str, Decimal] | None) -> tuple[list[PlannedTrade], Decimal]:
    """The sells of a plan (free units only) and their estimated proceeds after trading costs."""
    sells: list[PlannedTrade] = []
    proceeds = ZERO
    for symbol in sorted(held):
        pos = held[symbol]
        want = mul(target.get(symbol, ZERO), total)
        excess = pos.value - want
        if excess <= 0:
            continue
        if symbol not in target:
            wanted_qty = pos.quantity  # leaving the token entirely: sell everything, no dust
            reason = "no longer in the target allocation"
        else:
            wanted_qty = min(pos.quantity, round_down(div(excess, pos.nav), TOKEN_QUANTUM))
            reason = f"trim towards target {formatting.percent(target[symbol], 1)}"
        quantity = _fit_sale(pos, wanted_qty)
        if quantity < wanted_qty and pos.reserved > 0:
            notes.append(f"{symbol}: {formatting.quantity(pos.reserved)} units are reserved by open "
                         "exchange orders and are not sold")
        est = round_down(mul(quantity, pos.nav), CASH_QUANTUM)
        cap = (sell_caps or {}).get(symbol)
        if cap is not None and est > cap:
            if cap < min_trade:
                notes.append(f"{symbol}: sale deferred, today's redemption limit is used up")
                continue
            quantity = round_down(div(cap, pos.nav), TOKEN_QUANTUM)
            if _leaves_dust(pos, quantity):  # keep enough back that no dust is left
                quantity = _keep_back(pos)
            est = round_down(mul(quantity, pos.nav), CASH_QUANTUM)
            reason += " (limited by today's redemption limit)"
        if est < min_trade and symbol in target:
            notes.append(f"{symbol}: a sale of {formatting.cash(est)} is below the "
                         f"{formatting.cash(min_trade)} minimum, skipped")
            continue
        if quantity <= 0:
            continue
        sells.append(PlannedTrade(symbol, "redeem", est, quantity, reason))
        proceeds += est - _cost(est, cost_rate)
    return sells, proceeds


def _leaves_dust(pos: Position, quantity: Decimal) -> bool:
    left = pos.quantity - quantity
    return left > 0 and mul(left, pos.nav) < DUST_MARGIN


def _keep_back(pos: Position) -> Decimal:
    """The most of ``pos``'s free units that can be sold while leaving :data:`DUST_MARGIN` behind."""
    most = round_down(pos.quantity - div(DUST_MARGIN, pos.nav), TOKEN_QUANTUM)
    return max(min(most, pos.free), ZERO)


def _fit_sale(pos: Position, quantity: Decimal) -> Decimal:
    """At most the free units; a sale that would leave dust sells the whole position instead, or,
    when units are reserved (they cannot be sold), keeps enough back that no dust is left."""
    quantity = min(quantity, pos.free)
    if not _leaves_dust(pos, quantity):
        return quantity
    return pos.quantity if pos.reserved <= 0 else _keep_back(pos)


def _cost(notional: Decimal, rate: Decimal) -> Decimal:
    """Trading cost of one trade: charged to the wallet, so it rounds up (in the platform's favour)."""
    return round_up(mul(notional, rate), CASH_QUANTUM)


trade_cost = _cost
