"""The mean-variance solve and its graceful fallbacks (PyPortfolioOpt + cvxpy).

Weights are float fractions of wallet value; whatever is not allocated is cash. Every path returns
weights within ``[0, max_weight]`` summing to at most 1 — an infeasible or failed solve never
reaches the user: it falls back (minimum volatility, then capped equal weight) and says why.

Cash is modelled as an extra asset ``CASH_KEY`` with the risk-free return and zero variance for the
objectives that may hold cash (risk aversion, target volatility, and max-Sharpe with too few tokens
to be fully invested under the cap).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
from pypfopt import EfficientFrontier

from core.optimizer.config import OptimizerConfig, RiskProfile

CASH_KEY = "__cash__"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SolveResult:
    weights: dict[str, float]  # token symbol -> weight (cash excluded)
    method: str  # what produced the weights, e.g. "max_sharpe", "fallback:equal_weight"
    note: str | None = None  # why a fallback or a cash remainder happened, in plain language


def equal_weight(symbols: list[str], cap: float) -> dict[str, float]:
    """1/n each, capped; the remainder is cash."""
    if not symbols:
        return {}
    each = min(1.0 / len(symbols), cap)
    return dict.fromkeys(symbols, each)


def solve(
    symbols: list[str],
    mu: pd.Series,
    cov: pd.DataFrame,
    config: OptimizerConfig,
    profile: RiskProfile,
) -> SolveResult:
    """Weights for ``symbols`` under ``profile``; never raises for numerical reasons."""
    if not symbols:
        return SolveResult({}, "cash", "no eligible tokens, so everything stays in cash")
    mu = mu.loc[symbols]
    cov = cov.loc[symbols, symbols]
    rf = config.risk_free_rate
    cap = config.max_weight
    full = len(symbols) >= config.min_full_tokens()
    note: str | None = None
    try:
        if profile.kind == "max_sharpe":
            if not bool((mu > rf).any()):
                return SolveResult(
                    {}, "cash", "no eligible token's expected return beats cash, so all is in cash"
                )
            if full and len(symbols) * cap <= 1 + 1e-12:
                # Exactly 1 / cap tokens: every one at the cap is the only fully invested point,
                # and the max-Sharpe transform has no interior to search (cvxpy reports failure).
                return SolveResult(dict.fromkeys(symbols, cap), "max_sharpe",
                                   f"{len(symbols)} eligible tokens at the {cap:.0%} cap each is the "
                                   "only fully invested allocation")
            if full:
                ef = _frontier(mu, cov, config, with_cash=False)
                return SolveResult(_clean(ef.max_sharpe(risk_free_rate=rf)), "max_sharpe")
            note = (
                f"only {len(symbols)} eligible token(s): with at most {cap:.0%} each the wallet "
                f"cannot be fully invested, so the rest is cash (mean-variance utility, risk "
                f"aversion {config.fallback_risk_aversion:g})"
            )
            return SolveResult(_utility(mu, cov, config, config.fallback_risk_aversion),
                               "utility_with_cash", note)
        if profile.kind == "risk_aversion":
            return SolveResult(_utility(mu, cov, config, profile.risk_aversion), "risk_aversion")
        return SolveResult(_target_vol(mu, cov, config, profile.target_volatility),
                           "target_volatility")
    except Exception as exc:  # cvxpy/pypfopt raise many types; all mean "no solve"
        reason = f"the {profile.kind.replace('_', ' ')} solve failed ({type(exc).__name__})"
        log.warning("optimizer: %s for %d tokens; falling back", reason, len(symbols), exc_info=True)
    if full:
        try:
            ef = _frontier(mu, cov, config, with_cash=False)
            return SolveResult(_clean(ef.min_volatility()), "fallback:min_volatility",
                               f"{reason}; used the minimum-volatility portfolio instead")
        except Exception as exc:
            reason += f", and minimum volatility failed too ({type(exc).__name__})"
            log.warning("optimizer: minimum volatility failed too; capped equal weight", exc_info=True)
    return SolveResult(equal_weight(symbols, cap), "fallback:equal_weight",
                       f"{reason}; used capped equal weights instead")


def _frontier(
    mu: pd.Series, cov: pd.DataFrame, config: OptimizerConfig, *, with_cash: bool
) -> EfficientFrontier:
    n = len(mu)
    bounds: list[tuple[float, float]] = [(0.0, config.max_weight)] * n
    if with_cash:
        mu = pd.concat([mu, pd.Series({CASH_KEY: config.risk_free_rate})])
        padded = np.zeros((n + 1, n + 1))
        padded[:n, :n] = cov.to_numpy()
        cov = pd.DataFrame(padded, index=mu.index, columns=mu.index)
        bounds = [*bounds, (0.0, 1.0)]
    return EfficientFrontier(mu, cov, weight_bounds=bounds, solver=config.solver)


def _utility(mu: pd.Series, cov: pd.DataFrame, config: OptimizerConfig, delta: float) -> dict[
    str, float
]:
    ef = _frontier(mu, cov, config, with_cash=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _clean(ef.max_quadratic_utility(risk_aversion=delta))


def _target_vol(mu: pd.Series, cov: pd.DataFrame, config: OptimizerConfig, target: float) -> dict[
    str, float
]:
    # PyPortfolioOpt's efficient_risk rejects targets below the *tokens'* minimum volatility; with
    # cash as an asset any target is reachable, so state the problem directly.
    ef = _frontier(mu, cov, config, with_cash=True)
    sigma = ef.cov_matrix
    ef.add_constraint(lambda w: cp.quad_form(w, sigma, assume_PSD=True) <= target**2)
    expected = ef.expected_returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _clean(ef.convex_objective(lambda w: -(expected @ w), weights_sum_to_one=True))


def _clean(raw: dict[str, float] | object) -> dict[str, float]:
    """Drop the cash pseudo-asset and solver noise (negative zeros, NaN)."""
    items = dict(raw) if isinstance(raw, dict) else {}
    out: dict[str, float] = {}
    for key, value in items.items():
        if key == CASH_KEY:
            continue
        weight = float(value)
        out[str(key)] = weight if np.isfinite(weight) and weight > 0 else 0.0
    return out
