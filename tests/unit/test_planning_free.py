"""The rebalance plan uses free balances only: cash reserved by open exchange bids is not spent and
units reserved by open asks are not sold (expectations computed by hand in the comments)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.wallets.planning import Position, plan_trades, trade_cost

D = Decimal
A, B = "STRAT-A-X-001", "STRAT-B-X-001"
RATE = D("0.001")


def test_reserved_cash_is_not_spent() -> None:
    # 10,000 cash of which 6,000 is held by bids: budget 4,000; need 10,000 + 10 cost -> scale
    # 4,000 / 10,010; 10,000 x that = 3,996.003996003.. -> 3,996.003996, cost 3.996004 (rounded
    # up): exactly the 4,000 free.
    trades, notes = plan_trades(D("10000"), [], {A: D(1)}, {A: D(1)}, min_trade=D(25), cost_rate=RATE,
                                cash_reserved=D("6000"))
    assert [(t.side, t.symbol, t.cash) for t in trades] == [("buy", A, D("3996.003996"))]
    assert trade_cost(D("3996.003996"), RATE) == D("3.996004")
    assert any("$6,000.00 is reserved by open exchange orders" in n for n in notes)


def test_reserved_units_are_not_sold() -> None:
    # 4,000 A at NAV 1, 3,000 reserved by an ask; target all B. Wallet value 4,000 (weights count
    # the reserved units). Only the free 1,000 are sold: proceeds 1,000 - 1 cost = 999; B's gap
    # 4,000 + 4 cost -> scale 999 / 4,004 -> 998.001998001.. -> 998.001998 + 0.998002 = 999.
    pos = Position(A, D("4000"), D(1), reserved=D("3000"))
    trades, notes = plan_trades(D(0), [pos], {B: D(1)}, {A: D(1), B: D(1)}, min_trade=D(25),
                                cost_rate=RATE)
    assert [(t.side, t.symbol, t.quantity, t.cash) for t in trades] == [
        ("redeem", A, D("1000"), D("1000")), ("buy", B, D("998.001998"), D("998.001998"))]
    assert any(n.startswith(f"{A}: 3,000 units are reserved") for n in notes)


def test_reserved_dust_keeps_back_enough_free_units() -> None:
    # 100 A, 0.01 reserved (a cent at NAV 1, under the two-cent margin): selling all 99.99 free units
    # would leave a cent, so the plan keeps 0.02 units back and sells 99.98.
    pos = Position(A, D("100"), D(1), reserved=D("0.01"))
    trades, _ = plan_trades(D(0), [pos], {}, {A: D(1)}, min_trade=D(0), cost_rate=D(0))
    assert [(t.side, t.quantity) for t in trades] == [("redeem", D("99.98"))]


def test_a_fully_reserved_position_is_left_alone() -> None:
    pos = Position(A, D("50"), D(2), reserved=D("50"))
    trades, notes = plan_trades(D("100"), [pos], {B: D("0.5")}, {A: D(2), B: D(1)}, min_trade=D(0),
                                cost_rate=D(0))
    # Value 200: B wants 100, the free cash is 100 -> bought; A's 50 units are all reserved.
    assert [(t.side, t.symbol, t.cash) for t in trades] == [("buy", B, D("100"))]
    assert any("50 units are reserved" in n for n in notes)


def test_without_reservations_the_plan_is_unchanged() -> None:
    pos = Position(A, D("100"), D(1))
    assert plan_trades(D(0), [pos], {B: D(1)}, {A: D(1), B: D(1)}, min_trade=D(0), cost_rate=D(0)) == \
        plan_trades(D(0), [Position(A, D("100"), D(1), reserved=D(0))], {B: D(1)},
                    {A: D(1), B: D(1)}, min_trade=D(0), cost_rate=D(0))


_amounts = st.decimals(min_value=D(0), max_value=D(100000), places=2, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(cash=_amounts, cash_share=st.integers(0, 100), qty_a=_amounts, res_share=st.integers(0, 100),
       nav=st.decimals(min_value=D("0.01"), max_value=D(100), places=4), w_a=st.integers(0, 100),
       w_b=st.integers(0, 100))
def test_plans_never_touch_reserved_balances(cash: Decimal, cash_share: int, qty_a: Decimal,
                                             res_share: int, nav: Decimal, w_a: int,
                                             w_b: int) -> None:
    """Sells stay within free units; buys plus every cost stay within free cash plus proceeds."""
    reserved_cash = (cash * cash_share / 100).quantize(D("0.01"))
    reserved_a = (qty_a * res_share / 100).quantize(D("0.01"))
    target = {s: D(w) / 200 for s, w in ((A, w_a), (B, w_b)) if w}
    pos = [Position(A, qty_a, nav, reserved=reserved_a)] if qty_a > 0 else []
    trades, _ = plan_trades(cash, pos, target, {A: nav, B: D(1)}, min_trade=D(1), cost_rate=RATE,
                            cash_reserved=reserved_cash)
    sold = sum((t.quantity for t in trades if t.side == "redeem"), D(0))
    assert sold <= qty_a - reserved_a
    proceeds = sum((t.cash - trade_cost(t.cash, RATE) for t in trades if t.side == "redeem"), D(0))
    spent = sum((t.cash + trade_cost(t.cash, RATE) for t in trades if t.side == "buy"), D(0))
    assert spent <= cash - reserved_cash + proceeds
