"""The optimizer's inputs by hand: daily returns, the blended mean, every exclusion reason, the
covariance window and the per-token statistics.

Expected values come from hand arithmetic or from pandas / scikit-learn directly (sample returns,
window slicing, ``sklearn.covariance.ledoit_wolf`` x 365), never from ``core.optimizer.inputs``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import ledoit_wolf

from core.optimizer import OptimizerConfig
from core.optimizer.inputs import _fingerprint, blended_mean, daily_returns, prepare

NAN = math.nan
DAYS = pd.date_range("2024-03-01", periods=40, freq="D")


def test_daily_returns_turn_bad_marks_into_gaps() -> None:
    # NaN, zero, negative and infinite NAVs are gaps: both returns touching them are missing.
    prices = pd.DataFrame({"A": [100, 110, 99, 99, NAN, 50, 0, 25, 50, math.inf, 30, -2, 40, 20]},
                          index=range(14))  # fmt: skip
    got = daily_returns(prices)["A"]
    expected = [0.1, -0.1, 0.0, NAN, NAN, NAN, NAN, 1.0, NAN, NAN, NAN, NAN, -0.5]
    assert list(got.index) == list(range(1, 14))  # the first day has no return
    assert got.to_numpy() == pytest.approx(np.array(expected), rel=1e-12, nan_ok=True)
    # Integers are converted, not truncated: 3 -> 4 is +33.3 %, not 0 %.
    ints = daily_returns(pd.DataFrame({"B": [3, 4]}))["B"]
    assert ints.iloc[0] == pytest.approx(1 / 3, rel=1e-12)


def test_blended_mean_by_hand() -> None:
    config = OptimizerConfig(blend={"full": 0.5, "2": 0.3, "4": 0.2}, frequency=10)
    values = np.array([0.01, 0.02, NAN, 0.03, 0.04, 0.05, 0.06])
    # NaN dropped: full mean 0.035, last two 0.055, last four 0.045;
    # 10 x (0.5 x 0.035 + 0.3 x 0.055 + 0.2 x 0.045) = 10 x 0.043 = 0.43.
    assert blended_mean(values, config) == pytest.approx(0.43, rel=1e-12)
    assert blended_mean(pd.Series(values), config) == pytest.approx(0.43, rel=1e-12)
    # A window longer than the history is the whole history: 365 x 0.035.
    long = OptimizerConfig(blend={"full": 0.5, "90": 0.5})
    assert blended_mean(values, long) == pytest.approx(365 * 0.035, rel=1e-12)
    assert blended_mean(np.array([NAN, NAN]), config) == 0.0
    assert blended_mean(np.array([]), config) == 0.0


def _walk(seed: int, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.cumprod(1.0 + rng.normal(0.001, 0.02, n))


def _table() -> pd.DataFrame:
    a, b, c = _walk(1), _walk(2), _walk(3)
    young30, young29 = c.copy(), _walk(4)
    young30[:9] = NAN  # 31 marks: 30 returns, exactly the minimum
    young29[:10] = NAN  # 30 marks: 29 returns, one short
    return pd.DataFrame(
        {"A": a, "B": b, "YOUNG30": young30, "YOUNG29": young29, "FLAT": np.full(40, 7.0),
         "TWIN": a.copy(), "SCALED": 3.0 * a, "ALLNAN": np.full(40, NAN)},
        index=DAYS,
    )  # fmt: skip


def test_every_exclusion_has_its_own_reason() -> None:
    prepared = prepare(_table(), OptimizerConfig())
    assert prepared.symbols == ["A", "B", "YOUNG30"]
    assert prepared.excluded == {
        "YOUNG29": "only 29 days of NAV history; needs 30 to be considered",
        "ALLNAN": "only 0 days of NAV history; needs 30 to be considered",
        "FLAT": "its NAV never moved, so there is no return or risk to estimate",
        # The same returns under another name or at another price level are one strategy.
        "TWIN": "its returns are identical to A, which is considered instead",
        "SCALED": "its returns are identical to A, which is considered instead",
    }


def test_the_minimum_history_is_configurable() -> None:
    prepared = prepare(_table(), OptimizerConfig(min_history_days=31))
    assert prepared.symbols == ["A", "B"]
    assert prepared.excluded["YOUNG30"] == "only 30 days of NAV history; needs 31 to be considered"


def _ledoit_wolf(returns: pd.DataFrame) -> np.ndarray:
    return np.asarray(ledoit_wolf(returns.to_numpy())[0]) * 365


def _blend(column: pd.Series) -> float:
    r = column.dropna()
    return 365 * (0.4 * r.mean() + 0.3 * r.iloc[-90:].mean() + 0.2 * r.iloc[-30:].mean()
                  + 0.1 * r.iloc[-7:].mean())  # fmt: skip


def test_covariance_window_means_and_stats_by_hand() -> None:
    table = _table()
    prepared = prepare(table, OptimizerConfig(cov_lookback_days=10))
    returns = table[["A", "B", "YOUNG30"]].pct_change(fill_method=None).iloc[1:]
    common = returns.dropna()  # YOUNG30's 30 days (its returns start on the 11th day)
    assert len(common) == 30
    window = common.iloc[-10:]
    assert (prepared.window_start, prepared.window_end, prepared.window_days) == (
        "2024-03-31", "2024-04-09", 10)
    cov = _ledoit_wolf(window)
    assert prepared.cov.to_numpy() == pytest.approx(cov, rel=1e-9)
    assert list(prepared.cov.index) == list(prepared.cov.columns) == ["A", "B", "YOUNG30"]
    # The means use each token's whole history, not just the common window.
    mu = {s: _blend(returns[s]) for s in ["A", "B", "YOUNG30"]}
    assert prepared.mu.to_dict() == pytest.approx(mu, rel=1e-9)
    for k, (symbol, days) in enumerate([("A", 39), ("B", 39), ("YOUNG30", 30)]):
        stats = prepared.stats[symbol]
        assert stats.days == days
        assert stats.expected_return == pytest.approx(mu[symbol], rel=1e-9)
        assert stats.volatility == pytest.approx(math.sqrt(cov[k, k]), rel=1e-9)
    assert set(prepared.stats) == {"A", "B", "YOUNG30"}


def test_default_window_is_every_common_day_and_order_does_not_matter() -> None:
    table = _table()
    forward = prepare(table, OptimizerConfig())
    assert (forward.window_start, forward.window_end, forward.window_days) == (
        "2024-03-11", "2024-04-09", 30)
    backward = prepare(table.iloc[::-1], OptimizerConfig())  # days given newest first
    assert backward.symbols == forward.symbols
    assert backward.mu.to_numpy() == pytest.approx(forward.mu.to_numpy(), rel=1e-12)
    assert backward.window_start == "2024-03-11"


def test_window_labels_of_a_plain_index() -> None:
    table = _table().reset_index(drop=True)  # rows 0..39
    prepared = prepare(table[["A", "B"]], OptimizerConfig(cov_lookback_days=12))
    assert (prepared.window_start, prepared.window_end, prepared.window_days) == ("28", "39", 12)


def test_too_little_data_is_no_history_for_everyone() -> None:
    one_row = pd.DataFrame({"A": [1.0], "B": [2.0]})
    prepared = prepare(one_row, OptimizerConfig())
    assert prepared.symbols == [] and prepared.stats == {}
    assert prepared.excluded == {"A": "no NAV history yet", "B": "no NAV history yet"}
    assert prepared.mu.empty and prepared.cov.empty and prepared.window_days == 0
    assert prepared.mu.dtype == np.float64
    assert prepare(pd.DataFrame(index=DAYS), OptimizerConfig()).excluded == {}


def test_only_excluded_tokens_leave_nothing_to_solve() -> None:
    table = _table()[["FLAT", "YOUNG29"]]
    prepared = prepare(table, OptimizerConfig())
    assert prepared.symbols == [] and prepared.mu.empty and prepared.cov.empty
    assert set(prepared.excluded) == {"FLAT", "YOUNG29"}


def _split(first_last: int, second_first: int, n: int = 100) -> pd.DataFrame:
    early, late = _walk(5, n), _walk(6, n)
    early[first_last + 1:] = NAN
    late[:second_first] = NAN
    return pd.DataFrame({"EARLY": early, "LATE": late},
                        index=pd.date_range("2024-01-01", periods=n, freq="D"))


def test_histories_that_share_one_day_keep_the_longest() -> None:
    # EARLY marks days 0-59 (returns on days 1-59), LATE days 58-99 (returns on 59-99): one
    # common return day is not a covariance.
    prepared = prepare(_split(59, 58), OptimizerConfig())
    assert prepared.symbols == ["EARLY"]
    assert prepared.excluded == {"LATE": "its history does not overlap with EARLY's"}
    assert (prepared.window_start, prepared.window_end, prepared.window_days) == (
        "2024-01-02", "2024-02-29", 59)
    # The longer one is kept whichever column comes first.
    swapped = prepare(_split(59, 58)[["LATE", "EARLY"]], OptimizerConfig())
    assert swapped.symbols == ["EARLY"]


def test_histories_that_share_two_days_are_both_kept() -> None:
    prepared = prepare(_split(59, 57), OptimizerConfig())  # common returns on days 58 and 59
    assert prepared.symbols == ["EARLY", "LATE"]
    assert prepared.excluded == {}
    assert (prepared.window_start, prepared.window_end, prepared.window_days) == (
        "2024-02-28", "2024-02-29", 2)
    assert prepared.stats["EARLY"].days == 59 and prepared.stats["LATE"].days == 42


def test_same_returns_with_different_gaps_are_not_twins() -> None:
    table = _table()[["A", "B"]]
    table["HOLED"] = table["A"]
    table.iloc[20, 2] = NAN  # two returns missing: a different history, not a duplicate
    prepared = prepare(table, OptimizerConfig())
    assert prepared.symbols == ["A", "B", "HOLED"]
    assert prepared.stats["HOLED"].days == 37


def test_one_return_is_its_own_blend_and_two_days_are_one_return() -> None:
    config = OptimizerConfig(blend={"full": 0.5, "2": 0.3, "4": 0.2}, frequency=10)
    assert blended_mean(np.array([0.01]), config) == pytest.approx(0.1, rel=1e-12)  # 10 x 0.01
    two_days = pd.DataFrame({"A": [100.0, 101.0]})
    prepared = prepare(two_days, OptimizerConfig())
    assert prepared.excluded == {"A": "only 1 days of NAV history; needs 30 to be considered"}
    assert prepared.mu.dtype == np.float64 and prepared.mu.empty


def test_fingerprints_ignore_float_noise_but_not_gaps() -> None:
    # Below 1e-12 a return is rounding noise, and its sign too: -1e-13 and +1e-13 are both zero.
    assert _fingerprint(np.array([-1e-13, 0.01, NAN])) == _fingerprint(np.array([1e-13, 0.01, NAN]))
    assert _fingerprint(np.array([0.01 + 3e-14, 0.02])) == _fingerprint(np.array([0.01, 0.02]))
    assert _fingerprint(np.array([0.01 + 2e-12, 0.02])) != _fingerprint(np.array([0.01, 0.02]))
    # A missing day is not a day without change.
    assert _fingerprint(np.array([NAN, 0.01])) != _fingerprint(np.array([0.0, 0.01]))
