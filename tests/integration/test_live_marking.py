"""Live NAV marking follows the token's agent: catch-up equals day-by-day, marks are idempotent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from backtest import example_specs, load_market
from backtest.codegen import code_hash, generate
from backtest.live import agent_daily_returns, mark_token_navs
from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.models import NavMark, StrategyToken, TreasuryAgent
from core.spec import load_spec
from tests.support.ledger_world import key, violations

BIRTH = dt.datetime(2024, 6, 1, 9, tzinfo=dt.UTC)


def _spec(family: str) -> dict:
    spec = next(s for s in example_specs() if s.family.value == family)
    return spec.model_dump(mode="json")


def _token_with_agent(db: Database, spec: dict, symbol: str) -> None:
    code = generate(load_spec(spec))
    with db.uow() as uow:
        agent = TreasuryAgent(
            name=spec["name"],
            family=spec["family"],
            spec_version=spec["spec_version"],
            spec=spec,
            spec_sha256="x" * 64,
            code=code,
            code_sha256=code_hash(code),
            created_at=uow.clock.now(),
        )
        uow.session.add(agent)
        uow.session.flush()
        agent_id = agent.id
        uow.commit()
    ledger.tokenize(
        db.uow(),
        agent_id=agent_id,
        symbol=symbol,
        total_supply="1000000",
        status="active",
        idempotency_key=key("tok"),
    )


def _navs(db: Database, symbol: str) -> list[tuple[dt.date, Decimal]]:
    with db.uow(read_only=True) as uow:
        token = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == symbol)).one()
        return [
            (m.as_of, m.nav_per_token)
            for m in uow.session.scalars(
                select(NavMark).where(NavMark.token_id == token.id).order_by(NavMark.as_of)
            )
        ]


@pytest.mark.parametrize("family", ["ma_crossover", "lending"])
def test_catch_up_equals_day_by_day_and_follows_the_agent(sqlite_db: Database, tmp_path, family: str) -> None:
    market = load_market(None)
    spec = _spec(family)
    assert isinstance(sqlite_db.clock, SimulatedClock)
    sqlite_db.clock.set(BIRTH)
    _token_with_agent(sqlite_db, spec, "STRAT-TEST-A-001")
    end = BIRTH.date() + dt.timedelta(days=20)

    # Day by day on one database ...
    for offset in range(1, 21):
        day = BIRTH.date() + dt.timedelta(days=offset)
        sqlite_db.clock.set(dt.datetime.combine(day, dt.time(23), dt.UTC))
        mark_token_navs(sqlite_db, day, market)
    daily = _navs(sqlite_db, "STRAT-TEST-A-001")

    # ... and in one catch-up call on another, from the same birth.
    other = Database(f"sqlite:///{tmp_path / 'other.db'}", clock=SimulatedClock(BIRTH))
    from core.migrations import upgrade

    upgrade(other.engine)
    _token_with_agent(other, spec, "STRAT-TEST-A-001")
    assert isinstance(other.clock, SimulatedClock)
    other.clock.set(dt.datetime.combine(end, dt.time(23), dt.UTC))
    detail = mark_token_navs(other, end, market)
    assert detail["STRAT-TEST-A-001"]["marked"] == 20
    caught_up = _navs(other, "STRAT-TEST-A-001")
    assert [d for d, _ in daily] == [d for d, _ in caught_up]
    assert len(daily) == 20
    # Fees accrue by elapsed time, so NAVs agree up to the fee timing, and the returns drive them.
    returns, _ = agent_daily_returns(spec, market, BIRTH.date(), end)
    gross = 1.0
    for day, _ in daily:
        gross *= 1 + float(returns[day])
    assert float(caught_up[-1][1]) == pytest.approx(gross, rel=2e-3)
    assert float(daily[-1][1]) == pytest.approx(gross, rel=2e-3)

    # Marking the same day again changes nothing.
    again = mark_token_navs(other, end, market)
    assert again["STRAT-TEST-A-001"]["marked"] == 0
    assert _navs(other, "STRAT-TEST-A-001") == caught_up
    assert violations(sqlite_db) == [] and violations(other) == []
    other.dispose()


def test_days_without_market_data_are_skipped_not_invented(sqlite_db: Database) -> None:
    market = load_market(None).window(None, None)
    last = market.close("BTC").index[-1].date()
    assert isinstance(sqlite_db.clock, SimulatedClock)
    sqlite_db.clock.set(dt.datetime.combine(last - dt.timedelta(days=3), dt.time(9), dt.UTC))
    _token_with_agent(sqlite_db, _spec("ma_crossover"), "STRAT-TEST-B-001")
    beyond = last + dt.timedelta(days=2)  # within the stale grace (3 days): the token stays live
    sqlite_db.clock.set(dt.datetime.combine(beyond, dt.time(23), dt.UTC))
    mark_token_navs(sqlite_db, beyond, market)
    marked_days = [d for d, _ in _navs(sqlite_db, "STRAT-TEST-B-001")]
    assert marked_days and max(marked_days) <= last


def test_scheduler_nav_job_marks_tokens_through_the_composition_root(sqlite_db: Database) -> None:
    """The production wiring (bot.wiring.job_hooks) feeds the scheduler's daily NAV job."""
    from bot.wiring import job_hooks
    from core.config import Settings
    from core.notify import CollectingNotifier
    from scheduler.jobs import JobContext, nav_marks_and_fees

    assert isinstance(sqlite_db.clock, SimulatedClock)
    sqlite_db.clock.set(BIRTH)
    _token_with_agent(sqlite_db, _spec("lending"), "STRAT-TEST-C-001")
    slot = dt.datetime.combine(BIRTH.date() + dt.timedelta(days=3), dt.time(0, 30), dt.UTC)
    sqlite_db.clock.set(slot)
    jc = JobContext(db=sqlite_db, notifier=CollectingNotifier(), hooks=job_hooks(Settings()))
    detail = nav_marks_and_fees(jc, slot)
    assert detail["marks"]["STRAT-TEST-C-001"]["marked"] == 3
    assert len(_navs(sqlite_db, "STRAT-TEST-C-001")) == 3
    assert violations(sqlite_db) == []
