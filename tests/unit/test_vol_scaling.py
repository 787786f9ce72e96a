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


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # rises of at most 3 % a day: a re-entry buy sized on one close always fills at the next open
    # (a bigger gap-up can exceed the cash buffer and be rejected, in both engines alike)
    st.lists(st.floats(-0.15, 0.03, allow_nan=False), min_size=40, max_size=120),
    st.sampled_from([0.05, 0.1, 0.2]),
    st.integers(1, 10),
)
def test_the_drawdown_stop_exits_the_bar_after_each_crossing_and_waits_its_cooldown(
    rets: list[float], threshold: float, days: int
) -> None:
    """Always-invested rule, fixed fraction: every sell is the stop's. Each one follows the first
    close at or below (1 - threshold) x the peak since the last entry; each re-entry waits ``days``."""
    closes = closes_from(rets)
    risk = {"max_drawdown_stop": threshold, "reentry": {"rule": "cooldown", "days": days}}
    spec = {"name": "dd", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
            "entry_rule": "close > 0", "risk": risk}  # fmt: skip
    result = run_backtest(spec, market({"BTC": frame(closes.tolist())}), engine="vector")
    assert result.rejected_orders == 0
    equity = result.equity.to_numpy()
    index = {d.date().isoformat(): k for k, d in enumerate(result.equity.index)}
    fills = [(index[f["date"]] - 1, f["side"]) for f in result.trades]  # (decision bar, side)
    assert all(side != fills[k - 1][1] for k, (_, side) in enumerate(fills) if k)  # buy, sell, buy, ...
    expected = []  # replay the stop by hand on the engine's equity
    entry, halted_at = fills[0][0], None
    for t in range(entry, len(equity) - 1):
        if halted_at is None and equity[t] <= max(equity[entry : t + 1]) * (1 - threshold):
            expected.append((t, "sell"))
            halted_at = t
        elif halted_at is not None and t - halted_at >= days:
            expected.append((t, "buy"))
            entry, halted_at = t, None
    assert fills[1:] == expected
