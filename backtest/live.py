"""Live NAV marking: a strategy token's NAV follows its TreasuryAgent run forward on market data.

The daily return marked for a token on day *d* is its agent's equity change on *d* in a backtest
that starts (flat, in cash) on the token's birth day and ends on *d*. No rule can read a future
bar (``tests/unit/test_backtest_lookahead*``), so one run over ``[birth, d]`` yields the same
returns for every earlier day as the runs on those days did: a missed day is caught up exactly.
The benchmark return (buy-and-hold of the traded asset) is the performance-fee hurdle.

Returns are floats from the simulation; they become ``Decimal`` through their shortest decimal
text (``repr``), never by arithmetic mixing, and the ledger quantises them to 18 places.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select

from backtest.data import DataError, MarketData
from backtest.engine import run_backtest
from core import ledger
from core.db import Database
from core.errors import ArenaError
from core.models import StrategyToken, TokenStatus, TreasuryAgent

log = logging.getLogger(__name__)


def agent_daily_returns(
    spec: dict[str, Any], market: MarketData, start: dt.date, end: dt.date
) -> tuple[pd.Series, pd.Series]:
    """(strategy, benchmark) daily returns for ``(start, end]``, indexed by date."""
    result = run_backtest(spec, market, start=start, end=end)
    if not result.backtestable:
        raise DataError(f"{result.spec_name} is not backtestable: {'; '.join(result.gate_reasons)}")
    strategy = result.daily_returns
    benchmark = result.benchmark.pct_change().iloc[1:]
    to_dates = lambda s: pd.Series(s.to_numpy(), index=[ts.date() for ts in s.index])  # noqa: E731
    return to_dates(strategy), to_dates(benchmark)


def _as_decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))



def mark_token_navs(db: Database, day: dt.date, market: MarketData) -> dict[str, Any]:
    """Mark every live token with an agent up to ``day`` (catching up missed days, in order).

    Returns ``{symbol: {"marked": n, "last": iso day}}`` or ``{symbol: {"skipped": reason}}``.
    Safe to call again for the same day: marks are idempotent per (token, day).
    """
    with db.uow(read_only=True) as uow:
        rows = uow.session.execute(
            select(StrategyToken.symbol, StrategyToken.last_mark_date, StrategyToken.activated_at,
                   StrategyToken.created_at, TreasuryAgent.spec)
            .join(TreasuryAgent, TreasuryAgent.id == StrategyToken.agent_id)
            .where(StrategyToken.status.in_([TokenStatus.ACTIVE, TokenStatus.PROVING]))
            .order_by(StrategyToken.id)
        ).all()
    detail: dict[str, Any] = {}
    for symbol, last_mark, activated_at, created_at, spec in rows:
        birth = (activated_at or created_at).date()
        first = (last_mark + dt.timedelta(days=1)) if last_mark else birth + dt.timedelta(days=1)
        if first > day:
            detail[symbol] = {"marked": 0, "last": (last_mark or birth).isoformat()}
            continue
        try:
            returns, bench = agent_daily_returns(spec, market, birth, day)
        except (ArenaError, ValueError) as error:
            log.warning("cannot mark %s for %s: %s", symbol, day, error)
            detail[symbol] = {"skipped": str(error)[:200]}
            continue
        marked = 0
        current = first
        while current <= day:
            if current in returns.index:
                b = bench.get(current, 0.0)
                ledger.mark_nav(db.uow(), symbol, current, _as_decimal(returns[current]),
                                benchmark_return=_as_decimal(0.0 if pd.isna(b) else b))
                marked += 1
            current += dt.timedelta(days=1)
        detail[symbol] = {"marked": marked, "last": day.isoformat()}
    return detail
