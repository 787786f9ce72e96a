"""ERC-4626 rounding and cost basis on SQLite and PostgreSQL.

Tokens out on a buy and cash out on a redeem both round DOWN (to 1e-18 units / 1e-6 USD), so the
rounding dust stays in the token pool; buy-then-redeem at an unchanged NAV never returns more than
was paid. ``avg_cost_basis`` is the quantity-weighted USD price paid (rounded up to 1e-18) and is
unchanged by partial redeems.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import InvalidAmount
from core.ledger.postings import token_pool_code
from tests.support.ledger_world import (
    account_balance,
    holding_of,
    key,
    make_org,
    make_token,
    make_wallet,
    token_state,
    violations,
    wallet_cash,
)

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-MOMENTUM-BTC-001"
CASH_Q = Decimal("0.000001")
TOKEN_Q = Decimal("0.000000000000000001")


def _floor(value: Decimal, q: Decimal) -> Decimal:
    return value.quantize(q, rounding=ROUND_FLOOR)


def _exact(fn: Callable[[], Decimal]) -> Decimal:
    """Evaluate ``fn`` at 80 significant digits (the reference computation, no rounding)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return fn()


@pytest.fixture
def odd_nav(any_db: Database, clock: SimulatedClock) -> tuple[Database, int]:
    """A token whose NAV is not a round number (so every trade has to round)."""
    wallet = make_wallet(any_db, make_org(any_db), cash="1000000")
    make_token(any_db, SYM, supply="100000000")
    ledger.buy(any_db.uow(), wallet, SYM, "900", idempotency_key=key())
    ledger.mark_nav(any_db.uow(), SYM, clock.now().date(), "0.123456789", benchmark_return="0.1")
    nav = token_state(any_db, SYM)["nav"]
    assert nav != nav.quantize(Decimal("0.0001"))
    return any_db, wallet


def test_buy_rounds_tokens_down_and_redeem_rounds_cash_down(odd_nav: tuple[Database, int]) -> None:
    db, wallet = odd_nav
    for cash in ("1", "333.333333", "0.010007", "12345.678901"):
        before = token_state(db, SYM)
        trade = ledger.buy(db.uow(), wallet, SYM, cash, idempotency_key=key())
        exact = _exact(lambda: Decimal(cash) * before["circulating"] / before["aum"])  # noqa: B023
        assert trade.tokens == _floor(exact, TOKEN_Q)
        assert trade.tokens <= exact  # never more tokens than paid for
        after = token_state(db, SYM)
        assert after["aum"] == before["aum"] + Decimal(cash)
        assert after["circulating"] == before["circulating"] + trade.tokens
    for qty in ("1", "0.123456789012345678", "77.7"):
        before = token_state(db, SYM)
        trade = ledger.redeem(db.uow(), wallet, SYM, qty, idempotency_key=key())
        exact = _exact(lambda: Decimal(qty) * before["aum"] / before["circulating"])  # noqa: B023
        assert trade.cash == _floor(exact, CASH_Q)
        assert trade.cash <= exact  # the pool never pays out more than is due
        after = token_state(db, SYM)
        assert after["aum"] == before["aum"] - trade.cash
    assert violations(db) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cents=st.integers(min_value=10**4, max_value=10**12))
def test_buy_then_redeem_never_returns_more_than_paid(odd_nav: tuple[Database, int], cents: int) -> None:
    db, wallet = odd_nav
    paid = Decimal(cents).scaleb(-6)  # 0.01 (the smallest buy) .. 1,000,000 USD, to the micro-dollar
    cash_before = wallet_cash(db, wallet)
    if cash_before < paid:
        ledger.deposit(db.uow(), wallet, str(paid), idempotency_key=key())
        cash_before = wallet_cash(db, wallet)
    pool_before = account_balance(db, token_pool_code(1))
    nav_before = token_state(db, SYM)["nav"]
    bought = ledger.buy(db.uow(), wallet, SYM, paid, idempotency_key=key())
    if bought.tokens == 0:
        return
    try:
        back = ledger.redeem(db.uow(), wallet, SYM, bought.tokens, idempotency_key=key())
    except InvalidAmount:
        # Refused only when the units are worth less than one cash quantum (1e-6 USD) in total.
        assert _exact(lambda: bought.tokens * nav_before) < Decimal(2) * CASH_Q
        return
    dust = paid - back.cash
    assert back.cash <= paid
    assert dust >= 0
    # The dust is not lost: it stayed in the pool (and only there).
    assert account_balance(db, token_pool_code(1)) - pool_before == dust
    assert wallet_cash(db, wallet) == cash_before - dust
    # Dust can only ever push the NAV up, never down.
    assert token_state(db, SYM)["nav"] >= nav_before


def test_avg_cost_basis_over_buys_and_partial_redeems(any_db: Database, clock: SimulatedClock) -> None:
    wallet = make_wallet(any_db, make_org(any_db), cash="100000")
    make_token(any_db, SYM, supply="100000000")
    first = ledger.buy(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())
    assert first.tokens == Decimal(1000) and first.avg_cost_basis == Decimal(1)
    ledger.mark_nav(any_db.uow(), SYM, clock.now().date(), "0.1")
    nav = token_state(any_db, SYM)
    second = ledger.buy(any_db.uow(), wallet, SYM, "550", idempotency_key=key())
    assert second.tokens == _floor(_exact(lambda: Decimal(550) * nav["circulating"] / nav["aum"]), TOKEN_Q)
    qty = Decimal(1000) + second.tokens
    expected_avg = _exact(lambda: Decimal(1550) / qty).quantize(TOKEN_Q, rounding=ROUND_CEILING)
    assert second.avg_cost_basis == expected_avg
    assert holding_of(any_db, wallet, SYM) == (qty, expected_avg)
    # A third buy at another price keeps weighting by quantity.
    clock.advance(timedelta(days=1))
    ledger.mark_nav(any_db.uow(), SYM, clock.now().date(), "-0.2")
    third = ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    cost = qty * expected_avg + Decimal(100)
    qty += third.tokens
    expected_avg = _exact(lambda: cost / qty).quantize(TOKEN_Q, rounding=ROUND_CEILING)
    assert third.avg_cost_basis == expected_avg
    # Partial redeems leave the average cost alone ...
    part = ledger.redeem(any_db.uow(), wallet, SYM, "400", idempotency_key=key())
    assert part.avg_cost_basis == expected_avg
    assert part.token_balance == qty - 400
    # ... and a full redeem closes the position.
    rest = ledger.redeem(any_db.uow(), wallet, SYM, str(qty - 400), idempotency_key=key())
    assert rest.token_balance == 0 and rest.avg_cost_basis == 0
    assert holding_of(any_db, wallet, SYM) == (Decimal(0), Decimal(0))
    assert violations(any_db) == []
