"""Metrics from the equity curve, and a cross-check against Backtrader's own analyzers."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from backtest.data import load_market
from backtest.data.riskfree import RiskFree
from backtest.engine import COMMISSION, INITIAL_CASH
from backtest.metrics import (
    METRIC_KEYS,
    Moments,
    compute_metrics,
    daily_returns,
    deflated_sharpe,
    excess_returns,
    expected_max_sharpe,
    max_drawdown,
    moments,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
    psr_from_moments,
    sharpe_per_period,
    sharpe_std_error,
    sortino_per_period,
)
from backtest.metrics.performance import _f
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


# ---- exact values worked out by hand (mutation testing showed which paths were unchecked) --------

SQRT2 = math.sqrt(2.0)


def test_every_metric_of_a_three_step_curve_by_hand() -> None:
    # Equity 100 -> 110 -> 99 -> 108.9: returns +10 %, -10 %, +10 %; mean 1/30.
    # Sample variance: deviations 2/30, -4/30, 2/30 -> (4 + 16 + 4) / 900 / 2 = 1/75.
    eq = curve([100.0, 110.0, 99.0, 108.9])
    invested = pd.Series([0.0, 55.0, 49.5, 108.9], index=eq.index)  # 0, 1/2, 1/2, 1 of equity
    bench = pd.Series([10.0, 12.0, 11.0, 15.0], index=eq.index)
    m = compute_metrics(eq, invested=invested, fills=[{"value": 50}, {"value": "60"}], benchmark=bench)
    assert m.volatility == pytest.approx(math.sqrt(365 / 75), rel=1e-9)
    assert m.exposure == pytest.approx(0.5, rel=1e-12)
    assert m.n_trades == 2
    assert m.hodl_return == pytest.approx(0.5, rel=1e-12)
    # Turnover: 110 traded / mean equity (417.9 / 4) / (3 / 365 years).
    assert m.turnover == pytest.approx(110 / (417.9 / 4) * 365 / 3, rel=1e-9)
    # Population moments: z = (1/sqrt2, -sqrt2, 1/sqrt2): skew -1/sqrt2, kurtosis 1.5.
    sr = (1 / 30) / math.sqrt(1 / 75)
    assert m.moments.sharpe == pytest.approx(sr, rel=1e-9)
    assert m.moments.skew == pytest.approx(-1 / SQRT2, rel=1e-9)
    assert m.moments.kurtosis == pytest.approx(1.5, rel=1e-9) and m.moments.n == 3
    se = math.sqrt((1 + sr / SQRT2 + (1.5 - 1) / 4 * sr**2) / 2)
    psr = NormalDist().cdf(sr / se)
    assert m.psr == pytest.approx(psr, rel=1e-9)
    assert m.dsr == pytest.approx(psr, rel=1e-9)  # one trial: nothing to deflate
    assert m.excess_return == m.total_return  # 0 % risk-free
    assert m.risk_free_mean == 0.0 and m.risk_free_missing_days == 0
    assert m.risk_free_name == "none (synthetic market): 0 %"
    as_dict = m.as_dict()
    assert list(as_dict) == list(METRIC_KEYS)
    assert as_dict["n_trades"] == 2 and as_dict["days"] == 4 and as_dict["exposure"] == m.exposure
    assert as_dict["volatility"] == m.volatility and as_dict["psr"] == m.psr


def test_defaults_without_positions_fills_or_benchmark() -> None:
    eq = curve([100.0, 120.0, 90.0])
    m = compute_metrics(eq)
    assert m.exposure == 0.0 and m.n_trades == 0 and m.turnover == 0.0
    assert m.hodl_return == pytest.approx(-0.1, rel=1e-12)  # the curve is its own benchmark
    assert m.max_drawdown == pytest.approx(0.25, rel=1e-12)
    assert m.calmar == pytest.approx(m.cagr / 0.25, rel=1e-9)
    rising = compute_metrics(curve([100.0, 101.0, 103.0]))
    assert rising.max_drawdown == 0.0 and rising.calmar == 0.0  # no drawdown: calmar 0, not inf


def test_deflation_with_several_trials_by_hand() -> None:
    eq = curve([100.0, 110.0, 99.0, 108.9])
    sr = (1 / 30) / math.sqrt(1 / 75)
    m = compute_metrics(eq, n_trials=10, sharpe_variance=0.04)
    z = NormalDist()
    gamma = 0.5772156649015329
    sr0 = 0.2 * ((1 - gamma) * z.inv_cdf(0.9) + gamma * z.inv_cdf(1 - 1 / (10 * math.e)))
    se = math.sqrt((1 + sr / SQRT2 + 0.125 * sr**2) / 2)
    assert m.dsr == pytest.approx(z.cdf((sr - sr0) / se), rel=1e-9)
    assert m.dsr < m.psr


def test_rounding_keeps_ten_decimals_and_replaces_non_finite_values() -> None:
    m = compute_metrics(curve([3.0, 4.0]))
    assert m.total_return == round(4 / 3 - 1, 10) != 4 / 3 - 1
    assert _f(float("inf")) == 0.0 and _f(float("nan")) == 0.0 and _f(-0.123456789012) == -0.123456789


def test_returns_refuse_zero_and_negative_equity() -> None:
    for bad in ([1.0, 0.0], [1.0, -1.0], [0.0, 1.0]):
        with pytest.raises(ValueError, match="finite positive"):
            daily_returns(curve(bad))
    np.testing.assert_allclose(daily_returns(curve([2.0, 3.0, 1.5])), [0.5, -0.5])


def test_excess_returns_subtract_the_days_rate() -> None:
    eq = curve([100.0, 101.0, 102.01])
    rf = RiskFree("bill", pd.Series(0.0365, index=eq.index), "y/365")
    e, missing = excess_returns(eq, rf)
    np.testing.assert_allclose(e, [0.01 - 0.0001, 0.01 - 0.0001], rtol=1e-12)
    assert missing == 0


def test_sharpe_and_sortino_edge_cases_by_hand() -> None:
    assert sharpe_per_period(np.array([0.01])) == 0.0  # one return: no spread
    assert sharpe_per_period(np.array([0.001] * 5)) == 0.0  # constant: undefined, reported as 0
    assert sharpe_per_period(np.array([0.01, 0.03])) == pytest.approx(0.02 / (0.02 / SQRT2), rel=1e-12)
    assert sortino_per_period(np.array([0.01])) == 0.0
    assert sortino_per_period(np.array([0.002] * 4)) == 0.0
    assert sortino_per_period(np.array([0.01, 0.03])) == 0.0  # no downside at all
    # Two returns are enough: mean 0.01 over sqrt((0 + 0.0001) / 2).
    assert sortino_per_period(np.array([0.03, -0.01])) == pytest.approx(0.01 / math.sqrt(0.00005), rel=1e-12)
    # Downside deviation sqrt(mean(min(e, 0)^2)) = sqrt((0 + 0.0004 + 0) / 3) over all three days.
    assert sortino_per_period(np.array([0.04, -0.02, 0.01])) == pytest.approx(
        0.01 / math.sqrt(0.0004 / 3), rel=1e-12
    )


def test_moments_of_a_constant_series_are_those_of_a_normal() -> None:
    assert moments(np.array([0.001] * 4)) == Moments(0.0, 0.0, 3.0, 4)
    assert moments(np.array([0.5])) == Moments(0.0, 0.0, 3.0, 1)
    # A symmetric series whose mean is 0: Sharpe 0 but real moments (z = -1, -1, 1, 1: kurtosis 1).
    sym = moments(np.array([-0.01, -0.01, 0.01, 0.01]))
    assert sym.sharpe == 0.0 and sym.skew == pytest.approx(0.0, abs=1e-12)
    assert sym.kurtosis == pytest.approx(1.0, rel=1e-12)


def test_psr_edge_cases() -> None:
    assert psr_from_moments(Moments(0.5, 0.0, 3.0, 2), 0.0) == 0.5  # fewer than 3 returns
    # 1 - g3 SR + (g4 - 1)/4 SR^2 = 1 - 2 + 0 < 0: the standard error is 0, the answer a step.
    assert psr_from_moments(Moments(2.0, 1.0, 1.0, 10), 0.0) == 1.0
    assert psr_from_moments(Moments(2.0, 1.0, 1.0, 10), 2.0) == 0.5
    assert psr_from_moments(Moments(2.0, 1.0, 1.0, 10), 3.0) == 0.0
    # Normal returns (skew 0, kurtosis 3): se = sqrt((1 + SR^2 / 2) / (n - 1)).
    se = math.sqrt((1 + 0.1**2 / 2) / 99)
    assert psr_from_moments(Moments(0.1, 0.0, 3.0, 100), 0.05) == pytest.approx(
        NormalDist().cdf(0.05 / se), rel=1e-12
    )
    assert sharpe_std_error(0.1, 0.0, 3.0, 1) == math.inf
    assert sharpe_std_error(0.1, 0.0, 3.0, 101) == pytest.approx(math.sqrt(1.005 / 100), rel=1e-12)
    assert deflated_sharpe(np.array([0.01, 0.02]), 5, 0.1) == 0.5


def test_expected_max_sharpe_by_hand() -> None:
    z = NormalDist()
    gamma = 0.5772156649015329
    assert expected_max_sharpe(2, 0.09) == pytest.approx(
        0.3 * ((1 - gamma) * z.inv_cdf(0.5) + gamma * z.inv_cdf(1 - 1 / (2 * math.e))), rel=1e-12
    )
    assert expected_max_sharpe(50, 0.0) == 0.0 and expected_max_sharpe(50, -1.0) == 0.0
    assert expected_max_sharpe(0, 1.0) == 0.0


def test_dsr_without_a_cross_trial_variance_uses_the_estimators_own() -> None:
    rng = np.random.default_rng(5)
    e = rng.normal(0.001, 0.01, 500)
    m = moments(e)
    v = (1 - m.skew * m.sharpe + (m.kurtosis - 1) / 4 * m.sharpe**2) / (m.n - 1)
    assert deflated_sharpe(e, 20, None) == pytest.approx(
        psr_from_moments(m, expected_max_sharpe(20, v)), rel=1e-12
    )
    assert deflated_sharpe(e, 0, 0.01) == pytest.approx(probabilistic_sharpe(e), rel=1e-12)


# PBO on matrices small enough to work through by hand: S = 2 partitions, two trials, so there are
# two combinations (block 0 in sample, or block 1).
#   A: 0.01 0.03 | -0.01 0.01     B: 0.00 0.01 | 0.02 0.04
# Block Sharpes (ddof 1): A 0.02/0.01414 = 1.414 | 0 ; B 0.005/0.00707 = 0.707 | 0.03/0.01414 = 2.12.
# In sample block 0 -> A wins, out of sample A (0) ranks 1 of 2: w = 1/3, logit ln(1/2) < 0.
# In sample block 1 -> B wins, out of sample B (0.707 < 1.414) ranks 1: logit ln(1/2) again.
HAND = np.array([[0.01, 0.0], [0.03, 0.01], [-0.01, 0.02], [0.01, 0.04]])


def test_pbo_by_hand_the_in_sample_winner_always_loses() -> None:
    result = probability_of_backtest_overfitting(HAND, 2)
    assert result.pbo == 1.0 and result.combinations == 2 and result.partitions == 2
    assert result.trials == 2 and result.days_used == 4
    assert result.median_logit == pytest.approx(math.log(0.5), rel=1e-12)


def test_pbo_by_hand_the_in_sample_winner_always_wins() -> None:
    # A beats B in both blocks: A wins in sample and ranks 2 of 2 out of sample: w = 2/3, logit ln 2.
    good = np.array([[0.02, 0.0], [0.04, 0.01], [0.03, -0.01], [0.05, 0.01]])
    result = probability_of_backtest_overfitting(good, 2)
    assert result.pbo == 0.0 and result.median_logit == pytest.approx(math.log(2.0), rel=1e-12)


def test_pbo_drops_the_first_rows_that_do_not_fill_a_block() -> None:
    # A wild first row would make A the in-sample winner of block 0 in both combinations... if used.
    padded = np.vstack([[5.0, -5.0], HAND])
    result = probability_of_backtest_overfitting(padded, 2)
    assert result.days_used == 4 and result.pbo == 1.0
    assert result.median_logit == pytest.approx(math.log(0.5), rel=1e-12)


def test_pbo_ties_take_the_average_rank() -> None:
    # Identical trials: the in-sample argmax is trial 0; out of sample both tie: rank (1 + 2) / 2
    # = 1.5, w = 1.5 / 3 = 1/2, logit 0, which counts as overfit (<= 0).
    same = np.column_stack([HAND[:, 0], HAND[:, 0]])
    result = probability_of_backtest_overfitting(same, 2)
    assert result.pbo == 1.0 and result.median_logit == 0.0


def test_pbo_block_sharpe_of_a_constant_block_is_zero() -> None:
    # Block 0 constant for both (Sharpe 0 by the noise floor, not 0.01 / 0): trial 0 wins the tie;
    # out of sample (block 1) trial 1 is better: rank 1, logit ln(1/2). Block 1 in sample: trial 1
    # wins; out of sample both are 0 -> tie, logit 0. Both <= 0.
    flat = np.array([[0.01, 0.01], [0.01, 0.01], [0.0, 0.01], [0.02, 0.04]])
    result = probability_of_backtest_overfitting(flat, 2)
    assert result.pbo == 1.0
    assert result.median_logit == pytest.approx(math.log(0.5) / 2, rel=1e-12)


def test_pbo_refuses_too_few_days_and_non_matrices() -> None:
    with pytest.raises(ValueError, match="at least 8 days"):
        probability_of_backtest_overfitting(np.zeros((7, 3)), 4)
    assert probability_of_backtest_overfitting(HAND.repeat(2, axis=0), 4).days_used == 8
    with pytest.raises(ValueError, match="two trials"):
        probability_of_backtest_overfitting(np.zeros(10))
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 3)), 0)


def test_pbo_block_sharpe_ratios_equal_numpys() -> None:
    # The per-block Sharpe ratios PBO ranks, from its (count, sum, sum of squares) sums, against
    # mean / std(ddof=1) of the same rows; also for a union of blocks (blocks 0 and 2).
    from backtest.metrics.overfitting import _sharpe, block_sharpes

    rng = np.random.default_rng(11)
    x = rng.normal(0.001, 0.02, (40, 3)) * np.array([1.0, 3.0, 0.5])
    stats = block_sharpes(x, 4)
    assert stats.shape == (4, 3, 3)
    for k in range(4):
        rows = x[10 * k : 10 * (k + 1)]
        np.testing.assert_allclose(_sharpe(stats[k]), rows.mean(0) / rows.std(0, ddof=1), rtol=1e-9)
    union = np.vstack([x[0:10], x[20:30]])
    np.testing.assert_allclose(_sharpe(stats[0] + stats[2]), union.mean(0) / union.std(0, ddof=1), rtol=1e-9)


def test_volatility_needs_two_returns() -> None:
    assert compute_metrics(curve([100.0, 110.0])).volatility == 0.0  # one return: no spread
    # Two returns +10 %, -10 %: sample std sqrt(0.02).
    assert compute_metrics(curve([100.0, 110.0, 99.0])).volatility == pytest.approx(
        math.sqrt(0.02 * 365), rel=1e-9
    )
