"""``suggest`` end to end, against values worked out independently: the stored inputs, notes,
summary, reasons, the equal-weight alternative, tier ranking with a risk-free rate, and the solve's
fallbacks and cash-aware profiles next to bare PyPortfolioOpt / cvxpy solves.

Reference inputs are recomputed with pandas + scikit-learn / PyPortfolioOpt (see
``test_optimizer_reference.py``); reference weights are floored to 1e-6 here with ``Decimal`` as the
documented rule says, and weights under the 0.5 % minimum go to cash.
"""

from __future__ import annotations

import logging
import math
from decimal import ROUND_FLOOR, Decimal

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier
from sklearn.covariance import ledoit_wolf

from core.optimizer import OptimizerConfig, RiskProfile, Tier, suggest
from core.optimizer.engine import _standalone_sharpe
from core.optimizer.inputs import TokenStats
from core.optimizer.solve import solve
from tests.unit.test_optimizer_reference import _inputs, _market, _with_cash

CAP = 0.2
Q = Decimal("0.000001")


def _floor(weights: dict[str, float], minimum: float = 0.005) -> dict[str, Decimal]:
    out = {s: Decimal.from_float(w).quantize(Q, rounding=ROUND_FLOOR) for s, w in weights.items()
           if w >= minimum}  # fmt: skip
    return {s: w for s, w in out.items() if w > 0}


def _rising(n_days: int, n_tokens: int, seed: int) -> pd.DataFrame:
    noise = np.random.default_rng(seed).normal(0.0, 0.004 * (1 + np.arange(n_tokens)), (n_days, n_tokens))
    returns = 0.003 + noise - noise.mean(axis=0)
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), columns=[f"R{i}" for i in range(n_tokens)],
                        index=pd.date_range("2024-05-01", periods=n_days, freq="D"))  # fmt: skip


def test_stored_inputs_field_by_field() -> None:
    prices = _market(6, seed=3, days=400)
    prices["FLAT"] = 5.0
    prices.iloc[:300, 2] = np.nan  # TOK2: 99 returns, from the 302nd day
    decision = suggest(prices, tier=Tier.PREMIUM)
    inputs = decision.inputs
    tokens = [f"TOK{i}" for i in range(6)]
    assert inputs["tokens_seen"] == [*tokens, "FLAT"]
    assert inputs["eligible"] == inputs["considered"] == tokens
    # The common window is TOK2's 99 return days: 2023-01-01 + 301 days .. + 399 days.
    assert inputs["window"] == {"start": "2023-10-29", "end": "2024-02-04", "days": 99}
    assert inputs["blend"] == {"full": 0.4, "90": 0.3, "30": 0.2, "7": 0.1}
    assert (inputs["max_weight"], inputs["min_weight"], inputs["risk_free_rate"]) == (0.2, 0.005, 0.0)
    assert inputs["covariance"] == "Ledoit-Wolf shrinkage of daily NAV returns, x365"
    returns = prices[tokens].pct_change(fill_method=None).iloc[1:]
    cov = ledoit_wolf(returns.dropna().to_numpy())[0] * 365
    stats = inputs["token_stats"]
    assert list(stats) == tokens
    for k, symbol in enumerate(tokens):
        r = returns[symbol].dropna()
        mu = 365 * (0.4 * r.mean() + 0.3 * r.iloc[-90:].mean() + 0.2 * r.iloc[-30:].mean()
                    + 0.1 * r.iloc[-7:].mean())  # fmt: skip
        assert stats[symbol]["days"] == (99 if symbol == "TOK2" else 399)
        # Stored rounded to six decimals.
        assert stats[symbol]["expected_return"] == pytest.approx(mu, abs=1e-6)
        assert stats[symbol]["volatility"] == pytest.approx(math.sqrt(cov[k, k]), abs=1e-6)
        for value in (stats[symbol]["expected_return"], stats[symbol]["volatility"]):
            assert value == round(value, 6)
    assert decision.reasons["FLAT"] == "out: its NAV never moved, so there is no return or risk to estimate"


