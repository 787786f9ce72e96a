"""Invariants of volatility scaling (Hypothesis): the realised volatility is numpy's sample std of
the window's returns times sqrt(365); the scale is in [0, max_leverage]; and in a whole run the
weight any order aims at never exceeds ``max_leverage`` per slot."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest import run_backtest
from backtest.vector.risk import realised_vol, vol_scale
from tests.support.markets import frame, market

returns = st.lists(st.floats(-0.3, 0.3, allow_nan=False), min_size=12, max_size=80)


def closes_from(rets: list[float]) -> np.ndarray:
    return 100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(rets)]))


@settings(max_examples=60, deadline=None)
@given(returns, st.integers(5, 11), st.floats(0.01, 1.0), st.floats(0.05, 1.0))
def test_scale_is_target_over_sample_vol_capped(
    rets: list[float], lookback: int, target: float, cap: float
) -> None:
    close = closes_from(rets).reshape(1, -1)
    t = close.shape[1] - 1
    window = close[0, t - lookback : t + 1]
    expected_vol = float(np.std(np.diff(window) / window[:-1], ddof=1)) * math.sqrt(365)
    vol = realised_vol(close, 0, t, lookback)
    assert math.isclose(vol, expected_vol, rel_tol=1e-9, abs_tol=1e-12)
    scale = vol_scale(close, 0, t, lookback, target, cap)
    assert 0.0 <= scale <= cap
    if expected_vol > 1e-9:
        assert math.isclose(scale, min(cap, target / vol), rel_tol=1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.floats(-0.12, 0.12, allow_nan=False), min_size=60, max_size=120), st.floats(0.2, 1.0))
def test_no_order_aims_above_the_cap(rets: list[float], cap: float) -> None:
    closes = closes_from(rets)
    spec = {"name": "cap", "family": "ma_crossover", "universe": {"assets": ["BTC", "ETH"]},
            "entry_rule": "close > sma(close, 5)", "sizing": {"method": "volatility_target",
            "target_vol": 0.5, "lookback_days": 10, "max_leverage": cap}}  # fmt: skip
    data = market({"BTC": frame(closes.tolist()), "ETH": frame(closes[::-1].tolist())})
    result = run_backtest(spec, data, engine="vector")
    equity = result.equity
    first = len(closes) - len(equity)
    held = {"BTC": 0.0, "ETH": 0.0}
    prices = {"BTC": closes, "ETH": closes[::-1]}
    for fill in result.trades:
        held[fill["asset"]] += fill["size"] if fill["side"] == "buy" else -fill["size"]
        k = equity.index.get_loc(pd.Timestamp(fill["date"], tz="UTC")) - 1  # the decision bar
        t = first + k
        aimed = held[fill["asset"]] * prices[fill["asset"]][t] / float(equity.iloc[k])
        assert aimed <= cap / 2 * (1 + 1e-9)  # one slot of two, scaled by at most max_leverage
