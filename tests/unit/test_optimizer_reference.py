"""The optimizer's weights against an independent, bare PyPortfolioOpt solve of the same inputs.

The reference below recomputes everything from the NAV table with pandas and PyPortfolioOpt
directly — daily simple returns, the blended annualised mean (40 % full history, 30 % last 90
days, 20 % last 30, 10 % last 7; x365), the Ledoit-Wolf covariance of the last 365 days (x365),
bounds 0-20 % — and solves with ``EfficientFrontier``. The engine's weights must equal it to 1e-6
(they are the solver's weights floored to 1e-6; weights below the 0.5 % trading minimum become cash).
A mutant that hands out capped equal weights, drops the blend or the shrinkage, or loosens the cap
fails here.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, risk_models

from core.optimizer import OptimizerConfig, RiskProfile, Tier, suggest

CAP, MIN_WEIGHT, TOLERANCE = 0.2, 0.005, 1e-6 + 1e-9


def _market(n_tokens: int, seed: int, days: int = 420) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    drift = rng.uniform(0.0002, 0.0025, n_tokens)
    vol = rng.uniform(0.004, 0.03, n_tokens)
    common = rng.normal(0.0, 0.01, (days, 1))  # a shared factor: the covariance matters
    returns = drift + vol * rng.normal(0.0, 1.0, (days, n_tokens)) + 0.5 * common
    prices = 100.0 * np.cumprod(1.0 + returns, axis=0)
    return pd.DataFrame(
        prices,
        columns=[f"TOK{i}" for i in range(n_tokens)],
        index=pd.date_range("2023-01-01", periods=days, freq="D"),
    )


def _inputs(prices: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    returns = prices.pct_change().iloc[1:]
    blend = {None: 0.4, 90: 0.3, 30: 0.2, 7: 0.1}
    mu = pd.Series(
        {
            c: 365
            * sum(w * (returns[c] if n is None else returns[c].iloc[-n:]).mean() for n, w in blend.items())
            for c in returns.columns
        }
    )
    window = returns.iloc[-365:]
    cov = risk_models.CovarianceShrinkage(window, returns_data=True, frequency=365).ledoit_wolf()
    return mu, cov


def _expected(raw: dict[str, float]) -> dict[str, float]:
    return {s: (w if w >= MIN_WEIGHT else 0.0) for s, w in raw.items()}


def _assert_matches(weights: dict[str, Decimal], reference: dict[str, float]) -> None:
    assert set(weights) <= set(reference)
    for symbol, expected in reference.items():
        got = float(weights.get(symbol, Decimal(0)))
        assert abs(got - expected) <= TOLERANCE, (symbol, got, expected)


@pytest.mark.parametrize("seed", [3, 11, 29])
@pytest.mark.parametrize("n_tokens", [6, 9])
def test_max_sharpe_weights_equal_a_bare_pypfopt_solve(seed: int, n_tokens: int) -> None:
    prices = _market(n_tokens, seed)
    mu, cov = _inputs(prices)
    frontier = EfficientFrontier(mu, cov, weight_bounds=(0, CAP))
    reference = _expected(frontier.max_sharpe(risk_free_rate=0.0))
    decision = suggest(prices, tier=Tier.PREMIUM)
    assert decision.method == "max_sharpe"
    _assert_matches(decision.weights, reference)
    assert len(decision.weights) >= 5  # at most 20 % each: fully invested needs five or more
    assert decision.cash_weight == 1 - sum(decision.weights.values(), Decimal(0))
    assert decision.cash_weight < Decimal("0.01")  # only the 1e-6 flooring and dust stay in cash


def _with_cash(mu: pd.Series, cov: pd.DataFrame) -> EfficientFrontier:
    """Cash as one more asset: the risk-free return (0) and no variance, up to 100 %."""
    n = len(mu)
    mu_c = pd.concat([mu, pd.Series({"CASH": 0.0})])
    cov_c = pd.DataFrame(np.zeros((n + 1, n + 1)), index=mu_c.index, columns=mu_c.index)
    cov_c.iloc[:n, :n] = cov.to_numpy()
    return EfficientFrontier(mu_c, cov_c, weight_bounds=[(0, CAP)] * n + [(0, 1)])


def test_too_few_tokens_solve_utility_with_cash_like_pypfopt() -> None:
    prices = _market(3, seed=5)
    mu, cov = _inputs(prices)
    raw = _with_cash(mu, cov).max_quadratic_utility(risk_aversion=2.0)
    reference = _expected({s: w for s, w in raw.items() if s != "CASH"})
    decision = suggest(prices, tier=Tier.PREMIUM)
    assert decision.method == "utility_with_cash"
    _assert_matches(decision.weights, reference)
    assert decision.cash_weight >= Decimal("0.4")  # three tokens at most 20 % each


def test_premium_risk_aversion_profile_like_pypfopt() -> None:
    prices = _market(8, seed=17)
    mu, cov = _inputs(prices)
    raw = _with_cash(mu, cov).max_quadratic_utility(risk_aversion=25.0)
    reference = _expected({s: w for s, w in raw.items() if s != "CASH"})
    profile = RiskProfile(kind="risk_aversion", risk_aversion=25.0)
    decision = suggest(prices, tier=Tier.PREMIUM, profile=profile)
    assert decision.method == "risk_aversion"
    _assert_matches(decision.weights, reference)
    assert any(w > 0 for w in reference.values())


@pytest.mark.parametrize("seed", [2, 3, 5])
def test_interior_weights_equal_a_bare_pypfopt_solve(seed: int) -> None:
    """Twelve tokens: the optimum holds most of them strictly between 0.5 % and the cap, where any
    change to the inputs (the blend, a window, the shrinkage, the return convention) moves weights."""
    prices = _market(12, seed)
    mu, cov = _inputs(prices)
    reference = _expected(EfficientFrontier(mu, cov, weight_bounds=(0, CAP)).max_sharpe(risk_free_rate=0.0))
    assert sum(1 for w in reference.values() if MIN_WEIGHT < w < CAP - 0.001) >= 7  # the premise
    decision = suggest(prices, tier=Tier.PREMIUM)
    assert decision.method == "max_sharpe"
    _assert_matches(decision.weights, reference)
    assert decision.cash_weight == 1 - sum(decision.weights.values(), Decimal(0))


def test_every_input_setting_reaches_the_solve() -> None:
    """Non-default blend, frequency, covariance lookback, cap and risk-free rate, recomputed by hand:
    with a risk-free rate the annualisation factor changes the answer (return vs cash), so a setting
    that is dropped on the way moves weights."""
    config = OptimizerConfig(blend={"full": 0.6, "45": 0.4}, frequency=252, cov_lookback_days=200,
                             max_weight=0.3, risk_free_rate=0.05)  # fmt: skip
    prices = _market(9, seed=11)
    returns = prices.pct_change().iloc[1:]
    mu = pd.Series({c: 252 * (0.6 * returns[c].mean() + 0.4 * returns[c].iloc[-45:].mean()) for c in returns})
    cov = risk_models.CovarianceShrinkage(returns.iloc[-200:], returns_data=True, frequency=252).ledoit_wolf()
    raw = EfficientFrontier(mu, cov, weight_bounds=(0, 0.3)).max_sharpe(risk_free_rate=0.05)
    reference = _expected(raw)
    assert sum(1 for w in reference.values() if MIN_WEIGHT < w < 0.3 - 0.001) >= 3  # the premise
    decision = suggest(prices, tier=Tier.PREMIUM, config=config)
    assert decision.method == "max_sharpe"
    _assert_matches(decision.weights, reference)
