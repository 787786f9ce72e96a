"""Wallets with open exchange orders rebalance with their free balances instead of failing.

An open bid reserves cash and an open ask reserves units in ledger accounts; the rebalancer (one
wallet's ``execute_in`` and the cycle's bulk path) must leave both where they are, trade the rest,
and the orders must still fill afterwards. Expectations are worked out by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core import exchange, ledger, wallets
from core.clock import SimulatedClock
from core.db import Database
from core.models import AIWallet, AllocationSnapshot, StrategyToken, TokenHolding
from core.models.exchange import ExchangeOrder
from core.wallets.config import WalletConfig
from core.wallets.execution import execute_in
from tests.support.ledger_world import holding_of, key, make_org, make_token, make_wallet, violations
from tests.wallet_fixtures import SYMBOLS, ai_wallet, platform

D = Decimal
A, B = "STRAT-MOMENTUM-BTC-001", "STRAT-LENDING-USDC-001"


def _snapshot(wallet_id: int, clock: SimulatedClock, weights: dict[str, str]) -> AllocationSnapshot:
    return AllocationSnapshot(wallet_id=wallet_id, created_at=clock.now(), mode="full_ai",
                              trigger="manual", inputs={}, weights=weights, cash_weight=D(0),
                              expected_return=None, expected_volatility=None, expected_sharpe=None,
                              equal_weight={}, reasons={}, drift_before=None, executed=False)


def _reserved(db: Database, wallet_id: int) -> tuple[Decimal, Decimal]:
    with db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, wallet_id)
        assert wallet is not None
        return wallet.cash, wallet.cash_reserved


def test_execute_trades_free_balances_and_leaves_orders_whole(any_db: Database,
                                                             clock: SimulatedClock) -> None:
    make_token(any_db, A)
    make_token(any_db, B)
    wallet = make_wallet(any_db, make_org(any_db), cash="10000", tier="basic")  # AI plan: rebalances
    # Another organisation's 20,000 in A keeps today's redemption limit (10 % of AUM) above 1,000.
    other = make_wallet(any_db, make_org(any_db, "St Mark"), cash="30000")
    ledger.buy(any_db.uow(), other, A, "20000", idempotency_key=key())
    ledger.buy(any_db.uow(), wallet, A, "4000", idempotency_key=key())  # 4,000 A at NAV 1.00
    ask = exchange.place_order(any_db.uow(), wallet, "ask", A, "3000", "1.04", idempotency_key=key())
    bid = exchange.place_order(any_db.uow(), wallet, "bid", B, "2000", "0.96", idempotency_key=key())
    # Reserved: 3,000 A units and 2,000 x 0.96 = 1,920.00 cash (no exchange fee).
    assert _reserved(any_db, wallet) == (D("6000"), D("1920"))
    with any_db.uow() as uow:
        snapshot = _snapshot(wallet, clock, {B: "1"})
        uow.session.add(snapshot)
        uow.session.flush()
        run = execute_in(uow.session, clock.now(), wallet, snapshot, config=WalletConfig(),
                         trigger="manual")
        trades = [t for t in run.trades if "side" in t]
        notes = [t["note"] for t in run.trades if "note" in t]
        costs = run.trading_costs
        uow.commit()
    # Value 10,000 (reserved included). Sell the 1,000 free A: 1,000.00, cost 1.00. Budget =
    # 6,000 - 1,920 free + 999 = 5,079; B wants 10,000 + 10 cost -> 10,000 x 5,079 / 10,010 =
    # 5,073.926073.. -> 5,073.926073, cost 5.073927: 5,079.000000 exactly.
    assert [(t["side"], t["symbol"], t["cash"]) for t in trades] == [
        ("redeem", A, "1000.000000"), ("buy", B, "5073.926073")]
    assert costs == D("6.073927")
    assert any("3,000 units are reserved" in n for n in notes)
    # 6,000 + 1,000 - 5,073.926073 - 6.073927 = 1,920: all that is left is the bid's reservation.
    assert _reserved(any_db, wallet) == (D("1920"), D("1920"))
    assert holding_of(any_db, wallet, A)[0] == D("3000")
    assert holding_of(any_db, wallet, B)[0] == D("5073.926073")
    assert violations(any_db) == []
    # Both orders still work: another organisation takes the ask and fills the bid.
    ledger.buy(any_db.uow(), other, B, "2000", idempotency_key=key())
    exchange.place_order(any_db.uow(), other, "bid", A, "3000", "1.04", idempotency_key=key())
    exchange.place_order(any_db.uow(), other, "ask", B, "2000", "0.96", idempotency_key=key())
    with any_db.uow(read_only=True) as uow:
        statuses = {o.id: o.status.value for o in uow.session.scalars(select(ExchangeOrder).where(
            ExchangeOrder.id.in_([ask.order_id, bid.order_id])))}
    assert statuses == {ask.order_id: "filled", bid.order_id: "filled"}
    assert holding_of(any_db, wallet, A)[0] == D(0)
    assert holding_of(any_db, wallet, B)[0] == D("7073.926073")
    assert violations(any_db) == []


def test_the_cycle_rebalances_a_wallet_with_open_orders(any_db: Database,
                                                       clock: SimulatedClock) -> None:
    world = platform(any_db, clock)
    org, owner = int(world["org"]), int(world["owner"])  # type: ignore[call-overload]
    wallet = ai_wallet(any_db, org, owner, "full_ai")  # 100,000 cash
    held = SYMBOLS[5]
    ledger.buy(any_db.uow(), wallet, held, "10000", idempotency_key=key())
    with any_db.uow(read_only=True) as uow:
        navs = {t.symbol: t.nav_per_token for t in uow.session.scalars(select(StrategyToken))}
    units = holding_of(any_db, wallet, held)[0]
    # An ask for every unit held (above NAV: it rests) and a bid reserving about 80,000 of the
    # 90,000 cash left (below NAV: it rests too).
    exchange.place_order(any_db.uow(), wallet, "ask", held, units,
                         (navs[held] * D("1.04")).quantize(D("0.01")), idempotency_key=key())
    bid_price = (navs[SYMBOLS[0]] * D("0.97")).quantize(D("0.01"))
    bid_qty = (D("80000") / bid_price).quantize(D(1))
    exchange.place_order(any_db.uow(), wallet, "bid", SYMBOLS[0], bid_qty, bid_price,
                         idempotency_key=key())
    cash, reserved = _reserved(any_db, wallet)
    assert reserved == (bid_qty * bid_price).quantize(D("0.000001"))
    report = wallets.run_rebalance_cycle(any_db.uow())
    assert report.failed == {} and report.executed == 1
    cash_after, reserved_after = _reserved(any_db, wallet)
    assert reserved_after == reserved  # the bid keeps its cash
    assert D(0) <= cash_after - reserved_after < cash - reserved  # free cash was invested
    with any_db.uow(read_only=True) as uow:
        h = uow.session.scalar(select(TokenHolding).join(TokenHolding.token).where(
            TokenHolding.wallet_id == wallet, TokenHolding.token.has(symbol=held)))
        assert h is not None and h.reserved == units and h.quantity >= units  # the ask keeps its units
    assert violations(any_db) == []
