"""Hand-built markets for tests whose expected values are worked out by hand from the series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from backtest.data import MarketData
from backtest.data.riskfree import RiskFree, zero_risk_free

START = "2024-01-01"


def days(n: int, start: str = START) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D", tz="UTC", name="date")


def frame(closes: Sequence[float], opens: Sequence[float] | None = None, start: str = START) -> pd.DataFrame:
    """OHLCV with the given closes (opens default to the closes); high/low 1 % outside open and
    close, so slippage (5 bp) is never capped by the bar's range."""
    close = np.asarray(closes, dtype=float)
    open_ = close if opens is None else np.asarray(opens, dtype=float)
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1.0},
        index=days(len(close), start),
    )


def market(
    prices: Mapping[str, pd.DataFrame],
    rates: Mapping[str, Sequence[float]] | None = None,
    *,
    risk_free: RiskFree | None = None,
    start: str = START,
) -> MarketData:
    series = {
        m: pd.Series(np.asarray(v, dtype=float), index=days(len(v), start), name="apr")
        for m, v in (rates or {}).items()
    }
    return MarketData(dict(prices), series, "hand-built", (), risk_free or zero_risk_free("none (test): 0 %"))
