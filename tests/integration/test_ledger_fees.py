"""Fees on SQLite and PostgreSQL, over simulated time.

* management: 1 %/yr of AUM, pro rata by elapsed seconds, never losing sub-quantum time;
* performance: 10 % of NAV gains above max(high-water mark, HWM x benchmark growth), HWM raised
  after crystallisation;
* 5 % of every fee (rounded down to 1e-6 USD) to the insurance fund, the rest to fee income;
* fees settle before every buy and redeem (the trade prices at the post-fee NAV).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from sqlalchemy import Row, select

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.ledger.postings import token_pool_code
from core.models import FeeAccrual, FeeKind
from tests.support.ledger_world import (
    account_balance,
    key,
    make_org,
    make_token,
    make_wallet,
    token_state,
    violations,
)

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-MOMENTUM-BTC-001"
Q = Decimal("0.000001")
YEAR = timedelta(days=365)


def _accruals(db: Database, kind: FeeKind | None = None) -> list[Row[Any]]:
    """Fee accrual rows as plain tuples (kind, fee_amount, insurance_amount, period_start, period_end)."""
    with db.uow(read_only=True) as uow:
        query = select(
            FeeAccrual.kind,
            FeeAccrual.fee_amount,
            FeeAccrual.insurance_amount,
            FeeAccrual.period_start,
            FeeAccrual.period_end,
        ).order_by(FeeAccrual.id)
        if kind is not None:
            query = query.where(FeeAccrual.kind == kind)
        return list(uow.session.execute(query))


def _assert_fee_split(db: Database) -> None:
    """Every fee: 5 % (rounded down) to insurance; insurance + income == all fees ever taken."""
    rows = _accruals(db)
    for row in rows:
        assert row.insurance_amount == (row.fee_amount * Decimal("0.05")).quantize(Q, rounding=ROUND_FLOOR)
    fees = sum((r.fee_amount for r in rows), Decimal(0))
    insurance = sum((r.insurance_amount for r in rows), Decimal(0))
    assert account_balance(db, "platform:insurance") == insurance
    assert account_balance(db, "platform:fees") == fees - insurance
    assert violations(db) == []


@pytest.fixture
def funded(any_db: Database) -> tuple[Database, int]:
    """Seed 100 + a 99,900 buy: AUM exactly 100,000 USD at NAV 1.00."""
    wallet = make_wallet(any_db, make_org(any_db), cash="1000000")
    make_token(any_db, SYM, supply="100000000")
    ledger.buy(any_db.uow(), wallet, SYM, "99900", idempotency_key=key())
    assert token_state(any_db, SYM)["aum"] == Decimal(100000)
    return any_db, wallet


# --- management fee ------------------------------------------------------------------------------


def test_management_fee_one_percent_per_year(funded: tuple[Database, int], clock: SimulatedClock) -> None:
    db, _ = funded
    clock.advance(YEAR)
    fee = ledger.accrue_fees(db.uow(), SYM, idempotency_key=key())
    assert fee == Decimal("1000.000000")
    assert token_state(db, SYM)["aum"] == Decimal(99000)
    assert account_balance(db, "platform:insurance") == Decimal(50)
    assert account_balance(db, "platform:fees") == Decimal(950)
    _assert_fee_split(db)


def test_management_fee_is_pro_rata(funded: tuple[Database, int], clock: SimulatedClock) -> None:
    db, _ = funded
    clock.advance(timedelta(days=73))  # a fifth of a year
    assert ledger.accrue_fees(db.uow(), SYM, idempotency_key=key()) == Decimal(200)
    clock.advance(timedelta(hours=1))
    # 99,800 x 1 % x 3600 s / 31,536,000 s = 0.113926940... -> rounds down
    assert ledger.accrue_fees(db.uow(), SYM, idempotency_key=key()) == Decimal("0.113926")
    # Accruing twice at the same instant books nothing the second time.
    assert ledger.accrue_fees(db.uow(), SYM, idempotency_key=key()) == 0
    rows = _accruals(db, FeeKind.MANAGEMENT)
    assert [r.period_end - r.period_start for r in rows] == [timedelta(days=73), timedelta(hours=1)]
    _assert_fee_split(db)


def test_sub_quantum_accruals_lose_no_time(any_db: Database, clock: SimulatedClock) -> None:
    """Seed-only pool (100 USD): one second of fee is 3.2e-8 USD, below the 1e-6 quantum.
    Settling every second must not reset the period, or the fee would never be charged."""
    make_token(any_db, SYM)
    booked = Decimal(0)
    for _ in range(40):
        clock.advance(timedelta(seconds=1))
        booked += ledger.accrue_fees(any_db.uow(), SYM, idempotency_key=key())
    # 100 x 1 % x 40 s / 31,536,000 s = 0.00000126839 -> at least one quantum booked by now
    assert booked >= Q
    rows = _accruals(any_db, FeeKind.MANAGEMENT)
    assert rows and rows[0].period_end - rows[0].period_start >= timedelta(seconds=31)
    assert sum((r.fee_amount for r in rows), Decimal(0)) == booked


@pytest.mark.parametrize("side", ["buy", "redeem"])
def test_fees_settle_before_trades(funded: tuple[Database, int], clock: SimulatedClock, side: str) -> None:
    db, wallet = funded
    clock.advance(YEAR)
    if side == "buy":
        trade = ledger.buy(db.uow(), wallet, SYM, "9900", idempotency_key=key())
        # Priced at the post-fee NAV of 0.99: 9,900 USD buys exactly 10,000 units.
        assert trade.tokens == Decimal(10000)
    else:
        trade = ledger.redeem(db.uow(), wallet, SYM, "10000", idempotency_key=key())
        assert trade.cash == Decimal(9900)  # 10,000 units at 0.99
    assert trade.fees_settled == Decimal(1000)
    assert trade.nav_per_token == Decimal("0.99")
    _assert_fee_split(db)


# --- performance fee -----------------------------------------------------------------------------


def _mark(db: Database, clock: SimulatedClock, r: str, bench: str = "0") -> ledger.NavMarked:
    clock.advance(timedelta(days=1))
    # Marks are daily; the management fee for each day is part of the expectation via the state.
    return ledger.mark_nav(db.uow(), SYM, clock.now().date(), r, benchmark_return=bench)


@pytest.fixture
def no_mgmt_fee(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Isolate the performance fee: management rate 0 (Settings are read from the environment)."""
    from core.config import get_settings

    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("no_mgmt_fee")
