"""Fan backtests out over a ``concurrent.futures.Executor``.

``run_many(specs, data)`` uses a local process pool by default; any Executor works unchanged, e.g.
``distributed.Client(...).get_executor()`` for a Dask cluster. Each task carries only the series its
spec needs (a few hundred KB), not the whole market. ``data`` may also be a path or None, in which
case each worker loads the market itself (cached once per worker process).

A spec that fails (missing data, too short a window) yields a result with ``backtestable=False``
and the reason, so one bad spec never sinks a batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from backtest.data import MarketData, load_market
from backtest.engine import BacktestResult, run_backtest
from backtest.plan import needed_assets, needed_markets
from backtest.result import not_backtestable
from core.config import Settings
from core.errors import ArenaError
from core.spec import StrategySpec, load_spec

MarketArg = MarketData | str | Path | None


def run_many(
    specs: Sequence[StrategySpec | dict[str, Any]],
    data: MarketArg = None,
    executor: Executor | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    n_trials: int | None = None,
    settings: Settings | None = None,
    max_workers: int | None = None,
) -> list[BacktestResult]:
    """Backtest every spec; results in input order. ``n_trials`` defaults to ``len(specs)``."""
    loaded = [load_spec(s) for s in specs]
    trials = n_trials if n_trials is not None else max(1, len(loaded))
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=max_workers or min(2, os.cpu_count() or 1))
    try:
        futures = [
            pool.submit(_task, spec, _payload(spec, data), start, end, trials, settings) for spec in loaded
        ]
        return [f.result() for f in futures]
    finally:
        if own:
            pool.shutdown()


def _payload(spec: StrategySpec, data: MarketArg) -> MarketData | str | None:
    if not isinstance(data, MarketData):
        return None if data is None else str(data)
    try:
        return data.subset(needed_assets(spec), needed_markets(spec))
    except ArenaError:
        return data


def _task(
    spec: StrategySpec,
    data: MarketData | str | None,
    start: str | None,
    end: str | None,
    n_trials: int,
    settings: Settings | None,
) -> BacktestResult:
    try:
        market = data if isinstance(data, MarketData) else load_market(data)
        return run_backtest(spec, market, start, end, n_trials=n_trials, settings=settings)
    except ArenaError as exc:
        return not_backtestable(spec, str(exc))