def test_notes_are_joined_in_order_and_absent_when_there_is_nothing_to_say() -> None:
    prices = _rising(120, 3, seed=1)
    decision = suggest(prices, tier=Tier.BASIC, profile=RiskProfile(kind="risk_aversion", risk_aversion=9))
    assert (decision.tier, decision.profile, decision.method) == ("basic", "max_sharpe", "utility_with_cash")
    assert decision.note == (
        "a custom risk profile needs the Premium plan; used maximum Sharpe ratio; only 3 eligible "
        "token(s): with at most 20% each the wallet cannot be fully invested, so the rest is cash "
        "(mean-variance utility, risk aversion 2)"
    )
    premium = suggest(_market(8, seed=17), tier=Tier.PREMIUM,
                      profile=RiskProfile(kind="risk_aversion", risk_aversion=25.0))
    assert (premium.tier, premium.profile, premium.method, premium.note) == (
        "premium", "risk_aversion:25", "risk_aversion", None)
    plain = suggest(_market(6, seed=3), tier=Tier.PREMIUM)
    assert (plain.profile, plain.note) == ("max_sharpe", None)


def _facts(mu: float, vol: float) -> str:
    return f"expected return {mu:+.1%}/yr, volatility {vol:.1%}/yr"


def test_summary_reasons_and_the_equal_weight_alternative() -> None:
    prices = _market(12, seed=2)
    mu, cov = _inputs(prices)
    raw = EfficientFrontier(mu, cov, weight_bounds=(0, CAP)).max_sharpe(risk_free_rate=0.0)
    weights = _floor(raw)
    decision = suggest(prices, tier=Tier.PREMIUM)
    w = np.array([float(weights.get(s, 0)) for s in mu.index])
    ret, vol = float(mu.to_numpy() @ w), math.sqrt(float(w @ cov.to_numpy() @ w))
    assert decision.performance.expected_return == pytest.approx(ret, rel=1e-4)
    assert decision.performance.volatility == pytest.approx(vol, rel=1e-4)
    assert decision.performance.sharpe == pytest.approx(ret / vol, rel=1e-4)
    # Equal weight: 1/12 floored to 0.083333 each, 0.000004 in cash.
    ew = decision.equal_weight
    assert ew.weights == dict.fromkeys(mu.index, Decimal("0.083333"))
    assert ew.cash_weight == Decimal("0.000004")
    ew_w = np.full(12, 0.083333)
    ew_ret = float(mu.to_numpy() @ ew_w)
    assert ew.performance.expected_return == pytest.approx(ew_ret, rel=1e-9)
    assert ew.performance.volatility == pytest.approx(math.sqrt(ew_w @ cov.to_numpy() @ ew_w), rel=1e-9)
    cash = 1 - sum(weights.values(), Decimal(0))
    held = ", ".join(f"{s} {v:.1%}" for s, v in sorted(weights.items(), key=lambda kv: -kv[1]))
    assert decision.summary == (
        f"Maximum Sharpe ratio: {held}; cash {cash:.1%}. Expected {ret:+.1%}/yr at {vol:.1%} "
        f"volatility (equal weight: {ew_ret:+.1%}/yr)."
    )
    for symbol in mu.index:
        facts = _facts(mu[symbol], math.sqrt(cov.loc[symbol, symbol]))
        if raw[symbol] >= CAP - 1e-6:
            expected = {f"in at the 20% cap per token ({facts}); capped, it would get more",
                        f"in at {Decimal('0.199999'):.1%} ({facts})"}
        elif symbol in weights:
            expected = {f"in at {weights[symbol]:.1%} ({facts})"}
        elif raw[symbol] > 1e-6:
            expected = {f"out: the optimizer gave it only {raw[symbol]:.2%}, below the 0.5% minimum "
                        "worth trading, so that stays in cash"}
        elif mu[symbol] > 0:
            expected = {f"out: its return does not pay for its risk next to the other tokens ({facts})"}
        else:
            expected = {f"out: its expected return does not beat cash ({facts})"}
        assert decision.reasons[symbol] in expected, symbol


