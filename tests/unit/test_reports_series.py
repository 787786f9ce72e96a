"""The chart series of the token and overview pages, against hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from core.db import Database
from core.models import NavMark, StrategyToken
from core.reports.platform import platform_aum_series
from core.reports.tokens import benchmark_series, gate_rate, tbill_series
from tests.e2e.chat_support import make_token

D = Decimal


def _mark(day: int, nav: str, bench: str = "0", aum: str = "0", token_id: int = 1) -> NavMark:
    return NavMark(
        token_id=token_id,
        as_of=date(2025, 1, day),
        daily_return=D(0),
        benchmark_return=D(bench),
        aum_before=D(aum),
        aum_after=D(aum),
        nav_per_token=D(nav),
        circulating_supply=D(1),
        created_at=datetime(2025, 1, day, tzinfo=UTC),
    )


def test_benchmark_starts_at_the_first_nav_and_compounds_later_returns() -> None:
    marks = [_mark(1, "2.00", "0.50"), _mark(2, "2.20", "0.05"), _mark(4, "2.10", "-0.02")]
    # The first mark's own return is before the chart starts: 2.00, 2.00 x 1.05, 2.10 x 0.98.
    assert benchmark_series(marks) == [
        (date(2025, 1, 1), D("2.00")),
        (date(2025, 1, 2), D("2.1000")),
        (date(2025, 1, 4), D("2.058000")),
    ]
    assert benchmark_series([]) == []


def test_tbill_accrues_y_over_365_per_calendar_day() -> None:
    marks = [_mark(1, "1"), _mark(2, "1.3"), _mark(4, "0.9")]
    series = tbill_series(marks, D("0.0365"))  # 0.0001 a day
    assert [v for _, v in series] == [D(1), D("1.0001"), D("1.000300030001")]


def test_gate_rate_reads_the_reports_mean_yield() -> None:
    assert gate_rate({"risk_free": {"mean_annual_rate": 0.042}}) == D("0.042")
    assert gate_rate({"risk_free": {"name": "none (synthetic market): 0 %"}}) is None
    assert gate_rate({"risk_free": {"name": "none (synthetic market): 0 %", "mean_annual_rate": 0.0}}) is None
    assert gate_rate(None) is None
    assert gate_rate({"risk_free": {"mean_annual_rate": True}}) is None


def test_platform_aum_carries_a_tokens_last_mark_over_a_missed_day(sqlite_db: Database) -> None:
    make_token(sqlite_db, "STRAT-A-001")
    make_token(sqlite_db, "STRAT-B-001")
    with sqlite_db.uow() as uow:
        a, b = (
            uow.session.query(StrategyToken).filter_by(symbol=s).one().id
            for s in ("STRAT-A-001", "STRAT-B-001")
        )
        uow.session.add_all(
            [
                _mark(1, "1", aum="100", token_id=a),
                _mark(2, "1", aum="110", token_id=a),
                _mark(2, "1", aum="50", token_id=b),
                _mark(3, "1", aum="60", token_id=b),
            ]
        )
        uow.commit()
    with sqlite_db.uow(read_only=True) as uow:
        series = platform_aum_series(uow.session)
    # Day 1: A 100; day 2: A 110 + B 50; day 3: A (no mark, still 110) + B 60.
    assert series == [(date(2025, 1, 1), D(100)), (date(2025, 1, 2), D(160)), (date(2025, 1, 3), D(170))]


def test_lifecycle_details_read_like_numbers_people_use() -> None:
    from core.reports.tokens import detail_text

    shown = detail_text({"total_supply": "100000000.000000000000000000", "agent_id": None, "days": 30,
                         "reason": "drawdown 21.3% > 20%"})
    assert shown == "total supply: 100,000,000, days: 30, reason: drawdown 21.3% > 20%"


def test_token_rows_measure_from_the_first_mark(any_db: Database) -> None:
    from core.reports.tokens import token_rows

    make_token(any_db, "STRAT-A-001")
    make_token(any_db, "STRAT-B-001")
    with any_db.uow() as uow:
        a = uow.session.query(StrategyToken).filter_by(symbol="STRAT-A-001").one()
        a.aum = D("125")  # 100 seed units circulate: NAV 1.25
        uow.session.add_all([_mark(2, "1.10", token_id=a.id), _mark(1, "1.00", token_id=a.id)])
        uow.commit()
    with any_db.uow(read_only=True) as uow:
        rows = {r.symbol: r for r in token_rows(uow.session)}
    assert rows["STRAT-A-001"].since_first_mark == D("0.25") and rows["STRAT-A-001"].marks == 2
    assert rows["STRAT-A-001"].first_mark == date(2025, 1, 1) and rows["STRAT-A-001"].nav == D("1.25")
    assert rows["STRAT-B-001"].since_first_mark is None and rows["STRAT-B-001"].marks == 0
