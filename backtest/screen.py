"""Screen many variants with the vector engine on one common window: the trials of a text.

:func:`screen` runs every spec on the same days (the latest start and earliest end any of them
allows), so their daily excess returns line up for the walk-forward check and PBO. Variants that
need the same series and warm-up share one prepared input and one indicator cache. A spec the
vector engine cannot express is run by the Backtrader agent instead (exact, slower); a spec whose
data is missing becomes a trial with an error, never a silent gap.

Statistics per trial are those of :mod:`backtest.metrics`: excess returns over the market's
risk-free rate, Sharpe per day and annualised (365 days), total return, max drawdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from backtest.data.market import DataError, MarketData
from backtest.engine import COMMISSION, INITIAL_CASH, SLIPPAGE, day, run_backtest
from backtest.inputs import BacktestInputs, prepare, window
from backtest.metrics import DAYS_PER_YEAR, max_drawdown, sharpe_per_period
from backtest.plan import needed_assets, needed_markets, warmup_bars
from backtest.vector import ArraysCache, VectorUnsupported, frame_arrays
from backtest.vector.engine import run_spec
from core.errors import ArenaError
from core.spec import StrategySpec, load_spec


@dataclass(frozen=True)
class TrialResult:
    """One variant's outcome on the common window (``error`` set when it could not run)."""

    index: int
    label: str
    engine: str = "vector"
    sharpe: float | None = None  # annualised, of excess returns
    sharpe_per_day: float | None = None
    total_return: float | None = None
    max_drawdown: float | None = None
    trades: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "sharpe": _r(self.sharpe),
            "sharpe_per_day": _r(self.sharpe_per_day),
            "total_return": _r(self.total_return),
            "max_drawdown": _r(self.max_drawdown),
            "trades": self.trades,
            "error": self.error,
        }


@dataclass
class Screen:
    """Every trial's result, and the daily excess returns of those that ran (columns = index)."""

    trials: list[TrialResult]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    excess: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ran(self) -> list[TrialResult]:
        return [t for t in self.trials if t.ok]

    def best(self) -> TrialResult | None:
        """The trial with the highest excess Sharpe (ties: the earliest variant)."""
        ran = self.ran
        return max(ran, key=lambda t: (t.sharpe or 0.0, -t.index)) if ran else None

    def sharpe_variance(self) -> float | None:
        """Variance (ddof=1) of the per-day Sharpe ratios across the trials that ran."""
        values = [t.sharpe_per_day for t in self.ran if t.sharpe_per_day is not None]
        return float(np.var(values, ddof=1)) if len(values) > 1 else None


def screen(
    specs: Sequence[StrategySpec | dict[str, Any]],
    market: MarketData,
    start: Any = None,
    end: Any = None,
    *,
    labels: Sequence[str] | None = None,
    keep_returns: bool = True,
) -> Screen:
    """Run every spec on the window all of them share (see the module docstring)."""
    loaded = [load_spec(s) for s in specs]
    names = list(labels) if labels is not None else [s.name for s in loaded]
    bounds: dict[int, tuple[pd.Timestamp, pd.Timestamp]] = {}
    errors: dict[int, str] = {}
    for i, spec in enumerate(loaded):
        try:
            bounds[i] = window(spec, market, day(start), day(end), warmup_bars(spec))
        except ArenaError as exc:
            errors[i] = str(exc)
    if not bounds:
        return Screen([TrialResult(i, names[i], error=errors[i]) for i in range(len(loaded))], None, None)
    lo = max(b[0] for b in bounds.values())
    hi = min(b[1] for b in bounds.values())
    if lo >= hi:
        why = f"the variants share no window ({lo.date()} .. {hi.date()})"
        failed = [TrialResult(i, names[i], error=errors.get(i, why)) for i in range(len(loaded))]
        return Screen(failed, None, None)
    results, columns = _run_groups(loaded, names, market, lo, hi, sorted(bounds), keep_returns)
    results.update({i: TrialResult(i, names[i], error=why) for i, why in errors.items()})
    excess = pd.DataFrame(columns) if keep_returns and columns else pd.DataFrame()
    return Screen([results[i] for i in range(len(loaded))], lo, hi, excess)


