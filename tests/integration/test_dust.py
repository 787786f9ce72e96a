"""Dust: no buy or partial redeem leaves a position worth less than one cent (the refusal names the
amounts that work), redeeming everything always clears a position, and rebalances never fail on
dust. On a real SQLite file and on real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ledger, wallets
from core.clock import SimulatedClock
from core.db import Database
from core.errors import InvalidAmount
from core.ledger.dust import largest_partial_redeem
from core.models import TokenHolding
from core.wallets.planning import Position, plan_trades
from tests.support.ledger_world import key, make_org, make_token, make_wallet, violations, wallet_cash
from tests.wallet_fixtures import ai_wallet, platform

SYMBOL = "STRAT-DUST-USDC-001"


def held(db: Database, wallet_id: int) -> Decimal:
    with db.uow(read_only=True) as uow:
        quantities = uow.session.scalars(select(TokenHolding.quantity).where(
            TokenHolding.wallet_id == wallet_id))
        return sum(quantities, Decimal(0))


def crash(db: Database, clock: SimulatedClock, symbol: str, daily_return: str) -> None:
    clock.advance(dt.timedelta(days=1))
    ledger.mark_nav(db.uow(), symbol, clock.now().date(), daily_return)


def test_a_buy_under_a_cent_is_refused_and_a_cent_leaves_no_dust(any_db: Database) -> None:
    make_token(any_db, SYMBOL)
    wallet = make_wallet(any_db, make_org(any_db), cash="100")
    with pytest.raises(InvalidAmount, match=r"at least \$0\.01 \(one cent\)"):  # under the minimum buy
        ledger.buy(any_db.uow(), wallet, SYMBOL, "0.000001", idempotency_key=key())
    assert held(any_db, wallet) == 0 and wallet_cash(any_db, wallet) == Decimal(100)  # nothing written
    ledger.buy(any_db.uow(), wallet, SYMBOL, "0.01", idempotency_key=key())
    assert held(any_db, wallet) > 0
    assert violations(any_db) == []


def test_a_partial_redeem_that_would_leave_dust_is_refused(any_db: Database) -> None:
    make_token(any_db, SYMBOL)
    wallet = make_wallet(any_db, make_org(any_db), cash="100")
    ledger.buy(any_db.uow(), wallet, SYMBOL, "5", idempotency_key=key())
    have = held(any_db, wallet)
    with pytest.raises(InvalidAmount, match=r"worth less than \$0\.01\. Redeem all of it"):
        ledger.redeem(any_db.uow(), wallet, SYMBOL, have - Decimal("0.001"), idempotency_key=key())
    assert held(any_db, wallet) == have
    most = largest_partial_redeem(have, Decimal(1))  # NAV is 1.00 at the seed
    ledger.redeem(any_db.uow(), wallet, SYMBOL, most, idempotency_key=key())
    assert Decimal("0.01") <= held(any_db, wallet) < Decimal("0.011")
    assert violations(any_db) == []


@pytest.mark.parametrize("daily_return", ["-0.9999", "-0.9999999"], ids=["sub-cent", "sub-micro-cent"])
def test_redeeming_everything_always_clears_a_dust_position(
    any_db: Database, clock: SimulatedClock, daily_return: str
) -> None:
    make_token(any_db, SYMBOL)
    wallet = make_wallet(any_db, make_org(any_db), cash="100")
    ledger.buy(any_db.uow(), wallet, SYMBOL, "0.01", idempotency_key=key())
    crash(any_db, clock, SYMBOL, daily_return)  # the position is now worth (much) less than a cent
    quantity = held(any_db, wallet)
    ledger.redeem(any_db.uow(), wallet, SYMBOL, quantity, idempotency_key=key())
    assert held(any_db, wallet) == 0
    assert violations(any_db) == []


def test_a_full_ai_rebalance_never_fails_on_dust(any_db: Database, clock: SimulatedClock) -> None:
    world = platform(any_db, clock, tokens=5, days=40)
    org, owner = int(world["org"]), int(world["owner"])  # type: ignore[call-overload]
    wallet = ai_wallet(any_db, org, owner, "full_ai")
    make_token(any_db, SYMBOL)  # too young for the optimizer: never in the target
    ledger.buy(any_db.uow(), wallet, SYMBOL, "0.01", idempotency_key=key())
    crash(any_db, clock, SYMBOL, "-0.9999999")  # dust worth less than a cent-millionth
    report = wallets.run_rebalance_cycle(any_db.uow())
    assert report.failed == {} and report.executed == 1
    with any_db.uow(read_only=True) as uow:
        dust = uow.session.scalar(select(TokenHolding.quantity).join(TokenHolding.token).where(
            TokenHolding.wallet_id == wallet, TokenHolding.token.has(symbol=SYMBOL)))
    assert not dust  # sold in full
    assert held(any_db, wallet) > 0 and violations(any_db) == []


def test_plans_leave_no_dust() -> None:
    nav = Decimal(1)
    # A trim that would leave half a cent sells the whole position instead.
    position = Position("STRAT-A-X-001", Decimal("100.005"), nav)
    trades, _ = plan_trades(Decimal(0), [position], {"STRAT-A-X-001": Decimal("0.00005")},
                            {"STRAT-A-X-001": nav}, min_trade=Decimal(0), cost_rate=Decimal(0))
    assert [(t.side, t.quantity) for t in trades] == [("redeem", Decimal("100.005"))]
    # A buy that would open a position worth under two cents is skipped.
    trades, _ = plan_trades(Decimal("1000"), [], {"STRAT-A-X-001": Decimal("0.00001")},
                            {"STRAT-A-X-001": nav}, min_trade=Decimal(0), cost_rate=Decimal(0))
    assert trades == []