def test_performance_fee_against_high_water_mark(funded: tuple[Database, int], clock: SimulatedClock) -> None:
    db, _ = funded
    m = _mark(db, clock, "0.1")  # NAV 1.10: gain 0.10 x 100,000 units, fee 10 %
    assert m.performance_fee == Decimal(1000)
    assert token_state(db, SYM)["nav"] == Decimal("1.09")
    assert token_state(db, SYM)["hwm"] == Decimal("1.09")  # HWM raised to the post-fee NAV
    assert _mark(db, clock, "-0.05").performance_fee == 0  # 1.0355: below the HWM
    assert _mark(db, clock, "0.05").performance_fee == 0  # 1.087275: a gain, still below the HWM
    assert token_state(db, SYM)["hwm"] == Decimal("1.09")  # not lowered by losses
    m = _mark(db, clock, "0.01")  # 1.09814775: only the part above 1.09 is charged
    assert m.performance_fee == Decimal("81.4775")  # 10 % x 0.00814775 x 100,000 units
    assert token_state(db, SYM)["hwm"] == Decimal("1.097332975")
    _assert_fee_split(db)


@pytest.mark.usefixtures("no_mgmt_fee")
def test_performance_fee_respects_benchmark(funded: tuple[Database, int], clock: SimulatedClock) -> None:
    db, _ = funded
    assert _mark(db, clock, "0.1", bench="0.1").performance_fee == 0  # merely matched the benchmark
    assert token_state(db, SYM)["hwm"] == Decimal(1)
    # Strategy +10 % again, benchmark +5 %: hurdle 1 x 1.10 x 1.05 = 1.155, NAV 1.21.
    m = _mark(db, clock, "0.1", bench="0.05")
    assert m.performance_fee == Decimal("550")  # 10 % x (1.21 - 1.155) x 100,000 units
    assert token_state(db, SYM)["hwm"] == Decimal("1.2045")  # 1.21 - 0.0055
    _assert_fee_split(db)


@pytest.mark.usefixtures("no_mgmt_fee")
def test_no_performance_fee_below_hwm_when_benchmark_falls(
    funded: tuple[Database, int], clock: SimulatedClock
) -> None:
    """Benchmark -10 %, strategy -5 %: it beat the benchmark but lost money; NAV 0.95 is below the HWM
    of 1.00, so there is no performance fee (the hurdle is never below the high-water mark)."""
    db, _ = funded
    assert _mark(db, clock, "-0.05", bench="-0.1").performance_fee == 0
    assert token_state(db, SYM)["nav"] == Decimal("0.95")
    # Back above the HWM: only the part above 1.00 counts, not the part above the fallen benchmark.
    m = _mark(db, clock, "0.1", bench="0")  # NAV 1.045
    assert m.performance_fee == Decimal("450")  # 10 % x 0.045 x 100,000 units
    _assert_fee_split(db)


def test_all_fees_split_five_percent_to_insurance(
    funded: tuple[Database, int], clock: SimulatedClock
) -> None:
    db, wallet = funded
    for day in range(1, 15):
        clock.advance(timedelta(hours=7, minutes=day))
        ledger.buy(db.uow(), wallet, SYM, f"{day}.333333", idempotency_key=key())
        if day % 3 == 0:
            _mark(db, clock, "0.0123456", bench="0.001")
        ledger.redeem(db.uow(), wallet, SYM, f"{day}.5", idempotency_key=key())
    rows = _accruals(db)
    assert {r.kind for r in rows} == {FeeKind.MANAGEMENT, FeeKind.PERFORMANCE}
    total = sum((r.fee_amount for r in rows), Decimal(0))
    assert total > 0
    assert account_balance(db, "platform:fees") + account_balance(db, "platform:insurance") == total
    assert account_balance(db, token_pool_code(1)) == token_state(db, SYM)["aum"]
    _assert_fee_split(db)