def test_weights_below_the_trading_minimum_are_explained() -> None:
    prices = _market(12, seed=2)
    mu, cov = _inputs(prices)
    raw = EfficientFrontier(mu, cov, weight_bounds=(0, CAP)).max_sharpe(risk_free_rate=0.0)
    small = {s: v for s, v in raw.items() if 1e-4 < v < 0.05 - 1e-4}
    assert small  # the premise: some interior weights under 5 %
    decision = suggest(prices, tier=Tier.PREMIUM, config=OptimizerConfig(min_weight=0.05))
    for symbol, weight in small.items():
        assert symbol not in decision.weights
        assert decision.reasons[symbol] == (
            f"out: the optimizer gave it only {weight:.2%}, below the 5.0% minimum worth trading, so "
            "that stays in cash"
        )
    assert decision.cash_weight >= Decimal(str(round(sum(small.values()), 6))) - Decimal("0.0001")


def test_all_cash_summary() -> None:
    decision = suggest(pd.DataFrame({"A": [1.0] * 40}))
    assert decision.summary == "All in cash: no token qualifies for an allocation right now."
    assert decision.reasons == {"A": "out: its NAV never moved, so there is no return or risk to estimate"}


def test_tier_ranking_charges_the_risk_free_rate() -> None:
    """Free keeps 3 of 4 tokens by (return - risk-free) / volatility. With a 50 % risk-free rate the
    steady token S (about 40 %/yr) falls below cash and ranks last; ranked by return / volatility
    alone, its low volatility would keep it and drop A instead."""
    days = 200
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 1.0, (days, 4))
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    daily_mu = np.array([0.40, 1.5, 1.8, 2.0]) / 365  # annual 40 %, 150 %, 180 %, 200 %
    daily_sd = np.array([0.005, 0.02, 0.02, 0.02])
    prices = pd.DataFrame(100 * np.cumprod(1 + daily_mu + daily_sd * z, axis=0), columns=list("SABC"),
                          index=pd.date_range("2024-01-01", periods=days, freq="D"))  # fmt: skip
    rf = 0.5
    returns = prices.pct_change().iloc[1:]
    vols = np.sqrt(np.diag(ledoit_wolf(returns.to_numpy())[0]) * 365)
    means = {s: 365 * (0.4 * r.mean() + 0.3 * r.iloc[-90:].mean() + 0.2 * r.iloc[-30:].mean()
                       + 0.1 * r.iloc[-7:].mean()) for s, r in returns.items()}  # fmt: skip
    with_rf = sorted(prices.columns, key=lambda s: -(means[s] - rf) / vols[list(prices.columns).index(s)])
    without = sorted(prices.columns, key=lambda s: -means[s] / vols[list(prices.columns).index(s)])
    assert (with_rf[-1], without[-1]) == ("S", "A")  # the premise: the risk-free rate changes who is dropped
    decision = suggest(prices, tier=Tier.FREE, config=OptimizerConfig(risk_free_rate=rf))
    assert decision.inputs["considered"] == [s for s in prices.columns if s != with_rf[-1]]
    assert decision.reasons[with_rf[-1]] == (
        "out: the Free plan holds at most 3 tokens and it ranks #4 by stand-alone risk-adjusted return"
    )


def _correlated(symbols: list[str]) -> pd.DataFrame:
    vols = np.linspace(0.2, 0.6, len(symbols))
    corr = np.full((len(symbols), len(symbols)), 0.3) + 0.7 * np.eye(len(symbols))
    return pd.DataFrame(np.outer(vols, vols) * corr, index=symbols, columns=symbols)


def _traceback_names(record: logging.LogRecord, exception: str) -> bool:
    """The record keeps the traceback of ``exception``: as ``exc_info``, or as ``exc_text`` once the
    service's redaction filter (installed by an earlier test in the same process) has rendered it."""
    if record.exc_info is not None and record.exc_info[0] is not None:
        return record.exc_info[0].__name__ == exception
    text = record.exc_text or ""
    return text.startswith("Traceback") and exception in text.splitlines()[-1]


