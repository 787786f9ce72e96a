"""Performance metrics of one daily equity curve (see :mod:`backtest.metrics` for conventions)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.data.riskfree import RiskFree, zero_risk_free
from backtest.metrics.sharpe import (
    Moments,
    deflated_sharpe,
    moments,
    psr_from_moments,
    sortino_per_period,
)

DAYS_PER_YEAR = 365
METRIC_KEYS = (
    "total_return", "excess_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar",
    "n_trades", "exposure", "hodl_return", "psr", "dsr", "days",
)  # fmt: skip


@dataclass(frozen=True)
class Metrics:
    total_return: float
    excess_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    n_trades: int
    exposure: float
    hodl_return: float
    psr: float
    dsr: float
    days: int
    turnover: float
    moments: Moments  # per-day excess-return Sharpe, skew, kurtosis (for the gate and the DSR)
    risk_free_name: str
    risk_free_mean: float | None  # mean annual yield over the window's days (None: no rate at all)
    risk_free_missing_days: int  # days inside the window without a risk-free rate (counted as 0)

    def as_dict(self) -> dict[str, Any]:
        """The CLI metric keys, in :data:`METRIC_KEYS` order (JSON-safe)."""
        full = asdict(self)
        return {k: full[k] for k in METRIC_KEYS}


def daily_returns(equity: pd.Series) -> np.ndarray:
    values = np.asarray(equity, dtype=float)
    if len(values) < 2 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("equity needs at least 2 finite positive values")
    out: np.ndarray = values[1:] / values[:-1] - 1.0
    return out


def excess_returns(equity: pd.Series, risk_free: RiskFree) -> tuple[np.ndarray, int]:
    """Daily returns minus the risk-free return of the same day, and days without a rate."""
    rf, missing = risk_free.per_day(pd.DatetimeIndex(equity.index))
    return daily_returns(equity) - rf, missing


def compute_metrics(
    equity: pd.Series,
    *,
    invested: pd.Series | None = None,
    fills: list[dict[str, Any]] | None = None,
    benchmark: pd.Series | None = None,
    risk_free: RiskFree | None = None,
    n_trials: int = 1,
    sharpe_variance: float | None = None,
) -> Metrics:
    """Every metric of a daily equity curve indexed by UTC dates (module docstring: conventions)."""
    risk_free = risk_free or zero_risk_free()
    values = np.asarray(equity, dtype=float)
    r = daily_returns(equity)
    rf, missing = risk_free.per_day(pd.DatetimeIndex(equity.index))
    e = r - rf
    days = len(values)
    total = values[-1] / values[0] - 1.0
    years = (days - 1) / DAYS_PER_YEAR
    cagr = (1.0 + total) ** (1.0 / years) - 1.0 if total > -1 else -1.0
    mdd = max_drawdown(values)
    traded = sum(float(f["value"]) for f in fills or [])
    exposure = float(np.mean(np.asarray(invested, dtype=float) / values)) if invested is not None else 0.0
    bench = np.asarray(benchmark, dtype=float) if benchmark is not None else values
    m = moments(e)
    annual = math.sqrt(DAYS_PER_YEAR)
    mean_rf = risk_free.mean_annual(pd.DatetimeIndex(equity.index))
    return Metrics(
        total_return=_f(total),
        excess_return=_f(total - (float(np.prod(1.0 + rf)) - 1.0)),
        cagr=_f(cagr),
        volatility=_f(float(np.std(r, ddof=1)) * annual if len(r) > 1 else 0.0),
        sharpe=_f(m.sharpe * annual),
        sortino=_f(sortino_per_period(e) * annual),
        max_drawdown=_f(mdd),
        calmar=_f(cagr / mdd if mdd > 0 else 0.0),
        n_trades=len(fills or []),
        exposure=_f(exposure),
        hodl_return=_f(bench[-1] / bench[0] - 1.0),
        psr=_f(psr_from_moments(m, 0.0)),
        dsr=_f(deflated_sharpe(e, n_trials, sharpe_variance)),
        days=days,
        turnover=_f(traded / float(np.mean(values)) / years if years > 0 else 0.0),
        moments=m,
        risk_free_name=risk_free.name,
        risk_free_mean=None if mean_rf is None else _f(mean_rf),
        risk_free_missing_days=missing,
    )


def max_drawdown(values: np.ndarray) -> float:
    """Largest peak-to-trough fall of an equity curve, a positive fraction."""
    peaks = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / peaks))


def _f(x: float) -> float:
    """Round away float noise (stable JSON, equal across platforms) and keep values finite."""
    if not math.isfinite(x):
        return 0.0
    return round(float(x), 10)
