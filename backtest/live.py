"""Live NAV marking: a strategy token's NAV follows its TreasuryAgent run forward on market data.

The daily return marked for a token on day *d* is its agent's equity change on *d* in a backtest
that starts (flat, in cash) on the token's birth day and ends on *d*. No rule can read a future
bar (``tests/unit/test_backtest.py::test_no_look_ahead``), so one run over ``[birth, d]`` yields the
same returns for every earlier day as the runs on those days did: a missed day is caught up exactly.
The benchmark return (buy-and-hold of the traded asset) is the performance-fee hurdle.

**Stale tokens.** A day without market data is never marked (no flat NAV is invented). When the
data a token needs stopped more than ``settings.stale_after_days`` before the marked day, the
token is stale: it is wound down like a kill-switch retirement (:func:`core.tokens.retire_stale_in`:
holders redeemed at NAV and told through the notifier).

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
from backtest.plan import needed_assets, needed_markets
from core import ledger
from core.config import Settings, get_settings
from core.db import Database
from core.errors import ArenaError
from core.models import StrategyToken, TokenStatus, TreasuryAgent
from core.notify import Notifier
from core.spec import load_spec
from core.tokens import retire_stale_in

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


def last_data_day(spec: dict[str, Any], market: MarketData) -> dt.date | None:
    """The last day on which every price or rate series the spec needs has data."""
    loaded = load_spec(spec)
    try:
        _first, last = market.span(needed_assets(loaded), needed_markets(loaded))
    except ArenaError:
        return None
    return last.date()


def _as_decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def mark_token_navs(
    db: Database,
    day: dt.date,
    market: MarketData,
    *,
    notifier: Notifier | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Mark every live token with an agent up to ``day`` (catching up missed days, in order), and
    wind down the tokens whose data stopped (see the module docstring).

    Returns ``{symbol: {"marked": n, "last": iso day}}``, ``{symbol: {"skipped": reason}}`` or
    ``{symbol: {"retired": reason}}``. Safe to call again: marks are idempotent per (token, day).
    """
    settings = settings or get_settings()
    with db.uow(read_only=True) as uow:
        rows = uow.session.execute(
            select(
                StrategyToken.symbol,
                StrategyToken.last_mark_date,
                StrategyToken.activated_at,
                StrategyToken.created_at,
                TreasuryAgent.spec,
            )
            .join(TreasuryAgent, TreasuryAgent.id == StrategyToken.agent_id)
            .where(StrategyToken.status.in_([TokenStatus.ACTIVE, TokenStatus.PROVING]))
            .order_by(StrategyToken.id)
        ).all()
    detail: dict[str, Any] = {}
    for symbol, last_mark, activated_at, created_at, spec in rows:
        last_data = last_data_day(spec, market)
        if last_data is not None and (day - last_data).days > settings.stale_after_days:
            detail[symbol] = _wind_down(db, symbol, last_data, notifier)
            continue
        birth = (activated_at or created_at).date()
        detail[symbol] = _mark_one(db, symbol, spec, market, birth, last_mark, day)
    return detail


def _wind_down(db: Database, symbol: str, last_data: dt.date, notifier: Notifier | None) -> dict[str, Any]:
    with db.uow() as uow:
        result = retire_stale_in(uow.session, uow.clock.now(), symbol, last_data, notifier=notifier)
        uow.commit()
    log.warning("token %s is stale (data stopped %s): wound down, %s holder(s) redeemed", symbol, last_data,
                result.holders_redeemed)  # fmt: skip
    return {"retired": f"stale since {last_data.isoformat()}", "holders_redeemed": result.holders_redeemed}


def _mark_one(
    db: Database,
    symbol: str,
    spec: dict[str, Any],
    market: MarketData,
    birth: dt.date,
    last_mark: dt.date | None,
    day: dt.date,
) -> dict[str, Any]:
    first = (last_mark + dt.timedelta(days=1)) if last_mark else birth + dt.timedelta(days=1)
    if first > day:
        return {"marked": 0, "last": (last_mark or birth).isoformat()}
    try:
        returns, bench = agent_daily_returns(spec, market, birth, day)
    except (ArenaError, ValueError) as error:
        log.warning("cannot mark %s for %s: %s", symbol, day, error)
        return {"skipped": str(error)[:200]}
    marked = 0
    current = first
    while current <= day:
        if current in returns.index:  # a day without data is not marked (no flat NAV)
            b = bench.get(current, 0.0)
            ledger.mark_nav(
                db.uow(),
                symbol,
                current,
                _as_decimal(returns[current]),
                benchmark_return=_as_decimal(0.0 if pd.isna(b) else b),
            )
            marked += 1
        current += dt.timedelta(days=1)
    return {"marked": marked, "last": day.isoformat()}
