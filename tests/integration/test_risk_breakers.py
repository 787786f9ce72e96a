"""Circuit breaker, kill switch and risk wiring at their boundaries, on real databases, with fees
switched off so that every NAV is the product of the marked returns (world:
tests/support/risk_world.py). Limits: circuit breaker > 10 % loss in 24 h, kill switch > 20 % below
the peak NAV."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.errors import TradingHalted
from core.models import AuditLog, StrategyToken, TokenStatus
from core.risk import (
    check_circuit_breaker,
    check_kill_switch,
    drawdown,
    halt_trading,
    is_halted,
    platform_loss_24h,
    resume_trading,
    risk_state,
)
from tests.support.ledger_world import holding_of, key, make_token, violations
from tests.support.risk_world import OTHER, SYM, no_fees  # noqa: F401  (autouse: fees off)
from tests.support.risk_world import mark as _mark
from tests.support.risk_world import world as _world


def test_platform_loss_is_the_supply_weighted_24h_nav_change(any_db: Database, clock: SimulatedClock) -> None:
    _world(any_db)  # SYM: 10,100 units
    make_token(any_db, OTHER, supply="1000000")  # 100 house units
    ledger.tokenize(any_db.uow(), agent_id=None, symbol="STRAT-TEST-PROVING-001", total_supply="1000000",
                    idempotency_key=key())  # fmt: skip
    _mark(any_db, clock, {SYM: "0.25", OTHER: "0", "STRAT-TEST-PROVING-001": "0"})  # NAV 1.25 and 1
    _mark(any_db, clock, {SYM: "-0.2", OTHER: "-0.5", "STRAT-TEST-PROVING-001": "-0.9"})  # 1.0, 0.5
    with any_db.uow() as uow:
        loss = platform_loss_24h(uow.session, clock.now())
    # (10,100 x 0.25 + 100 x 0.5) / (10,100 x 1.25 + 100 x 1) = 2,575 / 12,725; the proving token
    # and anything older than 24 h (the NAV of 1 two days ago) do not count.
    assert abs(loss - Decimal(2575) / Decimal(12725)) < Decimal("1e-20")
    # A token without a mark 24 hours ago does not count either: the next day only SYM moves.
    make_token(any_db, "STRAT-TEST-FRESH-001", supply="1000000")
    _mark(any_db, clock, {SYM: "0.1", OTHER: "0", "STRAT-TEST-FRESH-001": "-0.5"})
    with any_db.uow() as uow:
        gain = platform_loss_24h(uow.session, clock.now())
    assert abs(gain - Decimal(-1010) / Decimal(10150)) < Decimal("1e-20")  # (10,100 x 1.0 + 100 x 0.5)


def test_no_history_means_no_loss(any_db: Database, clock: SimulatedClock) -> None:
    with any_db.uow() as uow:
        assert platform_loss_24h(uow.session, clock.now()) == 0
    _world(any_db)
    with any_db.uow() as uow:
        assert platform_loss_24h(uow.session, clock.now()) == 0


def test_a_loss_of_exactly_the_limit_does_not_trip_and_one_above_does(
    any_db: Database, clock: SimulatedClock
) -> None:
    _org, wallet = _world(any_db)
    _mark(any_db, clock, {SYM: "0.25"})
    _mark(any_db, clock, {SYM: "-0.1"})  # NAV 1.25 -> 1.125: exactly 10 %
    with any_db.uow() as uow:
        assert platform_loss_24h(uow.session, clock.now()) == Decimal("0.1")
        assert not check_circuit_breaker(uow.session, clock.now())
        assert not is_halted(uow.session)
        assert check_circuit_breaker(uow.session, clock.now(), threshold=Decimal("0.0999"))
        assert not check_circuit_breaker(uow.session, clock.now(), threshold=Decimal("0.0999"))  # already
        state = risk_state(uow.session)
        assert state.halted and state.trips == 1 and state.halted_at is not None
        assert state.halt_reason == "platform holdings fell 10.0% in 24 hours (limit 10%)"
        audit = uow.session.scalars(
            select(AuditLog).where(AuditLog.action == "risk.circuit_breaker.trip")
        ).one()
        assert (audit.actor, audit.subject, audit.details) == ("system", "platform", {"loss": "0.1"})
        uow.commit()
    with pytest.raises(TradingHalted) as refused:
        ledger.buy(any_db.uow(), wallet, SYM, "10", idempotency_key=key())
    assert str(refused.value) == (
        "trading is halted: platform holdings fell 10.0% in 24 hours (limit 10%). "
        "A platform admin will resume it; nothing was traded."
    )
    assert holding_of(any_db, wallet, SYM)[0] == Decimal("10000")


def test_halt_and_resume_by_an_admin_are_audited(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db)
    with any_db.uow() as uow:
        assert not resume_trading(uow.session, clock.now(), admin="user:1")  # not halted
        assert halt_trading(uow.session, clock.now(), admin="user:9", reason="x" * 250)
        state = risk_state(uow.session)
        assert state.halt_reason == "halted by a platform admin: " + "x" * 200 and state.trips == 1
        uow.commit()
    with pytest.raises(TradingHalted, match="halted by a platform admin: x"):
        ledger.redeem(any_db.uow(), wallet, SYM, "1", idempotency_key=key())
    clock.advance(timedelta(hours=1))
    with any_db.uow() as uow:
        assert resume_trading(uow.session, clock.now(), admin="user:9")
        state = risk_state(uow.session)
        assert not state.halted and state.resumed_by == "user:9"
        assert state.resumed_at is not None and state.resumed_at.replace(tzinfo=None) == clock.now().replace(
            tzinfo=None
        )
        actions = [(a.action, a.actor) for a in uow.session.scalars(select(AuditLog).where(
            AuditLog.action.like("risk.%")).order_by(AuditLog.id))]  # fmt: skip
        assert actions == [
            ("risk.circuit_breaker.manual", "user:9"),
            ("risk.circuit_breaker.resume", "user:9"),
        ]
        uow.commit()
    ledger.redeem(any_db.uow(), wallet, SYM, "1", idempotency_key=key())


def test_drawdown_of_exactly_the_limit_keeps_the_token(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db)
    _mark(any_db, clock, {SYM: "0.25"})  # peak 1.25
    _mark(any_db, clock, {SYM: "-0.2"})  # NAV 1.0: exactly 20 % below the peak
    with any_db.uow() as uow:
        token = uow.session.scalars(select(StrategyToken)).one()
        assert drawdown(token) == Decimal("0.2")
        assert check_kill_switch(uow.session, clock.now()) == []
        fired = check_kill_switch(uow.session, clock.now(), threshold=Decimal("0.1999"))
        assert [f.symbol for f in fired] == [SYM]
        assert fired[0].holders_redeemed == 2 and fired[0].cash_returned == Decimal("10100")
        token = uow.session.scalars(select(StrategyToken)).one()
        assert token.status is TokenStatus.RETIRED
        assert token.retire_reason == "kill switch: NAV 20.0% below its peak (limit 20%)"
        assert check_kill_switch(uow.session, clock.now(), threshold=Decimal("0")) == []  # only active tokens
        uow.commit()
    assert holding_of(any_db, wallet, SYM)[0] == 0
    assert violations(any_db) == []


def test_drawdown_is_zero_at_or_above_the_peak_and_without_one() -> None:
    token = StrategyToken(symbol=SYM, aum=Decimal("150"), circulating_supply=Decimal("100"),
                          peak_nav=Decimal("1.2"))  # fmt: skip
    assert drawdown(token) == 0  # NAV 1.5 above its recorded peak: never negative
    token.aum = Decimal("90")
    assert drawdown(token) == Decimal("0.25")  # 1 - 0.9 / 1.2
    token.peak_nav = Decimal("0")
    assert drawdown(token) == 0


def test_install_registers_both_checks_under_their_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.risk
    from core.ledger import guards
    from core.risk import circuit, redemption

    monkeypatch.setattr(guards, "_CHECKS", {})
    monkeypatch.setitem(guards._STATE, "configured", False)
    core.risk.install()
    assert guards._STATE["configured"] is True
    assert guards.installed() == ["risk.circuit_breaker", "risk.redemption_limit"]
    assert guards._CHECKS["risk.circuit_breaker"] is circuit._halt_check
    assert guards._CHECKS["risk.redemption_limit"] is redemption._limit_check
    core.risk.install()  # idempotent
    assert guards.installed() == ["risk.circuit_breaker", "risk.redemption_limit"]


def test_the_insurance_fund_is_five_percent_of_fees(any_db: Database, monkeypatch: pytest.MonkeyPatch,
                                                    clock: SimulatedClock) -> None:  # fmt: skip
    from core.risk import insurance_fund_balance

    with any_db.uow(read_only=True) as uow:
        assert insurance_fund_balance(uow.session) == 0  # no fee yet: no account at all
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0.01")
    get_settings.cache_clear()
    _world(any_db)
    clock.advance(timedelta(days=365))
    ledger.accrue_fees(any_db.uow(), SYM, idempotency_key=key())  # 1 % of 10,100 = 101
    with any_db.uow(read_only=True) as uow:
        assert insurance_fund_balance(uow.session) == Decimal("5.05")


def test_every_halt_and_resume_is_counted_timed_and_audited(any_db: Database, clock: SimulatedClock) -> None:
    _world(any_db)
    with any_db.uow() as uow:
        assert halt_trading(uow.session, clock.now(), admin="user:9", reason="r" * 230)
        state = risk_state(uow.session)
        assert state.halted_at is not None and state.halted_at.date() == clock.now().date()
        assert is_halted(uow.session) is True  # this transaction's own, unflushed-or-not view
        uow.commit()
    clock.advance(timedelta(hours=2))
    with any_db.uow() as uow:
        assert resume_trading(uow.session, clock.now(), admin="user:8")
        assert is_halted(uow.session) is False
        assert halt_trading(uow.session, clock.now(), admin="user:9", reason="again")
        assert risk_state(uow.session).trips == 2  # counted, not reset
        uow.commit()
    with any_db.uow(read_only=True) as uow:
        rows = [(a.action, a.actor, a.subject, a.details) for a in uow.session.scalars(
            select(AuditLog).where(AuditLog.action.like("risk.%")).order_by(AuditLog.id))]  # fmt: skip
    assert rows == [
        ("risk.circuit_breaker.manual", "user:9", "platform", {"reason": "r" * 200}),
        (
            "risk.circuit_breaker.resume",
            "user:8",
            "platform",
            {"reason_was": "halted by a platform admin: " + "r" * 200},
        ),
        ("risk.circuit_breaker.manual", "user:9", "platform", {"reason": "again"}),
    ]


def test_a_trip_after_a_manual_halt_and_resume_counts_again(any_db: Database, clock: SimulatedClock) -> None:
    _world(any_db)
    with any_db.uow() as uow:
        halt_trading(uow.session, clock.now(), admin="user:1", reason="drill")
        resume_trading(uow.session, clock.now(), admin="user:1")
        uow.commit()
    _mark(any_db, clock, {SYM: "0"})
    _mark(any_db, clock, {SYM: "-0.5"})
    with any_db.uow() as uow:
        assert check_circuit_breaker(uow.session, clock.now())
        assert risk_state(uow.session).trips == 2
        assert risk_state(uow.session).halted_at is not None


def test_the_risk_state_row_is_created_when_missing(any_db: Database, clock: SimulatedClock) -> None:
    from sqlalchemy import delete

    from core.models.wallets_ext import PlatformRiskState

    with any_db.uow() as uow:
        uow.session.execute(delete(PlatformRiskState))
        uow.commit()
    with any_db.uow() as uow:
        state = risk_state(uow.session)
        assert (state.id, state.halted, state.trips, state.halt_reason) == (1, False, 0, None)
        uow.commit()
    with any_db.uow(read_only=True) as uow:
        row = uow.session.get(PlatformRiskState, 1)
        assert row is not None and (row.halted, row.trips) == (False, 0)


@pytest.mark.postgres
def test_two_first_touches_of_a_missing_risk_state_both_succeed(pg_db: Database,
                                                                clock: SimulatedClock) -> None:
    """A halt and a resume racing on a fresh database: the second insert of the single row waits
    for the first and then finds it, instead of dying with a unique violation (seen in the soak)."""
    import threading

    from sqlalchemy import delete

    from core.models.wallets_ext import PlatformRiskState

    with pg_db.uow() as uow:
        uow.session.execute(delete(PlatformRiskState))
        uow.commit()
    first = pg_db.uow()
    first.__enter__()
    assert halt_trading(first.session, clock.now(), admin="user:1", reason="first")  # inserted, uncommitted
    outcome: list[object] = []

    def second_writer() -> None:
        try:
            with pg_db.uow() as uow:
                outcome.append(risk_state(uow.session, lock=True).halted)
                uow.commit()
        except Exception as error:  # the assertion below reports it
            outcome.append(error)

    racer = threading.Thread(target=second_writer)
    racer.start()
    racer.join(timeout=1)
    assert racer.is_alive()  # blocked on the first writer's uncommitted row, as it must be
    first.commit()
    first.__exit__(None, None, None)
    racer.join(timeout=30)
    assert outcome == [True]  # it saw the committed halt, not an IntegrityError


def test_a_halt_without_a_stored_reason_still_says_why(any_db: Database) -> None:
    _org, wallet = _world(any_db)
    with any_db.uow() as uow:
        state = risk_state(uow.session, lock=True)
        state.halted, state.halt_reason = True, None
        uow.commit()
    with pytest.raises(TradingHalted) as refused:
        ledger.buy(any_db.uow(), wallet, SYM, "1", idempotency_key=key())
    assert str(refused.value) == (
        "trading is halted: the circuit breaker tripped. A platform admin will resume it; nothing was traded."
    )


def test_platform_loss_reads_each_tokens_own_latest_mark(any_db: Database, clock: SimulatedClock) -> None:
    make_token(any_db, "STRAT-TEST-AAA-001", supply="1000000")  # first by id, never marked before today
    _world(any_db)  # SYM: 10,100 units
    make_token(any_db, OTHER, supply="1000000")  # 100 units
    _mark(any_db, clock, {SYM: "0", OTHER: "-0.5"})  # day 1: SYM 1.0, OTHER 0.5 (its last mark)
    _mark(any_db, clock, {SYM: "0"})  # day 2: SYM 1.0
    _mark(any_db, clock, {SYM: "-0.1", "STRAT-TEST-AAA-001": "-0.9"})  # day 3: SYM 0.9
    with any_db.uow() as uow:
        loss = platform_loss_24h(uow.session, clock.now())
    # OTHER's NAV on or before day 2 and on or before day 3 is its day-1 mark (0.5, no change);
    # AAA has no mark on or before day 2 and does not count.
    assert abs(loss - Decimal(1010) / Decimal(10150)) < Decimal("1e-20")


def test_two_tokens_past_the_limit_wind_down_together(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db)
    make_token(any_db, OTHER, supply="1000000")
    _mark(any_db, clock, {SYM: "-0.3", OTHER: "-0.25"})
    with any_db.uow() as uow:
        fired = check_kill_switch(uow.session, clock.now())
        uow.commit()
    assert sorted((f.symbol, f.cash_returned) for f in fired) == [
        (SYM, Decimal("7070")),  # 10,100 units at 0.7
        (OTHER, Decimal("75")),  # 100 house units at 0.75
    ]
    assert holding_of(any_db, wallet, SYM)[0] == 0
    below_one = StrategyToken(symbol=SYM, aum=Decimal("45"), circulating_supply=Decimal("100"),
                              peak_nav=Decimal("0.9"))  # fmt: skip
    assert drawdown(below_one) == Decimal("0.5")  # a peak below 1 is still a peak
