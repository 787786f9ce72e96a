"""The optimizer's configuration, profiles and small helpers, with expectations written by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from core.optimizer import OptimizerConfig, RiskProfile, Tier, max_tokens
from core.optimizer.solve import CASH_KEY, _clean, _frontier, equal_weight


def test_profile_keys_and_descriptions() -> None:
    assert RiskProfile().key() == "max_sharpe"
    assert RiskProfile().describe() == "maximum Sharpe ratio"
    assert RiskProfile(kind="risk_aversion", risk_aversion=4.0).key() == "risk_aversion:4"
    assert RiskProfile(kind="risk_aversion", risk_aversion=2.5).describe() == (
        "mean-variance utility with risk aversion 2.5")
    assert RiskProfile(kind="target_volatility", target_volatility=0.2).key() == "target_volatility:0.2"
    assert RiskProfile(kind="target_volatility", target_volatility=0.25).describe() == (
        "highest return at volatility <= 25%/yr")
    assert RiskProfile().risk_aversion == 2.0 and RiskProfile().target_volatility == 0.25


@pytest.mark.parametrize("bad", [
    {"kind": "yolo"}, {"risk_aversion": 0.0}, {"risk_aversion": 1000.5}, {"target_volatility": 0.0},
    {"target_volatility": 5.5}, {"surprise": 1},
])
def test_profile_bounds(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RiskProfile.model_validate(bad)


def test_profile_edges_are_allowed() -> None:
    assert RiskProfile(risk_aversion=1000.0).risk_aversion == 1000.0
    assert RiskProfile(target_volatility=5.0).target_volatility == 5.0


def test_tiers() -> None:
    assert max_tokens(Tier.FREE) == 3 and max_tokens(Tier.BASIC) == 10 and max_tokens(Tier.PREMIUM) is None


def test_config_defaults_and_full_tokens() -> None:
    config = OptimizerConfig()
    assert config.blend == {"full": 0.4, "90": 0.3, "30": 0.2, "7": 0.1}
    assert (config.max_weight, config.min_weight, config.frequency) == (0.2, 0.005, 365)
    assert (config.risk_free_rate, config.min_history_days, config.cov_lookback_days) == (0.0, 30, 365)
    assert config.min_full_tokens() == 5
    assert OptimizerConfig(max_weight=0.25).min_full_tokens() == 4
    assert OptimizerConfig(max_weight=0.3).min_full_tokens() == 4
    assert OptimizerConfig(max_weight=1.0, min_weight=0.0).min_full_tokens() == 1


@pytest.mark.parametrize("blend", [{}, {"full": 0.5, "1": 0.5}, {"full": 0.5, "x": 0.5},
                                   {"full": 1.5, "30": -0.5}, {"full": 0.5, "30": 0.4},
                                   {"full": float("nan")}])
def test_config_rejects_bad_blends(blend: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        OptimizerConfig(blend=blend)


def test_config_accepts_edge_blends_and_bounds() -> None:
    assert OptimizerConfig(blend={"full": 1.0}).blend == {"full": 1.0}
    assert OptimizerConfig(blend={"2": 0.5, "full": 0.5}).blend["2"] == 0.5
    assert OptimizerConfig(blend={"full": 1.0, "30": 0.0}).blend["30"] == 0.0
    with pytest.raises(ValidationError):
        OptimizerConfig(min_weight=0.1, max_weight=0.1)


def test_equal_weight_is_capped() -> None:
    assert equal_weight([], 0.2) == {}
    assert equal_weight(["A", "B"], 0.2) == {"A": 0.2, "B": 0.2}
    assert equal_weight(["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"], 0.2) == {
        s: 0.1 for s in "ABCDEFGHIJ"}


def test_clean_drops_cash_and_noise() -> None:
    raw = {"A": 0.25, "B": -0.0, CASH_KEY: 0.5, "C": float("nan"), "D": -1e-9}
    assert _clean(raw) == {"A": 0.25, "B": 0.0, "C": 0.0, "D": 0.0}
    assert _clean(None) == {}


def test_frontier_bounds_and_cash_asset() -> None:
    mu = pd.Series({"A": 0.1, "B": 0.2})
    cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=mu.index, columns=mu.index)
    config = OptimizerConfig()
    plain = _frontier(mu, cov, config, with_cash=False)
    assert list(plain.tickers) == ["A", "B"]
    assert [tuple(b) for b in plain._lower_bounds.reshape(-1, 1)] == [(0.0,), (0.0,)]
    assert list(plain._upper_bounds) == [0.2, 0.2]
    cash = _frontier(mu, cov, config, with_cash=True)
    assert list(cash.tickers) == ["A", "B", CASH_KEY]
    assert list(cash._upper_bounds) == [0.2, 0.2, 1.0]
    assert list(cash.expected_returns) == [0.1, 0.2, 0.0]
    expected = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 0.0]])
    assert np.allclose(np.asarray(cash.cov_matrix, dtype=float), expected)


def _diag(symbols: list[str], variance: float = 0.04) -> pd.DataFrame:
    return pd.DataFrame(np.eye(len(symbols)) * variance, index=symbols, columns=symbols)


def test_solve_paths_say_what_they_did() -> None:
    from core.optimizer.solve import solve

    config, default = OptimizerConfig(), RiskProfile()
    none = solve([], pd.Series(dtype="float64"), pd.DataFrame(), config, default)
    assert (none.weights, none.method, none.note) == (
        {}, "cash", "no eligible tokens, so everything stays in cash")
    three = ["A", "B", "C"]
    losing = solve(three, pd.Series({"A": -0.1, "B": 0.0, "C": -0.2}), _diag(three), config, default)
    assert (losing.weights, losing.method) == ({}, "cash")
    assert losing.note == "no eligible token's expected return beats cash, so all is in cash"
    few = solve(three, pd.Series({"A": 0.3, "B": 0.4, "C": 0.5}), _diag(three), config, default)
    assert few.method == "utility_with_cash"
    assert few.note == ("only 3 eligible token(s): with at most 20% each the wallet cannot be fully "
                        "invested, so the rest is cash (mean-variance utility, risk aversion 2)")
    assert all(abs(w - 0.2) < 1e-6 for w in few.weights.values())
    five = list("ABCDE")
    exact = solve(five, pd.Series(dict.fromkeys(five, 0.1)), _diag(five), config, default)
    assert (exact.weights, exact.method) == (dict.fromkeys(five, 0.2), "max_sharpe")
    assert exact.note == "5 eligible tokens at the 20% cap each is the only fully invested allocation"
    six = list("ABCDEF")
    mu6 = pd.Series({s: 0.05 * (i + 1) for i, s in enumerate(six)})
    averse = solve(six, mu6, _diag(six), config, RiskProfile(kind="risk_aversion", risk_aversion=3.0))
    assert averse.method == "risk_aversion" and averse.note is None
    target = RiskProfile(kind="target_volatility", target_volatility=0.05)
    capped = solve(six, mu6, _diag(six), config, target)
    assert capped.method == "target_volatility"
    held = np.array([capped.weights.get(s, 0.0) for s in six])
    assert float(np.sqrt(held @ _diag(six).to_numpy() @ held)) <= 0.05 + 1e-6


def test_every_failure_falls_back_to_capped_equal_weight_with_the_reasons() -> None:
    from core.optimizer.solve import solve

    six = list("ABCDEF")
    broken = OptimizerConfig(solver="NO_SUCH_SOLVER")
    result = solve(six, pd.Series(dict.fromkeys(six, 0.1)), _diag(six), broken, RiskProfile())
    assert result.weights == dict.fromkeys(six, 1 / 6) and result.method == "fallback:equal_weight"
    assert result.note is not None
    assert result.note.startswith("the max sharpe solve failed (")
    assert ", and minimum volatility failed too (" in result.note
    assert result.note.endswith("; used capped equal weights instead")
    three = list("ABC")
    small = solve(three, pd.Series(dict.fromkeys(three, 0.1)), _diag(three), broken, RiskProfile())
    assert small.weights == dict.fromkeys(three, 0.2) and small.method == "fallback:equal_weight"
    assert small.note is not None and "minimum volatility" not in small.note  # too few to be fully invested


def test_a_tier_limit_keeps_the_best_stand_alone_sharpe_ratios() -> None:
    from core.optimizer import suggest

    rng = np.random.default_rng(5)
    noise = rng.normal(0.0, 0.01, (200, 12))
    noise -= noise.mean(axis=0)
    noise /= noise.std(axis=0) / 0.01  # every token: the same daily volatility, 1 %
    drifts = np.array([0.0001 * (k + 1) for k in range(12)])  # T11 best, T0 worst
    returns = drifts + noise
    # The same noise path shifted per token would be one strategy twice: decorrelate by rolling.
    for k in range(12):
        returns[:, k] = drifts[k] + np.roll(noise[:, k], 7 * k)
    prices = pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), columns=[f"T{k}" for k in range(12)],
                          index=pd.date_range("2024-01-01", periods=200, freq="D"))
    basic = suggest(prices, tier=Tier.BASIC)
    stats = basic.inputs["token_stats"]
    ranked = sorted(stats, key=lambda s: -(stats[s]["expected_return"] / stats[s]["volatility"]))
    assert basic.inputs["considered"] == sorted(ranked[:10], key=lambda s: int(s[1:]))
    for rank, symbol in enumerate(ranked[10:], start=11):
        assert basic.reasons[symbol] == (f"out: the Basic plan holds at most 10 tokens and it ranks #{rank} "
                                         "by stand-alone risk-adjusted return")


@pytest.mark.parametrize(("fields", "message"), [
    ({"blend": {}}, "blend needs at least one window"),
    ({"blend": {"full": 0.5, "1": 0.5}}, "blend window '1' must be 'full' or a number of days >= 2"),
    ({"blend": {"full": 0.5, "week": 0.5}}, "blend window 'week' must be 'full' or a number of days >= 2"),
    ({"blend": {"full": 1.5, "30": -0.5}}, "blend weight for '30' must be a non-negative number"),
    ({"blend": {"full": float("inf")}}, "blend weight for 'full' must be a non-negative number"),
    ({"blend": {"full": 0.5, "30": 0.4}}, "blend weights must sum to 1"),
    ({"blend": {"full": 0.5, "30": 0.5 + 2e-9}}, "blend weights must sum to 1"),
    ({"min_weight": 0.1, "max_weight": 0.1}, "min_weight must be below max_weight"),
    ({"min_weight": 0.15, "max_weight": 0.1}, "min_weight must be below max_weight"),
])  # fmt: skip
def test_config_errors_say_what_is_wrong(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OptimizerConfig.model_validate(fields)
    errors = caught.value.errors()
    assert len(errors) == 1 and errors[0]["msg"] == f"Value error, {message}"


def test_blend_tolerances_that_are_accepted() -> None:
    # Float sums within 1e-9 of one are one; "02" is two days; a window of exactly two days is allowed.
    assert OptimizerConfig(blend={"full": 0.5, "30": 0.5 + 5e-10}).blend["30"] == 0.5 + 5e-10
    assert OptimizerConfig(blend={"full": 0.2, "7": 0.7, "30": 0.1}).blend["7"] == 0.7  # sums to 0.999...9
    assert OptimizerConfig(blend={"02": 1.0}).blend == {"02": 1.0}
    assert OptimizerConfig(min_weight=0.0, max_weight=0.01).min_full_tokens() == 100


def test_keys_use_the_shortest_number_form() -> None:
    assert RiskProfile(kind="risk_aversion", risk_aversion=0.125).key() == "risk_aversion:0.125"
    assert RiskProfile(kind="target_volatility", target_volatility=1.0).key() == "target_volatility:1"
    assert RiskProfile(kind="target_volatility", target_volatility=0.125).describe() == (
        "highest return at volatility <= 12%/yr")  # ".0%" rounds half to even
    # The profile's own numbers only matter for its kind.
    assert RiskProfile(risk_aversion=7.0, target_volatility=0.5).key() == "max_sharpe"
    assert RiskProfile(risk_aversion=7.0).describe() == "maximum Sharpe ratio"
    assert RiskProfile(kind="risk_aversion", target_volatility=0.5).key() == "risk_aversion:2"


def test_clean_turns_negative_zero_into_zero() -> None:
    cleaned = _clean({"A": -0.0, "B": -1e-9})
    assert [math.copysign(1.0, w) for w in cleaned.values()] == [1.0, 1.0]
