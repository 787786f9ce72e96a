"""Metrics from the equity curve, and a cross-check against Backtrader's own analyzers."""

from __future__ import annotations

import itertools
import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from backtest.data import load_market
from backtest.data.riskfree import RiskFree
from backtest.engine import COMMISSION, INITIAL_CASH
from backtest.metrics import (
    Moments,
    compute_metrics,
    deflated_sharpe,
    expected_max_sharpe,
    max_drawdown,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
    psr_from_moments,
)
from backtest.runtime import FractionalCommission


def curve(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2022-01-01", periods=len(values), tz="UTC"))


def test_known_values() -> None:
    eq = curve([100.0, 110.0, 99.0, 108.9])
    m = compute_metrics(eq)
    assert m.total_return == pytest.approx(0.089)
    assert m.max_drawdown == pytest.approx(0.1)
    assert m.days == 4
    r = np.array([0.1, -0.1, 0.1])
    assert m.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(365), rel=1e-8)
    assert m.cagr == pytest.approx(1.089 ** (365 / 3) - 1, rel=1e-6)
    assert m.calmar == pytest.approx(m.cagr / 0.1, rel=1e-6)
    assert m.sortino == pytest.approx(r.mean() / math.sqrt(0.01 / 3) * math.sqrt(365), rel=1e-6)


def test_flat_curve_is_finite() -> None:
    m = compute_metrics(curve([1.0] * 10))
    assert m.sharpe == 0 and m.volatility == 0 and m.max_drawdown == 0 and m.psr == 0.5


def test_bad_curves_rejected() -> None:
    with pytest.raises(ValueError):
        compute_metrics(curve([1.0]))
    with pytest.raises(ValueError):
        compute_metrics(curve([1.0, float("nan")]))


def test_psr_and_dsr_behave() -> None:
    rng = np.random.default_rng(1)
    good = rng.normal(0.002, 0.01, 365)
    assert probabilistic_sharpe(good, 0.0) > 0.95
    assert probabilistic_sharpe(-good, 0.0) < 0.05
    assert deflated_sharpe(good, 1, 0.01) == pytest.approx(probabilistic_sharpe(good, 0.0))
    assert expected_max_sharpe(1, 0.1) == 0.0 and expected_max_sharpe(100, 0.01) > 0.2


def test_dsr_falls_as_the_trial_count_rises_for_the_same_best_sharpe() -> None:
    rng = np.random.default_rng(1)
    best = rng.normal(0.002, 0.01, 730)
    dsrs = [deflated_sharpe(best, n, sharpe_variance=0.0025) for n in (1, 2, 10, 100, 1000, 10_000)]
    assert all(a > b for a, b in itertools.pairwise(dsrs)), dsrs
    # Without the cross-trial variance, the estimator's own sampling variance stands in.
    assert deflated_sharpe(best, 100, None) < deflated_sharpe(best, 1, None)


def test_bailey_lopez_de_prado_2014_numerical_example() -> None:
    """The DSR paper's example: N = 100 trials whose annualised Sharpe ratios have variance 1/2, the
    best an annualised 2.5 over T = 1,250 daily returns (250 per year), skewness -3, kurtosis 10
    (non-excess). The paper works per period: SR = 2.5 / sqrt(250), V = (1/2) / 250, and reports
    SR0 = 0.1132 and DSR = 0.9004, both rounded to 4 decimals."""
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert round(sr0, 4) == 0.1132
    dsr = psr_from_moments(Moments(2.5 / math.sqrt(250), -3.0, 10.0, 1250), sr0)
    assert round(dsr, 4) == 0.9004
    # The same figures in the paper's conventions, by hand: Z^-1 and the Euler-Mascheroni constant.
    from statistics import NormalDist

    z = NormalDist()
    gamma = 0.5772156649015329
    by_hand = math.sqrt(0.5 / 250) * (
        (1 - gamma) * z.inv_cdf(1 - 1 / 100) + gamma * z.inv_cdf(1 - 1 / (100 * math.e))
    )
    assert sr0 == pytest.approx(by_hand, rel=1e-12)


