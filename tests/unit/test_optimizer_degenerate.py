"""Degenerate and infeasible inputs give a clear decision, never an exception."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from core.optimizer import OptimizerConfig, RiskProfile, Tier, suggest


def _prices(returns: np.ndarray, names: list[str] | None = None) -> pd.DataFrame:
    names = names or [f"T{i}" for i in range(returns.shape[1])]
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), columns=names,
                        index=pd.date_range("2024-01-01", periods=returns.shape[0], freq="D"))


def _rng_returns(n_days: int, n_tokens: int, seed: int = 1, mean: float = 0.002) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 0.02, (n_days, n_tokens))


def _rising(n_days: int, n_tokens: int, seed: int = 1) -> np.ndarray:
    """Noisy returns whose every blend window (full, 90, 30, 7 days) has a clearly positive mean."""
    noise = np.random.default_rng(seed).normal(0.0, 0.004, (n_days, n_tokens))
    return 0.003 + noise - noise.mean(axis=0)


def test_empty_table_is_all_cash() -> None:
    decision = suggest(pd.DataFrame())
    assert decision.weights == {}
    assert decision.cash_weight == 1
    assert decision.method == "cash"
    assert "cash" in decision.summary.lower()


def test_one_token_is_capped_rest_cash() -> None:
    # A single, clearly rising token: the optimizer must hold it at the 20 % cap (not all cash).
    decision = suggest(_prices(_rising(200, 1)))
    assert decision.method == "utility_with_cash"
    assert decision.weights == {"T0": Decimal("0.2")}
    assert decision.cash_weight == Decimal("0.8")
    assert decision.note and "only 1 eligible token" in decision.note


def test_zero_variance_token_is_excluded_with_reason() -> None:
    prices = _prices(_rng_returns(200, 6))
    prices["FLAT"] = 1.0
    decision = suggest(prices)
    assert "FLAT" not in decision.weights
    assert "never moved" in decision.reasons["FLAT"]
    assert decision.method == "max_sharpe" and len(decision.weights) >= 5  # the others are held


def test_all_flat_is_cash() -> None:
    prices = pd.DataFrame({"A": [1.0] * 60, "B": [2.0] * 60})
    decision = suggest(prices)
    assert decision.weights == {} and decision.cash_weight == 1


def test_nan_and_infinite_navs_do_not_break() -> None:
    prices = _prices(_rng_returns(200, 6))
    prices.iloc[10:20, 0] = np.nan
    prices.iloc[50, 1] = np.inf
    prices.iloc[60, 2] = -5.0
    prices["ALLNAN"] = np.nan
    decision = suggest(prices)
    assert "ALLNAN" not in decision.weights
    assert "history" in decision.reasons["ALLNAN"]
    assert decision.method == "max_sharpe"  # bad marks are gaps, not a reason to give up
    assert len(decision.weights) >= 5 and sum(decision.weights.values()) > Decimal("0.99")


def test_identical_tokens_counted_once() -> None:
    prices = _prices(_rng_returns(200, 5))
    prices["TWIN"] = prices["T0"]
    decision = suggest(prices)
    assert "TWIN" not in decision.weights
    assert "identical to T0" in decision.reasons["TWIN"]
    assert decision.weights["T0"] == Decimal("0.2")  # the original is held, once, at the cap


def test_short_history_excluded() -> None:
    prices = _prices(_rng_returns(200, 6))
    prices.iloc[:190, 5] = np.nan
    decision = suggest(prices)
    assert "T5" not in decision.weights
    assert "days of NAV history" in decision.reasons["T5"]
    assert set(decision.weights) == {"T0", "T1", "T2", "T3", "T4"}


def test_all_negative_returns_stay_in_cash() -> None:
    decision = suggest(_prices(_rng_returns(200, 6, mean=-0.01)))
    assert decision.weights == {}
    assert decision.cash_weight == 1
    assert decision.note and "beats cash" in decision.note
    assert all(r.startswith("out") for r in decision.reasons.values())


def test_fewer_than_five_tokens_keep_rest_in_cash() -> None:
    decision = suggest(_prices(_rising(200, 3)))
    assert decision.weights == {"T0": Decimal("0.2"), "T1": Decimal("0.2"), "T2": Decimal("0.2")}
    assert decision.cash_weight == Decimal("0.4")


def test_tier_limits() -> None:
    prices = _prices(_rng_returns(200, 15, mean=0.003))
    free = suggest(prices, tier=Tier.FREE)
    basic = suggest(prices, tier=Tier.BASIC)
    premium = suggest(prices, tier=Tier.PREMIUM)
    assert len(free.weights) <= 3
    assert len(basic.weights) <= 10
    assert len(premium.inputs["considered"]) == 15
    dropped = [s for s, r in basic.reasons.items() if "at most 10 tokens" in r]
    assert len(dropped) == 5


def test_custom_profile_needs_premium() -> None:
    prices = _prices(_rng_returns(200, 8))
    decision = suggest(prices, tier=Tier.BASIC, profile=RiskProfile(kind="risk_aversion"))
    assert decision.profile == "max_sharpe"
    assert decision.note and "Premium" in decision.note


def test_target_volatility_below_token_minimum_holds_cash() -> None:
    prices = _prices(_rng_returns(200, 8))
    decision = suggest(prices, tier=Tier.PREMIUM,
                       profile=RiskProfile(kind="target_volatility", target_volatility=0.01))
    assert decision.performance.volatility <= 0.0101
    assert decision.cash_weight > Decimal("0.5")


def test_failing_solver_falls_back_with_reason() -> None:
    # A solver name cvxpy does not know makes every solve fail: the decision must still come.
    config = OptimizerConfig(solver="NO_SUCH_SOLVER")
    decision = suggest(_prices(_rng_returns(200, 7)), config=config)
    assert decision.method == "fallback:equal_weight"
    assert decision.note and "failed" in decision.note
    assert all(w <= Decimal("0.2") for w in decision.weights.values())


def test_decision_as_dict_is_json_ready() -> None:
    import json

    decision = suggest(_prices(_rng_returns(120, 6)))
    text = json.dumps(decision.as_dict())
    assert "equal_weight" in text and "reasons" in text


def test_config_validation() -> None:
    with pytest.raises(ValidationError):
        OptimizerConfig(blend={"full": 0.5, "7": 0.4})
    with pytest.raises(ValidationError):
        OptimizerConfig(blend={"full": 0.5, "week": 0.5})
    with pytest.raises(ValidationError):
        RiskProfile(kind="risk_aversion", risk_aversion=-1)
