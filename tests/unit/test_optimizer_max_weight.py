"""Premium's own cap per token (``RiskProfile.max_weight``, chat: ``/risk maxweight N``).

Expected weights are derived from the rules, not from the solver: a single clearly rising token
is held at whatever cap applies; exactly 1 / cap tokens can only be fully invested with every one
at the cap; no weight ever exceeds the cap in force.
"""

from __future__ import annotations

import os
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.optimizer import OptimizerConfig, RiskProfile, Tier, suggest

EXAMPLES = 200 if os.environ.get("ARENA_DEEP_TESTS") == "1" else 20


def _rising(n_days: int, n_tokens: int, seed: int = 1) -> pd.DataFrame:
    """Noisy NAVs whose every blend window has a clearly positive mean return."""
    noise = np.random.default_rng(seed).normal(0.0, 0.004, (n_days, n_tokens))
    returns = 0.003 + noise - noise.mean(axis=0)
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0),
                        columns=[f"T{i}" for i in range(n_tokens)],
                        index=pd.date_range("2024-01-01", periods=n_days, freq="D"))


def test_one_rising_token_is_held_at_the_profile_cap_on_premium() -> None:
    decision = suggest(_rising(200, 1), tier=Tier.PREMIUM, profile=RiskProfile(max_weight=0.15))
    # At the cap, up to the solver's tolerance: weights are floored to the millionth.
    assert set(decision.weights) == {"T0"}
    assert Decimal("0.149999") <= decision.weights["T0"] <= Decimal("0.15")
    assert decision.cash_weight == 1 - decision.weights["T0"]
    assert decision.profile == "max_sharpe|max_weight:0.15"
    assert decision.inputs["max_weight"] == 0.15
    assert "at most 15% per token" in decision.summary


def test_a_lower_plan_ignores_the_profile_cap() -> None:
    decision = suggest(_rising(200, 1), tier=Tier.BASIC, profile=RiskProfile(max_weight=0.15))
    assert decision.weights == {"T0": Decimal("0.2")}  # the standard 20 % cap
    assert decision.profile == "max_sharpe"
    assert decision.note and "needs the Premium plan" in decision.note


def test_exactly_one_over_cap_tokens_are_all_at_the_cap() -> None:
    # Ten tokens under a 10 % cap: the only fully invested allocation is 10 % each.
    decision = suggest(_rising(200, 10, seed=3), tier=Tier.PREMIUM,
                       profile=RiskProfile(max_weight=0.10))
    assert decision.weights == {f"T{i}": Decimal("0.1") for i in range(10)}
    assert decision.cash_weight == 0


def test_a_tighter_cap_with_a_volatility_target_keeps_both() -> None:
    prices = _rising(200, 8, seed=5)
    capped = suggest(prices, tier=Tier.PREMIUM,
                     profile=RiskProfile(kind="target_volatility", target_volatility=0.5, max_weight=0.08))
    assert capped.weights and all(w <= Decimal("0.08") for w in capped.weights.values())
    # Eight tokens at 8 % at most: at least 36 % stays in cash.
    assert capped.cash_weight >= Decimal("0.36")
    assert capped.profile == "target_volatility:0.5|max_weight:0.08"


def test_a_profile_never_loosens_a_tighter_configured_cap() -> None:
    tight = OptimizerConfig(max_weight=0.1)
    decision = suggest(_rising(200, 1), tier=Tier.PREMIUM, profile=RiskProfile(max_weight=0.15),
                       config=tight)
    assert decision.inputs["max_weight"] == 0.1
    assert Decimal("0.099999") <= decision.weights["T0"] <= Decimal("0.1")


@pytest.mark.parametrize("cap", [0.0, 0.04, 0.21, 0.5, 1.0])
def test_caps_outside_5_to_20_percent_are_refused(cap: float) -> None:
    with pytest.raises(ValidationError):
        RiskProfile(max_weight=cap)


def test_profiles_without_a_cap_store_as_before() -> None:
    stored = RiskProfile(kind="target_volatility", target_volatility=0.1).model_dump(exclude_none=True)
    assert stored == {"kind": "target_volatility", "risk_aversion": 2.0, "target_volatility": 0.1}
    assert RiskProfile.model_validate(stored).key() == "target_volatility:0.1"
    assert not RiskProfile().is_custom() and RiskProfile(max_weight=0.2).is_custom()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_tokens=st.integers(1, 14),
       percent=st.integers(5, 20),
       kind=st.sampled_from(["max_sharpe", "risk_aversion", "target_volatility"]))
def test_weights_never_exceed_the_profile_cap(seed: int, n_tokens: int, percent: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.normal(rng.normal(0.001, 0.002, n_tokens), rng.uniform(0.005, 0.05, n_tokens),
                         (150, n_tokens))
    prices = pd.DataFrame(100 * np.cumprod(1 + np.clip(returns, -0.9, 5.0), axis=0),
                          columns=[f"T{i}" for i in range(n_tokens)])
    cap = Decimal(percent) / 100
    profile = RiskProfile.model_validate({"kind": kind, "max_weight": percent / 100})
    decision = suggest(prices, tier=Tier.PREMIUM, profile=profile)
    assert all(Decimal(0) < w <= cap for w in decision.weights.values())
    assert all(w <= cap for w in decision.equal_weight.weights.values())
    assert decision.cash_weight == 1 - sum(decision.weights.values(), Decimal(0)) >= 0
