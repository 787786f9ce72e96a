"""Paper trading: one day at a time on an injectable clock, NAV marks, verdict after 30 days."""

from __future__ import annotations

import datetime as dt

import pytest

from backtest import PaperTrader, load_market, run_backtest
from backtest.examples import example_specs
from core.clock import SimulatedClock
from core.config import Settings

END = dt.date(2022, 6, 30)


def trader(name: str, settings: Settings | None = None) -> tuple[PaperTrader, SimulatedClock]:
    spec = next(s for s in example_specs() if s.name == name)
    clock = SimulatedClock(dt.datetime(2022, 7, 1, 12, tzinfo=dt.UTC))
    return PaperTrader(spec, load_market(None), END, clock, settings=settings), clock


def test_advances_one_day_at_a_time_and_passes() -> None:
    paper, clock = trader("USDC supplied to Compound")
    assert paper.advance() == []  # 2022-07-01 is not over yet
    clock.advance(dt.timedelta(days=1))
    marks = paper.advance()
    assert [d for d, _ in marks] == [dt.date(2022, 7, 1)]
    assert marks[0][1] > 1.0  # a day of lending interest
    assert paper.status().state == "running"
    clock.advance(dt.timedelta(days=40))
    paper.advance()
    status = paper.status()
    assert status.days == 30 and status.state == "passed", status.reasons
    assert len(paper.nav_series()) == 30 and max(paper.nav) == dt.date(2022, 7, 30)


def test_paper_nav_matches_a_backtest_over_the_same_days() -> None:
    paper, clock = trader("BTC golden cross with Aave cash parking")
    clock.set(dt.datetime(2022, 7, 11, tzinfo=dt.UTC))
    paper.advance()
    direct = run_backtest(paper.spec, load_market(None), END, dt.date(2022, 7, 10))
    nav = direct.equity / direct.equity.iloc[0]
    assert [round(v, 9) for v in paper.nav_series().to_numpy()] == [round(v, 9) for v in nav.iloc[1:]]


def test_fails_with_reason_on_drawdown() -> None:
    strict = Settings(gate_max_drawdown=0.0001)
    paper, clock = trader("BTC/ETH 60/40 index", strict)
    clock.advance(dt.timedelta(days=60))
    paper.advance()
    status = paper.status()
    assert status.state == "failed"
    assert "drawdown" in status.reasons[0]
    assert status.as_dict()["days"] == 30


def test_waits_for_data() -> None:
    spec = next(s for s in example_specs() if s.family.value == "lending")
    market = load_market(None)
    last = market.rate("compound:USDC").index[-1].date()
    clock = SimulatedClock(dt.datetime.combine(last, dt.time(), dt.UTC) + dt.timedelta(days=10))
    paper = PaperTrader(spec, market, last - dt.timedelta(days=3), clock)
    assert len(paper.advance()) == 3  # then the data ends
    assert paper.status().state == "running"


@pytest.mark.parametrize("days", [0])
def test_no_marks_before_window(days: int) -> None:
    paper, _ = trader("USDC supplied to Compound")
    assert paper.status().days == days and paper.nav_series().empty