def _run_groups(
    specs: list[StrategySpec],
    names: list[str],
    market: MarketData,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    indices: list[int],
    keep_returns: bool,
) -> tuple[dict[int, TrialResult], dict[int, pd.Series]]:
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in indices:
        spec = specs[i]
        key = (tuple(needed_assets(spec)), tuple(needed_markets(spec)), warmup_bars(spec))
        groups.setdefault(key, []).append(i)
    results: dict[int, TrialResult] = {}
    columns: dict[int, pd.Series] = {}
    for members in groups.values():
        first = specs[members[0]]
        try:
            inputs = prepare(first, market, lo, hi, warmup_bars(first))
        except ArenaError as exc:
            results.update({i: TrialResult(i, names[i], error=str(exc)) for i in members})
            continue
        cache = ArraysCache(frame_arrays(inputs))
        live = pd.DatetimeIndex(inputs.calendar[inputs.calendar.searchsorted(inputs.lo) :])
        rf = inputs.risk_free.per_day(live)[0]  # the same days for the whole group
        for i in members:
            results[i], excess = _one(i, names[i], replace(inputs, spec=specs[i]), market, cache, rf)
            if excess is not None and keep_returns:
                columns[i] = pd.Series(excess, index=live[1:], name=i)
    return results, columns


def _one(
    i: int, label: str, inputs: BacktestInputs, market: MarketData, cache: ArraysCache, rf: np.ndarray
) -> tuple[TrialResult, np.ndarray | None]:
    """One variant: its result and daily excess returns (None when it could not run)."""
    engine = "vector"
    try:
        bars = run_spec(inputs, INITIAL_CASH, COMMISSION, SLIPPAGE, cache)
        equity, trades = bars.equity[~np.isnan(bars.equity)], len(bars.fills)
    except VectorUnsupported:
        engine = "backtrader"
        agent = run_backtest(inputs.spec, market, inputs.lo.date(), inputs.hi.date())
        equity, trades = agent.equity.to_numpy(), len(agent.trades)
    except (DataError, ArenaError) as exc:
        return TrialResult(i, label, error=str(exc)), None
    if len(equity) < 3 or len(equity) != len(rf) + 1:
        return TrialResult(i, label, error="fewer than 3 days in the window"), None
    e = equity[1:] / equity[:-1] - 1.0 - rf
    sr = sharpe_per_period(e)
    result = TrialResult(
        i,
        label,
        engine,
        sharpe=sr * math.sqrt(DAYS_PER_YEAR),
        sharpe_per_day=sr,
        total_return=float(equity[-1] / equity[0] - 1.0),
        max_drawdown=max_drawdown(equity),
        trades=trades,
    )
    return result, e


def screen_many(
    specs: Sequence[StrategySpec], market: MarketData, start: Any, end: Any, executor: Executor, chunks: int
) -> list[TrialResult]:
    """Screen ``specs`` in ``chunks`` parallel pieces (summary statistics only, no return matrix).

    Each piece screens its specs on its own common window; for one window across all, screen the
    specs first with :func:`window` bounds or pass ``start``/``end``.
    """
    size = max(1, math.ceil(len(specs) / chunks))
    parts = [list(specs[k : k + size]) for k in range(0, len(specs), size)]
    futures = [executor.submit(_screen_part, part, market, start, end) for part in parts]
    out: list[TrialResult] = []
    for offset, future in zip(range(0, len(specs), size), futures, strict=True):
        out += [replace(t, index=t.index + offset) for t in future.result()]
    return out


def _screen_part(specs: list[StrategySpec], market: MarketData, start: Any, end: Any) -> list[TrialResult]:
    return screen(specs, market, start, end, keep_returns=False).trials


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 10)
