"""Sharpe-family statistics of a return series: the one implementation of each.

All functions take **per-period excess returns** ``e_t = r_t - rf_t`` (see
:mod:`backtest.metrics` for how the risk-free rate enters) as a 1-d float array.

* :func:`sharpe_per_period` ``mean(e) / std(e, ddof=1)``; 0 when the excess returns do not vary
  (sample std at most :data:`NOISE_FLOOR`, i.e. the curve only tracks the risk-free rate up to float
  rounding): the ratio is undefined there and reporting noise / noise would be a random number.
* :func:`sortino_per_period` ``mean(e) / sqrt(mean(min(e, 0)^2))`` (target: the risk-free rate).
* :func:`probabilistic_sharpe` P(true per-period Sharpe > ``benchmark``), Bailey & López de Prado
  (2012): ``Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)]`` with ``T`` the number
  of returns, ``g3`` the skewness and ``g4`` the (non-excess, normal = 3) kurtosis of ``e``.
* :func:`expected_max_sharpe` the expected maximum per-period Sharpe of ``N`` unskilled trials whose
  Sharpe ratios have variance ``V`` across trials (Bailey & López de Prado 2014, eq. for SR0):
  ``sqrt(V) ((1 - gamma) Z^-1[1 - 1/N] + gamma Z^-1[1 - 1/(N e)])``, gamma the Euler-Mascheroni
  constant. ``V`` must be in per-period units (an annualised variance divided by periods per year).
* :func:`deflated_sharpe` the DSR: PSR against that expected maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
#: Per-period standard deviation below which excess returns count as constant (float rounding of
#: a curve that accrues exactly the risk-free rate is ~1e-16).
NOISE_FLOOR = 1e-12
_N = NormalDist()


@dataclass(frozen=True)
class Moments:
    """Per-period Sharpe, skewness and non-excess kurtosis of a return series, and its length."""

    sharpe: float
    skew: float
    kurtosis: float
    n: int


def sharpe_per_period(e: np.ndarray) -> float:
    """``mean(e) / std(e, ddof=1)``; 0 when the excess returns do not vary (see the module doc)."""
    std = float(np.std(e, ddof=1)) if len(e) > 1 else 0.0
    return float(np.mean(e)) / std if std > NOISE_FLOOR else 0.0


def moments(e: np.ndarray) -> Moments:
    """Sharpe (ddof=1 std), skewness and kurtosis (population moments, normal kurtosis = 3)."""
    n = len(e)
    sharpe = sharpe_per_period(e)
    if sharpe == 0.0 and (n < 2 or float(np.std(e, ddof=1)) <= NOISE_FLOOR):
        return Moments(0.0, 0.0, 3.0, n)
    z = (e - np.mean(e)) / np.std(e)
    return Moments(sharpe, float(np.mean(z**3)), float(np.mean(z**4)), n)


def sortino_per_period(e: np.ndarray) -> float:
    if len(e) < 2 or float(np.std(e, ddof=1)) <= NOISE_FLOOR:
        return 0.0
    downside = float(np.sqrt(np.mean(np.minimum(e, 0.0) ** 2)))
    return float(np.mean(e)) / downside if downside > 0 else 0.0


def sharpe_std_error(sr: float, skew: float, kurtosis: float, n: int) -> float:
    """Standard error of a per-period Sharpe estimate from ``n`` returns (non-normal returns)."""
    var = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    return math.sqrt(max(var, 0.0) / (n - 1)) if n > 1 else math.inf


def psr_from_moments(m: Moments, benchmark: float) -> float:
    """PSR from already computed moments (see :func:`probabilistic_sharpe`)."""
    if m.n < 3:
        return 0.5
    se = sharpe_std_error(m.sharpe, m.skew, m.kurtosis, m.n)
    if se == 0 or not math.isfinite(se):
        return 0.5 if m.sharpe == benchmark else float(m.sharpe > benchmark)
    return _N.cdf((m.sharpe - benchmark) / se)


def probabilistic_sharpe(e: np.ndarray, benchmark: float = 0.0) -> float:
    """P(true per-period Sharpe > ``benchmark``) given the skew and kurtosis of ``e``."""
    return psr_from_moments(moments(e), benchmark)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` unskilled trials (0 for one trial)."""
    if n_trials <= 1 or sharpe_variance <= 0:
        return 0.0
    a = _N.inv_cdf(1.0 - 1.0 / n_trials)
    b = _N.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b)


def deflated_sharpe(e: np.ndarray, n_trials: int, sharpe_variance: float | None) -> float:
    """DSR of the chosen trial's excess returns ``e`` among ``n_trials`` trials.

    ``sharpe_variance`` is the variance of the per-period Sharpe ratios across the trials. When it is
    unknown (``None``: a lone backtest told only how many trials there were), the estimator's own
    sampling variance ``(1 - g3 SR + (g4 - 1)/4 SR^2) / (T - 1)`` stands in for it.
    """
    m = moments(e)
    if m.n < 3:
        return 0.5
    if sharpe_variance is None:
        sharpe_variance = sharpe_std_error(m.sharpe, m.skew, m.kurtosis, m.n) ** 2
    return psr_from_moments(m, expected_max_sharpe(max(1, n_trials), sharpe_variance))
