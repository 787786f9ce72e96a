"""Turn a table of token NAV prices into optimizer inputs, explaining every exclusion.

Input: a ``pandas.DataFrame`` of NAV per token (USD per token, float is fine here — these are
statistics, never balances), indexed by day in ascending order, one column per token symbol; NaN
where a token had no NAV yet. Output: :class:`Prepared` — the eligible symbols, their blended
annualised expected returns (``mu``), the Ledoit-Wolf shrunk annualised covariance (``cov``) over
their common recent window, and a plain-language reason for each token left out.

Conventions: daily simple returns ``nav_t / nav_{t-1} - 1``; annualised mean = daily mean x 365;
annualised covariance = daily covariance x 365 (PyPortfolioOpt's ``frequency``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pypfopt import risk_models

from core.optimizer.config import OptimizerConfig

#: Daily return standard deviations below this are treated as "the NAV never moved".
_ZERO_VOL = 1e-12


@dataclass(frozen=True)
class TokenStats:
    """Per-token statistics shown in reasons and stored with each decision."""

    days: int
    expected_return: float  # blended, annualised
    volatility: float  # annualised, from the shrunk covariance (0 when excluded early)


@dataclass
class Prepared:
    symbols: list[str]
    mu: pd.Series
    cov: pd.DataFrame
    stats: dict[str, TokenStats] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    window_start: str | None = None
    window_end: str | None = None
    window_days: int = 0


def daily_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Simple daily returns; non-positive or non-finite NAVs become missing, not errors."""
    clean = prices.astype("float64").replace([np.inf, -np.inf], np.nan)
    clean = clean.where(clean > 0)
    returns = clean / clean.shift(1) - 1.0
    return returns.replace([np.inf, -np.inf], np.nan).iloc[1:]


def blended_mean(series: pd.Series | np.ndarray, config: OptimizerConfig) -> float:
    """Annualised blend of the full-history mean and the recent-window means of one token."""
    values = np.asarray(series, dtype="float64")
    values = values[~np.isnan(values)]
    if values.size == 0:
        return 0.0
    total = 0.0
    for key, weight in config.blend.items():
        window = values if key == "full" else values[-int(key):]
        total += weight * float(window.mean()) * config.frequency
    return total


def prepare(prices: pd.DataFrame, config: OptimizerConfig) -> Prepared:
    """Clean, filter and summarise ``prices``; never raises on odd data.

    Column loops run on NumPy arrays, not pandas objects: this is on the path of every suggestion.
    """
    excluded: dict[str, str] = {}
    stats: dict[str, TokenStats] = {}
    names = [str(c) for c in prices.columns]
    if prices.shape[0] < 2 or prices.shape[1] == 0:
        for symbol in names:
            excluded[symbol] = "no NAV history yet"
        return Prepared([], pd.Series(dtype="float64"), pd.DataFrame(), stats, excluded)

    frame = daily_returns(prices.sort_index())
    returns = frame.to_numpy(dtype="float64")
    valid = ~np.isnan(returns)
    counts = valid.sum(axis=0)
    candidates: list[int] = []
    for j, symbol in enumerate(names):
        days = int(counts[j])
        if days < config.min_history_days:
            excluded[symbol] = (
                f"only {days} days of NAV history; needs {config.min_history_days} to be considered"
            )
            continue
        if float(np.std(returns[valid[:, j], j])) < _ZERO_VOL:
            excluded[symbol] = "its NAV never moved, so there is no return or risk to estimate"
            continue
        candidates.append(j)

    # Identical return series are one strategy under two names: keep the first, so the 20 % cap
    # cannot be doubled through a duplicate (it would also make the covariance singular).
    unique: list[int] = []
    seen: dict[bytes, str] = {}
    for j in candidates:
        fingerprint = _fingerprint(returns[:, j])
        twin = seen.get(fingerprint)
        if twin is not None:
            excluded[names[j]] = f"its returns are identical to {twin}, which is considered instead"
        else:
            seen[fingerprint] = names[j]
            unique.append(j)

    if not unique:
        return Prepared([], pd.Series(dtype="float64"), pd.DataFrame(), stats, excluded)

    rows = valid[:, unique].all(axis=1)
    if int(rows.sum()) < 2:
        # Histories do not overlap: keep the longest one only, rather than failing.
        longest = max(unique, key=lambda j: int(counts[j]))
        for j in unique:
            if j != longest:
                excluded[names[j]] = f"its history does not overlap with {names[longest]}'s"
        unique = [longest]
        rows = valid[:, longest]
    symbols = [names[j] for j in unique]
    index = np.flatnonzero(rows)[-config.cov_lookback_days:]
    window = pd.DataFrame(returns[index][:, unique], index=frame.index[index], columns=symbols)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn/pypfopt numerical notes must not abort a decision
        cov = risk_models.CovarianceShrinkage(
            window, returns_data=True, frequency=config.frequency
        ).ledoit_wolf()
    cov = pd.DataFrame(np.asarray(cov, dtype="float64"), index=symbols, columns=symbols)
    mu = pd.Series([blended_mean(returns[:, j], config) for j in unique], index=symbols,
                   dtype="float64")
    variances = np.diag(cov.to_numpy())
    for k, j in enumerate(unique):
        stats[names[j]] = TokenStats(
            days=int(counts[j]),
            expected_return=float(mu.iloc[k]),
            volatility=float(np.sqrt(max(variances[k], 0.0))),
        )
    return Prepared(
        symbols=symbols,
        mu=mu,
        cov=cov,
        stats=stats,
        excluded=excluded,
        window_start=_label(window.index[0]),
        window_end=_label(window.index[-1]),
        window_days=int(window.shape[0]),
    )


def _fingerprint(column: np.ndarray) -> bytes:
    """Bytes equal for two series with the same returns (to 1e-12) and the same gaps."""
    values = np.round(column, 12) + 0.0  # +0.0 folds -0.0 into 0.0
    return np.nan_to_num(values, nan=np.inf).tobytes()


def _label(value: object) -> str:
    date = getattr(value, "date", None)
    return str(date()) if callable(date) else str(value)