def test_a_failed_max_sharpe_falls_back_to_minimum_volatility(caplog: pytest.LogCaptureFixture) -> None:
    six = list("ABCDEF")
    cov = _correlated(six)
    mu = pd.Series({s: (math.inf if s == "A" else 0.1) for s in six})  # no Sharpe ratio to maximise
    with caplog.at_level(logging.WARNING, logger="core.optimizer.solve"):
        result = solve(six, mu, cov, OptimizerConfig(), RiskProfile())
    assert result.method == "fallback:min_volatility"
    # cvxpy refuses the infinite expected return ("Problem data contains NaN or Inf").
    failed = "the max sharpe solve failed (ValueError)"
    assert result.note == f"{failed}; used the minimum-volatility portfolio instead"
    [record] = caplog.records
    assert record.getMessage() == f"optimizer: {failed} for 6 tokens; falling back"
    assert _traceback_names(record, "ValueError")
    reference = EfficientFrontier(pd.Series(0.1, index=six), cov, weight_bounds=(0, CAP)).min_volatility()
    assert set(result.weights) == set(six)
    for symbol in six:
        assert result.weights[symbol] == pytest.approx(reference[symbol], abs=1e-6)


@pytest.mark.parametrize(("profile", "name"), [
    (RiskProfile(kind="risk_aversion", risk_aversion=3.0), "risk aversion"),
    (RiskProfile(kind="target_volatility", target_volatility=0.3), "target volatility"),
])  # fmt: skip
def test_failed_custom_profiles_name_themselves(profile: RiskProfile, name: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    six = list("ABCDEF")
    broken = OptimizerConfig(solver="NO_SUCH_SOLVER")
    with caplog.at_level(logging.WARNING, logger="core.optimizer.solve"):
        result = solve(six, pd.Series(0.1, index=six), _correlated(six), broken, profile)
    assert result.method == "fallback:equal_weight"
    assert result.weights == dict.fromkeys(six, 1 / 6)
    assert result.note == (f"the {name} solve failed (SolverError), and minimum volatility failed too "
                           "(SolverError); used capped equal weights instead")
    # Both failures are logged with their tracebacks (no silent fallback).
    assert [r.getMessage() for r in caplog.records] == [
        f"optimizer: the {name} solve failed (SolverError) for 6 tokens; falling back",
        "optimizer: minimum volatility failed too; capped equal weight",
    ]
    assert all(_traceback_names(r, "SolverError") for r in caplog.records)


def test_utility_with_a_risk_free_rate_like_pypfopt() -> None:
    """Cash earns the configured risk-free rate in the utility solve."""
    prices = _market(8, seed=17)
    mu, cov = _inputs(prices)
    n = len(mu)
    mu_c = pd.concat([mu, pd.Series({"CASH": 0.25})])
    cov_c = pd.DataFrame(np.zeros((n + 1, n + 1)), index=mu_c.index, columns=mu_c.index)
    cov_c.iloc[:n, :n] = cov.to_numpy()
    raw = EfficientFrontier(mu_c, cov_c, weight_bounds=[(0, CAP)] * n + [(0, 1)]).max_quadratic_utility(
        risk_aversion=30.0)
    reference = _floor({s: v for s, v in raw.items() if s != "CASH"})
    # The premise: cash at 25 % changes the answer compared with cash at 0 %.
    at_zero = _floor({s: v for s, v in _with_cash(mu, cov).max_quadratic_utility(risk_aversion=30.0).items()
                      if s != "CASH"})  # fmt: skip
    assert reference != at_zero
    profile = RiskProfile(kind="risk_aversion", risk_aversion=30.0)
    config = OptimizerConfig(risk_free_rate=0.25)
    decision = suggest(prices, tier=Tier.PREMIUM, profile=profile, config=config)
    assert set(decision.weights) <= set(mu.index)
    for symbol in mu.index:
        got, want = decision.weights.get(symbol, Decimal(0)), reference.get(symbol, Decimal(0))
        assert abs(got - want) <= Decimal("0.000002"), symbol
    w = np.array([float(reference.get(s, 0)) for s in mu.index])
    cash = 1 - w.sum()
    expected_return = float(mu.to_numpy() @ w) + 0.25 * cash
    assert decision.performance.expected_return == pytest.approx(expected_return, rel=1e-4)


def test_target_volatility_like_a_bare_cvxpy_solve() -> None:
    """Highest expected return with volatility at most the target, at most 20 % per token, rest cash."""
    prices = _market(8, seed=17)
    mu, cov = _inputs(prices)
    w = cp.Variable(len(mu))
    sigma = cov.to_numpy()
    risk = cp.quad_form(w, sigma, assume_PSD=True)
    problem = cp.Problem(cp.Maximize(mu.to_numpy() @ w), [risk <= 0.1**2, w >= 0, w <= CAP, cp.sum(w) <= 1])
    problem.solve()
    reference = _floor(dict(zip(mu.index, np.asarray(w.value, dtype=float), strict=True)))
    decision = suggest(prices, tier=Tier.PREMIUM,
                       profile=RiskProfile(kind="target_volatility", target_volatility=0.1))
    assert decision.method == "target_volatility" and decision.profile == "target_volatility:0.1"
    for symbol in mu.index:
        got, want = decision.weights.get(symbol, Decimal(0)), reference.get(symbol, Decimal(0))
        # An interior-point SOCP answer: the two formulations agree to ~2e-5, not to 1e-6.
        assert abs(got - want) <= Decimal("0.00005"), (symbol, got, want)
    assert decision.performance.volatility == pytest.approx(0.1, abs=1e-4)  # the target binds


def test_stand_alone_sharpe_by_hand() -> None:
    assert _standalone_sharpe(TokenStats(40, expected_return=0.5, volatility=0.25), 0.1) == pytest.approx(1.6)
    assert _standalone_sharpe(TokenStats(40, expected_return=-0.2, volatility=0.5), 0.1) == pytest.approx(-.6)
    # No volatility (the NAV never moved): last in any ranking, whatever its return.
    for vol in (0.0, 1e-12):
        assert _standalone_sharpe(TokenStats(40, expected_return=0.5, volatility=vol), 0.0) == -math.inf


def test_an_unreachable_volatility_target_is_the_best_returns_at_the_cap() -> None:
    """With a 500 % volatility target the risk constraint is slack: the answer is the five highest
    expected returns at 20 % each, fully invested (not more than 100 % in total)."""
    prices = _market(8, seed=17)
    mu, _ = _inputs(prices)
    best = set(mu.sort_values(ascending=False).index[:5])
    decision = suggest(prices, tier=Tier.PREMIUM,
                       profile=RiskProfile(kind="target_volatility", target_volatility=5.0))
    assert set(decision.weights) == best
    assert all(abs(w - Decimal("0.2")) <= Decimal("0.000002") for w in decision.weights.values())
    assert decision.cash_weight <= Decimal("0.00001")


def test_the_default_profile_on_basic_has_no_premium_note() -> None:
    decision = suggest(_market(6, seed=3), tier=Tier.BASIC)
    assert (decision.profile, decision.method, decision.note) == ("max_sharpe", "max_sharpe", None)


def test_a_cap_off_the_millionth_grid_is_floored_for_the_reasons_too() -> None:
    # A 33.33337 % cap: weights are floored to 0.333333, and so is the cap they are compared with,
    # so three rising tokens held at the cap are reported "at the cap", not "at 33.3 %".
    config = OptimizerConfig(max_weight=0.3333337)
    decision = suggest(_rising(120, 3, seed=1), config=config)
    assert decision.weights == dict.fromkeys(["R0", "R1", "R2"], Decimal("0.333333"))
    for symbol in decision.weights:
        assert decision.reasons[symbol].startswith("in at the 33% cap per token ("), decision.reasons[symbol]


@pytest.mark.parametrize("min_weight", [0.05, 0.1])
def test_a_profile_cap_not_above_the_minimum_weight_is_ignored_with_a_note(min_weight: float) -> None:
    # A deployment whose trading minimum is at (or above) the profile's 5 % cap: the cap would leave
    # no room for a weight, so the configured 20 % cap is used and the note says why.
    config = OptimizerConfig(min_weight=min_weight)
    profile = RiskProfile(max_weight=0.05)
    decision = suggest(_market(6, seed=3), tier=Tier.PREMIUM, profile=profile, config=config)
    assert decision.note == (f"the profile's 5% cap per token is not above the {min_weight:.1%} minimum "
                             "weight; used the 20% cap")
    assert decision.inputs["max_weight"] == 0.2
    assert max(decision.weights.values()) > Decimal("0.05")
