"""Kill switch, circuit breaker, redemption queue and token lifecycle on crafted NAV paths."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import LimitExceeded, TradingHalted
from core.models import StrategyToken, TokenStatus
from core.models.wallets_ext import RedemptionRequest
from core.notify import CollectingNotifier
from core.risk import (
    check_circuit_breaker,
    check_kill_switch,
    halt_trading,
    insurance_fund_balance,
    process_queue_in,
    redeem_or_queue,
    resume_trading,
)
from core.tokens import promote_ready_tokens
from core.wallets import run_rebalance_cycle
from tests.support.ledger_world import (
    holding_of,
    key,
    make_org,
    make_token,
    make_user,
    make_wallet,
    violations,
)
from tests.wallet_fixtures import mark_days

SYM = "STRAT-TEST-RISK-001"


def _holder(db: Database, cash: str = "10000", buy: str = "5000") -> tuple[int, int]:
    org = make_org(db)
    owner = make_user(db, 777, org)
    make_token(db, SYM, supply="10000000")
    wallet = make_wallet(db, org, cash=cash, owner_user_ids=[owner], tier="basic")
    ledger.buy(db.uow(), wallet, SYM, buy, idempotency_key=key())
    return wallet, owner


def test_kill_switch_retires_and_winds_down(any_db: Database, clock: SimulatedClock) -> None:
    wallet, _owner = _holder(any_db)
    mark_days(any_db, clock, {SYM: ["0.05", "-0.10", "-0.08"]})  # peak 1.05, then -17.2 %
    with any_db.uow() as uow:
        assert check_kill_switch(uow.session, clock.now()) == []
        uow.commit()
    mark_days(any_db, clock, {SYM: ["-0.05"]})  # -21.3 % from the peak
    notifier = CollectingNotifier()
    with any_db.uow() as uow:
        fired = check_kill_switch(uow.session, clock.now(), notifier=notifier)
        uow.commit()
    assert [f.symbol for f in fired] == [SYM]
    assert fired[0].holders_redeemed == 2  # the wallet and the house seed
    assert holding_of(any_db, wallet, SYM)[0] == 0
    assert notifier.messages and "retired" in notifier.messages[0].reply.text
    with any_db.uow(read_only=True) as uow:
        token = uow.session.scalars(select(StrategyToken)).one()
        assert token.status is TokenStatus.RETIRED and token.circulating_supply == 0
    assert violations(any_db) == []


def test_circuit_breaker_halts_until_admin_resumes(any_db: Database,
                                                   clock: SimulatedClock) -> None:
    wallet, _owner = _holder(any_db)
    mark_days(any_db, clock, {SYM: ["0.01"]})
    with any_db.uow() as uow:
        assert not check_circuit_breaker(uow.session, clock.now())
        uow.commit()
    mark_days(any_db, clock, {SYM: ["-0.12"]})  # platform holdings -12 % in 24 h
    with any_db.uow() as uow:
        assert check_circuit_breaker(uow.session, clock.now())
        uow.commit()
    with pytest.raises(TradingHalted):
        ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    with pytest.raises(TradingHalted):
        ledger.redeem(any_db.uow(), wallet, SYM, "1", idempotency_key=key())
    assert run_rebalance_cycle(any_db.uow()).halted
    with any_db.uow() as uow:
        assert resume_trading(uow.session, clock.now(), admin="user:1")
        uow.commit()
    ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    assert violations(any_db) == []


def test_manual_halt_blocks_trades_until_resumed(any_db: Database, clock: SimulatedClock) -> None:
    wallet, _owner = _holder(any_db)
    with any_db.uow() as uow:
        assert halt_trading(uow.session, clock.now(), admin="user:1", reason="oracle incident")
        assert not halt_trading(uow.session, clock.now(), admin="user:1", reason="again")
        uow.commit()
    with pytest.raises(TradingHalted):
        ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    assert run_rebalance_cycle(any_db.uow()).halted
    with any_db.uow() as uow:
        assert resume_trading(uow.session, clock.now(), admin="user:1")
        uow.commit()
    ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    assert violations(any_db) == []


def test_redemption_limit_queues_fifo(any_db: Database, clock: SimulatedClock) -> None:
    wallet, _owner = _holder(any_db, cash="20000", buy="10000")  # AUM 10,100; limit 1,010/day
    qty, _ = holding_of(any_db, wallet, SYM)
    with pytest.raises(LimitExceeded):
        ledger.redeem(any_db.uow(), wallet, SYM, "2000", idempotency_key=key())
    out = redeem_or_queue(any_db.uow(), wallet, SYM, "3000", idempotency_key=key())
    assert out.redeemed_now > 0 and out.queued > 0 and out.request_id is not None
    assert "queued" in out.message and "10 %" in out.message
    assert out.cash_now <= Decimal("1010")
    # The same day, nothing more leaves.
    with any_db.uow() as uow:
        assert process_queue_in(uow.session, clock.now()) == []
        uow.commit()
    clock.advance(timedelta(days=1))
    with any_db.uow() as uow:
        released = process_queue_in(uow.session, clock.now())
        uow.commit()
    assert released and released[0].cash_now <= Decimal("1010")
    while True:  # keep releasing day by day until the request is done
        with any_db.uow(read_only=True) as uow:
            request = uow.session.scalars(select(RedemptionRequest)).one()
            status = request.status
        if status == "done":
            break
        clock.advance(timedelta(days=1))
        with any_db.uow() as uow:
            process_queue_in(uow.session, clock.now())
            uow.commit()
    assert holding_of(any_db, wallet, SYM)[0] == qty - Decimal("3000")
    assert violations(any_db) == []


def test_proving_token_activates_after_passing_paper_days(any_db: Database,
                                                          clock: SimulatedClock) -> None:
    ledger.tokenize(any_db.uow(), agent_id=None, symbol="STRAT-TEST-NEW-001",
                    total_supply="1000000", idempotency_key=key())
    ledger.tokenize(any_db.uow(), agent_id=None, symbol="STRAT-TEST-BAD-001",
                    total_supply="1000000", idempotency_key=key())
    mark_days(any_db, clock, {"STRAT-TEST-NEW-001": ["0.001"] * 29,
                              "STRAT-TEST-BAD-001": ["-0.01"] * 29})
    with any_db.uow() as uow:
        assert promote_ready_tokens(uow.session, clock.now()) == []
        uow.commit()
    mark_days(any_db, clock, {"STRAT-TEST-NEW-001": ["0.001"], "STRAT-TEST-BAD-001": ["-0.01"]})
    with any_db.uow() as uow:
        assert promote_ready_tokens(uow.session, clock.now()) == ["STRAT-TEST-NEW-001"]
        uow.commit()


def test_insurance_fund_reported(any_db: Database, clock: SimulatedClock) -> None:
    _holder(any_db)
    mark_days(any_db, clock, {SYM: ["0.01"] * 10})
    with any_db.uow(read_only=True) as uow:
        assert insurance_fund_balance(uow.session) > 0
