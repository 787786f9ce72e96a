"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado and Zhu (2015), "The probability of backtest overfitting":

1. ``returns`` is a ``T x N`` matrix: the per-period (excess) returns of ``N`` trials on the same days.
2. Its rows are cut into ``S`` (even) contiguous blocks of equal length (the first ``T mod S`` rows
   are dropped so blocks are equal).
3. For every way of choosing ``S/2`` blocks as the in-sample set (the rest is out of sample):
   the trial with the best in-sample Sharpe ratio is found, its out-of-sample Sharpe is ranked among
   all trials' out-of-sample Sharpe ratios (rank 1 = worst, N = best), ``w = rank / (N + 1)`` and
   ``logit = ln(w / (1 - w))``.
4. PBO is the share of combinations whose logit is ``<= 0``: how often the in-sample winner is no
   better than the median out of sample. Pure noise gives about 0.5; a genuinely better trial, near 0.

Ties in out-of-sample Sharpe take their average rank. With ``S = 16`` there are 12,870 combinations.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from backtest.metrics.sharpe import NOISE_FLOOR


@dataclass(frozen=True)
class PboResult:
    pbo: float  # share of combinations with logit <= 0
    combinations: int
    partitions: int
    trials: int
    days_used: int
    median_logit: float


def block_sharpes(returns: np.ndarray, partitions: int) -> np.ndarray:
    """Per-block sums needed for Sharpe ratios of any union of blocks: (S, 3, N) of n, sum, sum sq."""
    t = returns.shape[0] - returns.shape[0] % partitions
    blocks = returns[returns.shape[0] - t :].reshape(partitions, t // partitions, returns.shape[1])
    n = np.full((partitions, returns.shape[1]), t // partitions, dtype=float)
    return np.stack([n, blocks.sum(axis=1), (blocks**2).sum(axis=1)], axis=1)


def _sharpe(stats: np.ndarray) -> np.ndarray:
    """Sharpe ratios (ddof=1) from stacked (count, sum, sum of squares) per trial.

    ``q / n - mean^2`` cancels: for a constant block it leaves float noise of order ``eps * q / n``
    (a std near 1e-10 for 1 % daily returns, far above :data:`NOISE_FLOOR`), which would give a
    constant block a Sharpe ratio of ~1e8. A variance within a few ulps of that noise counts as 0.
    """
    n, s, q = stats
    mean = s / n
    var = np.maximum(q / n - mean**2, 0.0) * n / (n - 1)
    std = np.sqrt(np.where(var > 8.0 * np.finfo(float).eps * q / (n - 1), var, 0.0))
    return np.where(std > NOISE_FLOOR, mean / np.where(std > 0, std, 1.0), 0.0)


def _rank(values: np.ndarray, index: int) -> float:
    """1-based ascending rank of ``values[index]`` (ties: average rank)."""
    below = float(np.sum(values < values[index]))
    equal = float(np.sum(values == values[index]))
    return below + (equal + 1.0) / 2.0


def probability_of_backtest_overfitting(returns: np.ndarray, partitions: int = 16) -> PboResult:
    """PBO of the trials whose per-period returns are the columns of ``returns`` (see module doc)."""
    if returns.ndim != 2 or returns.shape[1] < 2:
        raise ValueError("PBO needs a T x N matrix with at least two trials")
    if partitions < 2 or partitions % 2:
        raise ValueError("the number of partitions must be even and at least 2")
    if returns.shape[0] < 2 * partitions:
        raise ValueError(f"PBO with {partitions} partitions needs at least {2 * partitions} days")
    stats = block_sharpes(np.asarray(returns, dtype=float), partitions)
    total = stats.sum(axis=0)
    trials = returns.shape[1]
    logits: list[float] = []
    for chosen in combinations(range(partitions), partitions // 2):
        inside = stats[list(chosen)].sum(axis=0)
        best = int(np.argmax(_sharpe(inside)))
        outside = _sharpe(total - inside)
        w = _rank(outside, best) / (trials + 1.0)
        logits.append(float(np.log(w / (1.0 - w))))
    values = np.asarray(logits)
    return PboResult(
        pbo=float(np.mean(values <= 0.0)),
        combinations=len(values),
        partitions=partitions,
        trials=trials,
        days_used=returns.shape[0] - returns.shape[0] % partitions,
        median_logit=float(np.median(values)),
    )
