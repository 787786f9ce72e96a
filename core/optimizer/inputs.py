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


def blended_mean(series: pd.Series, config: OptimizerConfig) -> float:
    """Annualised blend of the full-history mean and the recent-window means of one token."""
    values = series.dropna().to_numpy()
    total = 0.0
    for key, weight in config.blend.items():
        window = values if key == "full" else values[-int(key):]
        total += weight * float(window.mean()) * config.frequency
    return total


def prepare(prices: pd.DataFrame, config: OptimizerConfig) -> Prepared:
    """Clean, filter and summarise ``prices``; never raises on odd data."""
    excluded: dict[str, str] = {}
    stats: dict[str, TokenStats] = {}
    if prices.shape[0] < 2 or prices.shape[1] == 0:
        for col in prices.columns:
            excluded[str(col)] = "no NAV history yet"
        return Prepared([], pd.Series(dtype="float64"), pd.DataFrame(), stats, excluded)

    returns = daily_returns(prices.sort_index())
    candidates: list[str] = []
    for col in returns.columns:
        symbol = str(col)
        series = returns[col].dropna()
        days = int(series.shape[0])
        if days < config.min_history_days:
            excluded[symbol] = (
                f"only {days} days of NAV history; needs {config.min_history_days} to be considered"
            )
            continue
        if float(series.std()) < _ZERO_VOL:
            excluded[symbol] = "its NAV never moved, so there is no return or risk to estimate"
            continue
        candidates.append(symbol)

    # Identical return series are one strategy under two names: keep the first, so the 20 % cap
    # cannot be doubled through a duplicate (it would also make the covariance singular).
    unique: list[str] = []
    seen: dict[bytes, str] = {}
    for symbol in candidates:
        fingerprint = _fingerprint(returns[symbol])
        twin = seen.get(fingerprint)
        if twin is not None:
            excluded[symbol] = f"its returns are identical to {twin}, which is considered instead"
        else:
            seen[fingerprint] = symbol
            unique.append(symbol)

    if not unique:
        return Prepared([], pd.Series(dtype="float64"), pd.DataFrame(), stats, excluded)

    window = returns[unique].dropna(how="any").iloc[-config.cov_lookback_days:]
    if window.shape[0] < 2:
        # Histories do not overlap: keep the longest one only, rather than failing.
        longest = max(unique, key=lambda s: int(returns[s].notna().sum()))
        for symbol in unique:
            if symbol != longest:
                excluded[symbol] = f"its history does not overlap with {longest}'s"
        unique = [longest]
        window = returns[unique].dropna().iloc[-config.cov_lookback_days:]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn/pypfopt numerical notes must not abort a decision
        cov = risk_models.CovarianceShrinkage(
            window, returns_data=True, frequency=config.frequency
        ).ledoit_wolf()
    cov = pd.DataFrame(np.asarray(cov, dtype="float64"), index=unique, columns=unique)
    mu = pd.Series({s: blended_mean(returns[s], config) for s in unique}, dtype="float64")
    for symbol in unique:
        stats[symbol] = TokenStats(
            days=int(returns[symbol].notna().sum()),
            expected_return=float(mu[symbol]),
            volatility=float(np.sqrt(max(cov.loc[symbol, symbol], 0.0))),
        )
    return Prepared(
        symbols=unique,
        mu=mu,
        cov=cov,
        stats=stats,
        excluded=excluded,
        window_start=_label(window.index[0]),
        window_end=_label(window.index[-1]),
        window_days=int(window.shape[0]),
    )


def _fingerprint(series: pd.Series) -> bytes:
    """Bytes equal for two series with the same returns (to 1e-12) and the same gaps."""
    values = np.round(series.to_numpy(dtype="float64"), 12) + 0.0  # +0.0 folds -0.0 into 0.0
    return np.nan_to_num(values, nan=np.inf).tobytes()


def _label(value: object) -> str:
    date = getattr(value, "date", None)
    return str(date()) if callable(date) else str(value)
