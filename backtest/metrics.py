"""Performance metrics from a daily equity curve, with numpy.

Conventions: daily simple returns ``r_t = E_t / E_{t-1} - 1``; a 365-day year (crypto trades every
day); risk-free rate 0 (idle cash already earns its lending rate inside the equity curve).

* ``total_return`` E_end / E_start - 1; ``cagr`` (1 + total) ** (365 / (days - 1)) - 1
* ``volatility`` sample std of daily returns * sqrt(365)
* ``sharpe`` mean / sample std * sqrt(365) (0 when the std is 0); ``sortino`` uses the downside
  deviation sqrt(mean(min(r, 0)^2))
* ``max_drawdown`` largest peak-to-trough fall of equity, a positive fraction; ``calmar`` cagr / mdd
* ``n_trades`` fills (plus yield switches); ``exposure`` mean invested value / equity;
  ``turnover`` annualised traded value / mean equity
* ``hodl_return`` total return of the buy-and-hold benchmark over the same days
* ``psr`` probabilistic Sharpe ratio P(true SR > 0) (Bailey & López de Prado 2012) from the
  per-day Sharpe with skew/kurtosis correction; ``dsr`` the deflated Sharpe ratio: PSR against the
  expected maximum Sharpe of ``n_trials`` unskilled strategies (Bailey & López de Prado 2014)
* ``days`` number of daily equity observations

All values are finite floats (or ints), safe to store as JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365
EULER_GAMMA = 0.5772156649015329
METRIC_KEYS = (
    "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar",
    "n_trades", "exposure", "hodl_return", "psr", "dsr", "days",
)  # fmt: skip
_N = NormalDist()


@dataclass(frozen=True)
class Metrics:
    total_return: float
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

    def as_dict(self) -> dict[str, Any]:
        """The CLI metric keys (without turnover), in :data:`METRIC_KEYS` order."""
        full = asdict(self)
        return {k: full[k] for k in METRIC_KEYS}


def compute_metrics(
    equity: pd.Series,
    *,
    invested: pd.Series | None = None,
    fills: list[dict[str, Any]] | None = None,
    benchmark: pd.Series | None = None,
    n_trials: int = 1,
) -> Metrics:
    values = np.asarray(equity, dtype=float)
    if len(values) < 2 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("equity needs at least 2 finite positive values")
    r = values[1:] / values[:-1] - 1.0
    days = len(values)
    total = values[-1] / values[0] - 1.0
    years = (days - 1) / DAYS_PER_YEAR
    cagr = (1.0 + total) ** (1.0 / years) - 1.0 if total > -1 else -1.0
    std = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    sr_day = float(np.mean(r)) / std if std > 0 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    mdd = max_drawdown(values)
    fills = fills or []
    traded = sum(float(f["value"]) for f in fills)
    exposure = float(np.mean(np.asarray(invested, dtype=float) / values)) if invested is not None else 0.0
    bench = np.asarray(benchmark, dtype=float) if benchmark is not None else values
    return Metrics(
        total_return=_f(total),
        cagr=_f(cagr),
        volatility=_f(std * math.sqrt(DAYS_PER_YEAR)),
        sharpe=_f(sr_day * math.sqrt(DAYS_PER_YEAR)),
        sortino=_f(float(np.mean(r)) / downside * math.sqrt(DAYS_PER_YEAR) if downside > 0 else 0.0),
        max_drawdown=_f(mdd),
        calmar=_f(cagr / mdd if mdd > 0 else 0.0),
        n_trades=len(fills),
        exposure=_f(exposure),
        hodl_return=_f(bench[-1] / bench[0] - 1.0),
        psr=_f(probabilistic_sharpe(r, 0.0)),
        dsr=_f(deflated_sharpe(r, n_trials)),
        days=days,
        turnover=_f(traded / float(np.mean(values)) / years if years > 0 else 0.0),
    )


def max_drawdown(values: np.ndarray) -> float:
    peaks = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / peaks))


def _moments(r: np.ndarray) -> tuple[float, float, float]:
    """Per-period Sharpe, skewness and (non-excess) kurtosis of returns."""
    std = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    if std == 0:
        return 0.0, 0.0, 3.0
    z = (r - np.mean(r)) / np.std(r)
    return float(np.mean(r)) / std, float(np.mean(z**3)), float(np.mean(z**4))


def probabilistic_sharpe(r: np.ndarray, benchmark_sr: float) -> float:
    """P(true per-period Sharpe > ``benchmark_sr``) given skew and kurtosis of ``r``."""
    n = len(r)
    if n < 3:
        return 0.5
    sr, skew, kurt = _moments(r)
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if var <= 0 or (sr == 0 and benchmark_sr == 0):
        return 0.5 if sr == benchmark_sr else float(sr > benchmark_sr)
    return _N.cdf((sr - benchmark_sr) * math.sqrt(n - 1) / math.sqrt(var))


def expected_max_sharpe(n_trials: int, sr_std: float) -> float:
    """Expected maximum of ``n_trials`` per-period Sharpes of unskilled strategies."""
    if n_trials <= 1:
        return 0.0
    a = _N.inv_cdf(1.0 - 1.0 / n_trials)
    b = _N.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return sr_std * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b)


def deflated_sharpe(r: np.ndarray, n_trials: int) -> float:
    """PSR against the best Sharpe expected by luck among ``n_trials`` tries.

    The cross-trial variance of Sharpe is not known here, so the estimator's own sampling variance
    ``(1 - skew*SR + (kurt-1)/4*SR^2) / (n-1)`` stands in for it (a standard approximation).
    """
    n = len(r)
    if n < 3:
        return 0.5
    sr, skew, kurt = _moments(r)
    var = max(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2, 1e-12) / (n - 1)
    return probabilistic_sharpe(r, expected_max_sharpe(max(1, n_trials), math.sqrt(var)))


def _f(x: float) -> float:
    """Round away float noise (stable JSON, equal across platforms) and keep values finite."""
    if not math.isfinite(x):
        return 0.0
    return round(float(x), 10)
