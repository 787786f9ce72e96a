"""Optimizer and wallet benchmarks (a script, never a test).

Part 1 (``suggest``): one suggestion over 50 tokens (``core.optimizer.suggest``: cleaning,
eligibility, Ledoit-Wolf covariance, blended returns, max-Sharpe solve, exact weights, reasons,
equal-weight alternative) against a bare PyPortfolioOpt solve of the same problem (Ledoit-Wolf +
the same blended expected returns + ``EfficientFrontier(..., (0, 0.2)).max_sharpe()``), measured
side by side, alternating, after a warm-up. Goal: within 2x.

Part 2 (``rebalance``): a rebalance cycle over 10,000 wallets on a SQLite file (one solve per
distinct universe and profile, not per wallet). Goal: <= 60 s.

Usage: ``python benchmarks/optimizer.py [suggest|rebalance|all] [--wallets N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypfopt import EfficientFrontier, risk_models

from core.optimizer import DEFAULT_CONFIG, Tier, suggest
from core.optimizer.inputs import blended_mean, daily_returns


def synthetic_navs(n_tokens: int, n_days: int, seed: int = 7) -> pd.DataFrame:
    """Correlated daily NAV paths: a common factor plus idiosyncratic noise, positive drift."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(0.0005, 0.02, n_days)
    beta = rng.uniform(0.2, 1.2, n_tokens)
    alpha = rng.normal(0.0008, 0.0008, n_tokens)
    noise = rng.normal(0.0, 0.015, (n_days, n_tokens))
    returns = alpha + np.outer(factor, beta) + noise
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0),
                        index=pd.date_range("2023-01-01", periods=n_days, freq="D"),
                        columns=[f"TK{i:02d}" for i in range(n_tokens)])


def bare_pypfopt(prices: pd.DataFrame) -> dict[str, float]:
    returns = daily_returns(prices)
    cov = risk_models.CovarianceShrinkage(returns, returns_data=True, frequency=365).ledoit_wolf()
    mu = pd.Series({c: blended_mean(returns[c], DEFAULT_CONFIG) for c in returns.columns})
    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 0.2))
    return dict(ef.max_sharpe(risk_free_rate=0.0))


def bench_suggest(repeats: int) -> dict[str, float]:
    prices = synthetic_navs(50, 365)
    suggest(prices, tier=Tier.PREMIUM)
    bare_pypfopt(prices)  # warm-up: imports, cvxpy canonicalisation caches
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decision = suggest(prices, tier=Tier.PREMIUM)
        t1 = time.perf_counter()
        raw = bare_pypfopt(prices)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        bare.append(t2 - t1)
    diff = max(abs(float(decision.weights.get(k, 0)) - v) for k, v in raw.items())
    result = {
        "suggest_median_s": statistics.median(ours),
        "bare_pypfopt_median_s": statistics.median(bare),
        "ratio": statistics.median(ours) / statistics.median(bare),
        "max_weight_difference": diff,
        "tokens_held": float(len(decision.weights)),
    }
    print(f"suggest over 50 tokens x 365 days, {repeats} runs (median):")
    print(f"  core.optimizer.suggest : {result['suggest_median_s'] * 1000:8.1f} ms")
    print(f"  bare PyPortfolioOpt    : {result['bare_pypfopt_median_s'] * 1000:8.1f} ms")
    print(f"  ratio                  : {result['ratio']:8.2f}x  (goal <= 2x)")
    print(f"  max |weight difference|: {diff:.2e}  tokens held: {len(decision.weights)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("part", nargs="?", default="all", choices=["suggest", "rebalance", "all"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--wallets", type=int, default=10_000)
    args = parser.parse_args()
    if args.part in ("suggest", "all"):
        bench_suggest(args.repeats)
    if args.part in ("rebalance", "all"):
        print("rebalance benchmark: not written yet")


if __name__ == "__main__":
    main()
