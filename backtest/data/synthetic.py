"""A seeded synthetic market: the offline default when no data folder is given.

Prices follow a regime-switching geometric random walk (a Markov chain over bull / bear / sideways
regimes with different drift and volatility) with a common market factor (assets are correlated),
plus rare crash days (-20 % to -45 %) and fat-tailed noise. Stablecoin supply APRs are
mean-reverting around a cycle (a slow sine plus an Ornstein-Uhlenbeck deviation), never negative,
with protocol-specific levels so that yield rotation has something to rotate between.

There is no risk-free rate on this market: excess returns equal returns, and reports say so.
Same seed -> byte-identical data. Units as in :mod:`backtest.data.market` (USD prices, APR fractions).
This is simulation input only: floats throughout, nothing here touches a balance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.data.market import MarketData
from backtest.data.riskfree import zero_risk_free

DEFAULT_SEED = 20240501
DEFAULT_START = "2019-01-01"
DEFAULT_DAYS = 6 * 365 + 1

#: asset -> (start price, beta to the market factor, idiosyncratic daily vol)
ASSETS: dict[str, tuple[float, float, float]] = {
    "BTC": (4000.0, 1.0, 0.012),
    "ETH": (140.0, 1.2, 0.020),
    "SOL": (1.5, 1.6, 0.035),
    "LINK": (0.5, 1.3, 0.030),
    "UNI": (3.0, 1.4, 0.032),
    "AAVE": (50.0, 1.4, 0.030),
}
#: regime -> (daily drift, daily factor vol)
REGIMES = {"bull": (0.0030, 0.025), "bear": (-0.0025, 0.035), "sideways": (0.0, 0.018)}
_TRANSITION = np.array(  # rows: from bull, bear, sideways; expected regime length ~ 60-120 days
    [[0.985, 0.005, 0.010], [0.006, 0.984, 0.010], [0.008, 0.006, 0.986]]
)
CRASH_PROBABILITY = 1 / 500  # per day
#: market -> (mean APR, cycle amplitude, cycle period in days)
MARKETS: dict[str, tuple[float, float, int]] = {
    "aave_v1:USDC": (0.040, 0.020, 300),
    "aave_v2:USDC": (0.035, 0.025, 365),
    "aave_v3:USDC": (0.038, 0.020, 250),
    "compound:USDC": (0.030, 0.020, 420),
    "aave_v2:USDT": (0.040, 0.025, 330),
    "aave_v3:USDT": (0.042, 0.020, 280),
    "compound:USDT": (0.032, 0.020, 390),
    "aave_v2:DAI": (0.034, 0.022, 310),
    "aave_v3:DAI": (0.036, 0.020, 270),
    "compound:DAI": (0.029, 0.018, 450),
}


def synthetic_market(
    seed: int = DEFAULT_SEED, start: str = DEFAULT_START, days: int = DEFAULT_DAYS
) -> MarketData:
    """Build the synthetic market (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=days, freq="D", tz="UTC", name="date")
    factor = _market_factor(rng, days)
    prices = {asset: _asset_frame(rng, index, factor, *params) for asset, params in ASSETS.items()}
    # Stablecoins: tiny noise around the peg, so they can be traded or used as quote legs.
    for coin in ("USDC", "USDT", "DAI"):
        close = 1.0 + np.clip(rng.normal(0.0, 0.0007, days), -0.004, 0.004)
        prices[coin] = _ohlcv_from_close(rng, index, close, 0.0005)
    rates = {m: _rate_series(rng, index, *p) for m, p in MARKETS.items()}
    return MarketData(
        prices,
        rates,
        source=f"synthetic(seed={seed})",
        risk_free=zero_risk_free("none (synthetic market): 0 %"),
    )


def _market_factor(rng: np.random.Generator, days: int) -> np.ndarray:
    names = list(REGIMES)
    state = 0
    out = np.empty(days)
    for t in range(days):
        drift, vol = REGIMES[names[state]]
        shock = rng.standard_t(df=4) / np.sqrt(2.0)  # unit-variance fat tails
        out[t] = drift + vol * shock
        if rng.random() < CRASH_PROBABILITY:
            out[t] += np.log(1 - rng.uniform(0.20, 0.45))
        state = int(rng.choice(3, p=_TRANSITION[state]))
    return out


def _asset_frame(
    rng: np.random.Generator,
    index: pd.DatetimeIndex,
    factor: np.ndarray,
    start: float,
    beta: float,
    idio: float,
) -> pd.DataFrame:
    log_ret = beta * factor + rng.normal(0.0, idio, len(index))
    log_ret[0] = 0.0
    close = start * np.exp(np.cumsum(log_ret))
    return _ohlcv_from_close(rng, index, close, abs(beta) * 0.012 + idio)


def _ohlcv_from_close(
    rng: np.random.Generator, index: pd.DatetimeIndex, close: np.ndarray, spread: float
) -> pd.DataFrame:
    open_ = np.concatenate([[close[0]], close[:-1]]) * np.exp(rng.normal(0.0, spread / 4, len(close)))
    wick = np.abs(rng.normal(0.0, spread, (2, len(close))))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - np.minimum(wick[1], 0.5))
    volume = rng.lognormal(mean=10.0, sigma=0.5, size=len(close))
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def _rate_series(
    rng: np.random.Generator, index: pd.DatetimeIndex, mean: float, amplitude: float, period: int
) -> pd.Series:
    days = len(index)
    phase = rng.uniform(0, 2 * np.pi)
    cycle = mean + amplitude * np.sin(2 * np.pi * np.arange(days) / period + phase)
    dev = np.empty(days)
    dev[0] = 0.0
    theta, sigma = 0.05, 0.004  # OU: mean reversion per day, daily noise (APR units)
    for t in range(1, days):
        dev[t] = dev[t - 1] * (1 - theta) + sigma * rng.normal()
    spikes = (rng.random(days) < 1 / 200) * rng.uniform(0.02, 0.10, days)
    apr = np.clip(cycle + dev + spikes, 0.0005, 0.5)
    return pd.Series(apr, index=index, name="apr")
