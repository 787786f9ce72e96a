"""The read-only summaries of ``core.ledger.queries`` on a small world whose every figure is worked
out by hand (SQLite file and PostgreSQL).

The world (management fee off; performance fee 10 % of the gain over the high-water mark, 5 % of
each fee to the insurance fund; every token seeded with 100 house units at NAV 1):

* ``STRAT-BETA-X-001`` is created first, ``STRAT-ALPHA-X-001`` second (so id order is not symbol
  order), then ``STRAT-GAMMA-X-001``.
* The wallet deposits $1,000 and buys $200 of ALPHA (200 units), $0.50 of BETA (half a unit: listed)
  and $50 of GAMMA, then redeems all its GAMMA for $50 (a position of 0 is not listed): cash
  1000 - 250.5 + 50 = $799.50.
* Day 1, ALPHA +10 %: the pool of 300 units gains $30 (AUM 330), the performance fee is 10 % of the
  $30 gain = $3 ($0.15 insurance, $2.85 fee income): AUM 327, NAV 1.09 (the new high-water mark).
* Day 2, ALPHA +0.00002 %: P&L 327 x 0.0000002 = $0.0000654, booked half-even to $0.000065; the fee
  is 10 % of it rounded down, $0.000006 (insurance: 5 % of that rounds down to 0): AUM 327.000059,
  NAV 327.000059 / 300 = 1.0900001966... (a repeating decimal).
* So the wallet's 200 ALPHA are worth 2/3 x 327.000059 = 218.0000393... -> $218.000039 (rounded
  down) with an unrealised gain of $18.000039 over its cost of $1 a unit, and the house's 100 ALPHA
  327.000059 / 3 = 109.0000196... -> $109.000019 (half-up would give ...020).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D

import pytest

from core import ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.ledger.queries import (
    PositionSummary,
    TokenSummary,
    WalletSummary,
    fee_income_balance,
    insurance_fund_balance,
    platform_aum,
    token_summaries,
    wallet_summaries,
    wallet_summary,
)
from core.models import AIWallet
from tests.support.ledger_world import key, make_org, make_token, make_wallet

pytestmark = pytest.mark.usefixtures("pure_ledger")

ALPHA, BETA, GAMMA = "STRAT-ALPHA-X-001", "STRAT-BETA-X-001", "STRAT-GAMMA-X-001"


@pytest.fixture
def no_management_fee(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(any_db: Database, clock: SimulatedClock, no_management_fee: None) -> int:
    for symbol in (BETA, ALPHA, GAMMA):
        make_token(any_db, symbol)
    wallet = make_wallet(any_db, make_org(any_db), cash="1000")
    for symbol, cash in ((ALPHA, "200"), (BETA, "0.5"), (GAMMA, "50")):
        ledger.buy(any_db.uow(), wallet, symbol, cash, idempotency_key=key())
    ledger.redeem(any_db.uow(), wallet, GAMMA, "50", idempotency_key=key())
    for r in ("0.1", "0.0000002"):
        clock.advance(timedelta(days=1))
        ledger.mark_nav(any_db.uow(), ALPHA, clock.now().date(), r)
    return wallet


def test_token_summaries_in_symbol_order(any_db: Database, world: int) -> None:
    with any_db.uow(read_only=True) as uow:
        summaries = token_summaries(uow.session)
    assert summaries == [
        TokenSummary(ALPHA, ALPHA, "active", D("1.090000196666666666"), D("327.000059"), D(300),
                     D(1000000), D("1.090000196666666666")),
        TokenSummary(BETA, BETA, "active", D(1), D("100.5"), D("100.5"), D(1000000), D(1)),
        TokenSummary(GAMMA, GAMMA, "active", D(1), D(100), D(100), D(1000000), D(1)),
    ]


def test_a_wallets_positions_are_valued_down_to_the_cash_quantum(any_db: Database, world: int) -> None:
    with any_db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, world)
        assert wallet is not None
        summary = wallet_summary(uow.session, wallet)
    assert summary == WalletSummary(
        world,
        "Main",
        summary.organisation_id,
        "manual",
        "free",
        D("799.5"),
        [
            PositionSummary(ALPHA, D(200), D("218.000039"), D(1), D("18.000039")),
            PositionSummary(BETA, D("0.5"), D("0.5"), D(1), D(0)),  # GAMMA, sold out, is not listed
        ],
    )
    assert summary.organisation_id is not None
    assert summary.value == D("1018.000039")  # 799.5 + 218.000039 + 0.5


def test_the_house_wallet_is_listed_only_when_asked(any_db: Database, world: int) -> None:
    with any_db.uow(read_only=True) as uow:
        customers = wallet_summaries(uow.session)
        everyone = wallet_summaries(uow.session, include_house=True)
    assert [w.wallet_id for w in customers] == [world]
    house = [w for w in everyone if w.wallet_id != world]
    assert len(everyone) == 2 and len(house) == 1
    assert [w.wallet_id for w in everyone] == sorted(w.wallet_id for w in everyone)
    assert house[0].organisation_id is None and house[0].cash == 0
    assert house[0].positions == [
        PositionSummary(ALPHA, D(100), D("109.000019"), D(1), D("9.000019")),
        PositionSummary(BETA, D(100), D(100), D(1), D(0)),
        PositionSummary(GAMMA, D(100), D(100), D(1), D(0)),
    ]


def test_platform_totals(any_db: Database, world: int) -> None:
    with any_db.uow(read_only=True) as uow:
        assert platform_aum(uow.session) == D("327.000059") + D("100.5") + D(100)
        assert insurance_fund_balance(uow.session) == D("0.15")
        assert fee_income_balance(uow.session) == D("2.850006")  # 2.85 + 0.000006


def test_an_empty_platform_has_zero_totals(any_db: Database) -> None:
    with any_db.uow(read_only=True) as uow:
        assert token_summaries(uow.session) == []
        assert wallet_summaries(uow.session, include_house=True) == []
        assert platform_aum(uow.session) == 0
        assert isinstance(platform_aum(uow.session), D)  # a Decimal zero, not the integer 0
        assert insurance_fund_balance(uow.session) == 0
        assert fee_income_balance(uow.session) == 0
