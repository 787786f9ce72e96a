"""Hypothesis properties of the optimizer's constraints: bounds, sum, cash remainder, tiers."""

from __future__ import annotations

import os
from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.optimizer import RiskProfile, Tier, max_tokens, suggest

EXAMPLES = 200 if os.environ.get("ARENA_DEEP_TESTS") == "1" else 25
CAP = Decimal("0.2")


@st.composite
def nav_tables(draw: st.DrawFn) -> pd.DataFrame:
    n_tokens = draw(st.integers(min_value=0, max_value=14))
    n_days = draw(st.integers(min_value=0, max_value=120))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    drift = rng.normal(0.0, 0.003, n_tokens)
    vol = rng.uniform(0.0, 0.06, n_tokens)
    returns = rng.normal(drift, vol, (n_days, n_tokens))
    prices = 100.0 * np.cumprod(1.0 + np.clip(returns, -0.9, 5.0), axis=0)
    frame = pd.DataFrame(prices, columns=[f"T{i}" for i in range(n_tokens)],
                         index=pd.date_range("2024-01-01", periods=n_days, freq="D"))
    # Young tokens (leading NaN), holes, duplicates and flat lines.
    for i in range(n_tokens):
        kind = draw(st.sampled_from(["plain", "young", "holes", "flat", "dup"]))
        if kind == "young" and n_days:
            frame.iloc[: draw(st.integers(0, n_days)), i] = np.nan
        elif kind == "holes" and n_days:
            frame.iloc[rng.integers(0, n_days, size=3), i] = np.nan
        elif kind == "flat":
            frame.iloc[:, i] = 1.0
        elif kind == "dup" and i > 0:
            frame.iloc[:, i] = frame.iloc[:, 0]
    return frame


profiles = st.sampled_from([
    None,
    RiskProfile(kind="risk_aversion", risk_aversion=0.5),
    RiskProfile(kind="risk_aversion", risk_aversion=20.0),
    RiskProfile(kind="target_volatility", target_volatility=0.05),
    RiskProfile(kind="target_volatility", target_volatility=1.0),
])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prices=nav_tables(), tier=st.sampled_from(list(Tier)), profile=profiles)
def test_weights_respect_constraints(prices: pd.DataFrame, tier: Tier,
                                     profile: RiskProfile | None) -> None:
    decision = suggest(prices, tier=tier, profile=profile)
    total = sum(decision.weights.values(), Decimal(0))
    assert all(Decimal(0) < w <= CAP for w in decision.weights.values())
    assert total <= 1
    assert decision.cash_weight == 1 - total
    assert decision.cash_weight >= 0
    limit = max_tokens(tier)
    if limit is not None:
        assert len(decision.weights) <= limit
    assert set(decision.weights) <= set(prices.columns)
    # Every token seen is explained.
    assert set(decision.reasons) == {str(c) for c in prices.columns}
    assert decision.summary
    # The equal-weight alternative obeys the same rules.
    ew_total = sum(decision.equal_weight.weights.values(), Decimal(0))
    assert ew_total <= 1 and all(w <= CAP for w in decision.equal_weight.weights.values())
    assert decision.equal_weight.cash_weight == 1 - ew_total
    if tier is not Tier.PREMIUM and profile is not None:
        assert decision.profile == "max_sharpe"


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tokens=st.integers(5, 12))
def test_enough_tokens_fully_invested_under_max_sharpe(seed: int, n_tokens: int) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.002, 0.02, (200, n_tokens))
    prices = pd.DataFrame(100 * np.cumprod(1 + returns, axis=0),
                          columns=[f"T{i}" for i in range(n_tokens)])
    decision = suggest(prices, tier=Tier.PREMIUM)
    # Five or more tokens, some beating cash: the max-Sharpe solve itself (never a fallback) and
    # fully invested; only rounding dust and sub-minimum weights are left in cash.
    assert decision.method == "max_sharpe", decision.note
    assert len(decision.weights) >= 5
    assert decision.cash_weight < Decimal("0.03")