def test_excess_sharpe_uses_the_risk_free_rate() -> None:
    days = pd.date_range("2022-01-01", periods=400, tz="UTC")
    rng = np.random.default_rng(3)
    r = rng.normal(0.0004, 0.002, 399)
    equity = pd.Series(np.concatenate([[1.0], np.cumprod(1 + r)]), index=days)
    rf = RiskFree("bill", pd.Series(0.05, index=days), "y/365")
    m = compute_metrics(equity, risk_free=rf)
    e = r - 0.05 / 365
    assert m.sharpe == pytest.approx(e.mean() / e.std(ddof=1) * math.sqrt(365), rel=1e-8)
    assert m.risk_free_mean == pytest.approx(0.05) and m.risk_free_missing_days == 0
    assert m.excess_return == pytest.approx(equity.iloc[-1] - (1 + 0.05 / 365) ** 399, rel=1e-9)
    short = RiskFree("bill", pd.Series(0.05, index=days[:100]), "y/365")  # ends early: never extended
    cut = compute_metrics(equity, risk_free=short)
    assert cut.risk_free_missing_days == 299  # steps starting on days 100..398
    e_cut = r - np.where(np.arange(399) < 100, 0.05 / 365, 0.0)
    assert cut.sharpe == pytest.approx(e_cut.mean() / e_cut.std(ddof=1) * math.sqrt(365), rel=1e-8)


def test_pbo_of_pure_noise_is_near_one_half() -> None:
    rng = np.random.default_rng(7)
    values = [probability_of_backtest_overfitting(rng.normal(0, 0.01, (800, 20)), 16).pbo for _ in range(6)]
    assert 0.3 < float(np.mean(values)) < 0.7, values


def test_pbo_of_a_planted_better_variant_is_low() -> None:
    rng = np.random.default_rng(8)
    returns = rng.normal(0, 0.01, (800, 20))
    returns[:, 5] += 0.004  # one variant with a genuine edge
    result = probability_of_backtest_overfitting(returns, 16)
    assert result.pbo < 0.05 and result.combinations == 12_870 and result.trials == 20


def test_pbo_refuses_what_it_cannot_compute() -> None:
    with pytest.raises(ValueError, match="two trials"):
        probability_of_backtest_overfitting(np.zeros((100, 1)))
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 3)), 5)


def test_max_drawdown() -> None:
    assert max_drawdown(np.array([1.0, 2.0, 1.0, 3.0, 2.4])) == pytest.approx(0.5)


class _SmaCross(bt.Strategy):
    def __init__(self) -> None:
        self.fast = bt.ind.SMA(self.data.close, period=20)
        self.slow = bt.ind.SMA(self.data.close, period=60)
        self.values: list[float] = []
        self.fills = 0

    def next(self) -> None:
        if self.fast[0] > self.slow[0] and not self.position:
            self.order_target_percent(target=0.9)
        elif self.fast[0] <= self.slow[0] and self.position:
            self.close()
        self.values.append(self.broker.getvalue())

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.fills += 1


def test_cross_check_against_backtrader_analyzers() -> None:
    frame = load_market(None).ohlcv("BTC").iloc[:900]
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.addcommissioninfo(FractionalCommission(commission=COMMISSION))
    cerebro.adddata(bt.feeds.PandasData(dataname=frame.set_axis(frame.index.tz_convert(None))))
    cerebro.addstrategy(_SmaCross)
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="tr", timeframe=bt.TimeFrame.Days)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="dd")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="ta")
    strat = cerebro.run()[0]
    equity = curve(strat.values)
    fills = [{"value": 1.0}] * strat.fills
    m = compute_metrics(equity, fills=fills)
    # TimeReturn covers every bar incl. the 59 warm-up bars; compare on the bars we recorded.
    # (Backtrader's SharpeRatio analyzer annualises with its own day-count conventions, so the
    # Sharpe cross-check recomputes it from Backtrader's own daily returns instead.)
    returns = pd.Series(strat.analyzers.tr.get_analysis()).to_numpy()[-(len(equity) - 1) :]
    ours = equity.pct_change().dropna().to_numpy()
    np.testing.assert_allclose(returns, ours, rtol=1e-9, atol=1e-12)
    bt_sharpe = returns.mean() / returns.std(ddof=1) * math.sqrt(365)
    assert m.sharpe == pytest.approx(bt_sharpe, rel=1e-8)
    assert (1 + m.total_return) == pytest.approx(float(np.prod(1 + returns)), rel=1e-9)
    assert m.max_drawdown * 100 == pytest.approx(strat.analyzers.dd.get_analysis().max.drawdown, rel=1e-6)
    ta = strat.analyzers.ta.get_analysis()
    assert m.n_trades == 2 * ta.total.closed + ta.total.open
