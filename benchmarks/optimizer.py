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


def bench_rebalance(n_wallets: int, full_ai_share: float) -> dict[str, float]:
    """10,000 wallets (full AI / hybrid / manual, Basic and Premium profiles) on a SQLite file.

    Set-up (not timed): 12 active tokens with 90 days of NAV marks, wallets with cash. Timed: one
    ``run_rebalance_cycle`` in which every AI wallet is due (its first decision), so full-AI wallets
    execute their trades and hybrid wallets get proposals; then a second, steady-state cycle the
    next day (drift checks only).
    """
    import tempfile
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import select

    from core import ledger
    from core.clock import SimulatedClock
    from core.db import Database
    from core.ledger.locks import lock_wallets
    from core.ledger.postings import LedgerWriter
    from core.migrations import upgrade
    from core.models import AIWallet, Organisation, OrgKind, OrgStatus, Platform, Role, User
    from core.risk import install
    from core.wallets import run_rebalance_cycle

    install()  # this script is its own composition root: trades run with the pre-trade checks

    clock = SimulatedClock(datetime(2025, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db", clock=clock)
        upgrade(db.engine)
        t0 = time.perf_counter()
        symbols = [f"STRAT-BENCH-T{i:02d}-001" for i in range(12)]
        for symbol in symbols:
            ledger.tokenize(db.uow(), agent_id=None, symbol=symbol, total_supply="1000000000000",
                            status="active", idempotency_key=f"tok:{symbol}")
        navs = synthetic_navs(12, 91, seed=11)
        rets = navs.pct_change().iloc[1:]
        start = clock.now()
        for j, symbol in enumerate(symbols):  # one transaction per token: the ledger's lock order
            with db.uow() as uow:
                for day in range(90):
                    at = start + timedelta(days=day + 1)
                    r = Decimal(format(float(rets.iloc[day, j]), ".12f"))
                    ledger.mark_nav_in(uow.session, at, symbol=symbol, as_of=at.date(), daily_return=r)
                uow.commit()
        clock.advance(timedelta(days=90))
        n_full = int(n_wallets * full_ai_share)
        n_hybrid = (n_wallets - n_full) // 2
        with db.uow() as uow:
            now = clock.now()
            org = Organisation(name="Bench", kind=OrgKind.CHURCH, status=OrgStatus.VERIFIED,
                               created_at=now, verified_at=now)
            uow.session.add(org)
            uow.session.flush()
            for i in range(n_wallets):
                mode = "full_ai" if i < n_full else "hybrid" if i < n_full + n_hybrid else "manual"
                tier = "free" if mode == "manual" else ("premium" if i % 5 == 0 else "basic")
                user = User(platform=Platform.CONSOLE, platform_user_id=i + 1, role=Role.ORG_ADMIN,
                            organisation_id=org.id, is_org_admin=True, created_at=now)
                uow.session.add(user)
                uow.session.flush()
                wallet = ledger.create_wallet_in(uow.session, now, organisation_id=org.id,
                                                 name=f"w{i}", mode=mode, tier=tier,
                                                 owner_user_ids=[user.id])
                if tier == "premium":  # three distinct Premium profiles
                    wallet.risk_profile = [
                        {"kind": "risk_aversion", "risk_aversion": 4.0},
                        {"kind": "target_volatility", "target_volatility": 0.2}, None][i % 3]
            uow.commit()
        with db.uow() as uow:  # every wallet locked (by id) first, then one writer and one flush
            now = clock.now()
            ids = list(uow.session.scalars(select(AIWallet.id).where(AIWallet.is_house.is_(False))
                                           .order_by(AIWallet.id)))
            lock_wallets(uow.session, ids)
            writer = LedgerWriter(uow.session, now)
            for i, wallet_id in enumerate(ids):
                ledger.deposit_in(uow.session, now, wallet_id, Decimal(10_000 + i), writer=writer)
            writer.flush()
            uow.commit()
        setup = time.perf_counter() - t0
        t1, c1 = time.perf_counter(), time.process_time()
        first = run_rebalance_cycle(db.uow())
        cycle, cycle_cpu = time.perf_counter() - t1, time.process_time() - c1
        clock.advance(timedelta(days=1))
        t2 = time.perf_counter()
        second = run_rebalance_cycle(db.uow())
        steady = time.perf_counter() - t2
        db.dispose()
    print(f"rebalance cycle over {n_wallets} wallets on SQLite ({n_full} full AI, {n_hybrid} "
          f"hybrid, {n_wallets - n_full - n_hybrid} manual; 12 tokens):")
    print(f"  set-up (not timed)      : {setup:8.1f} s")
    print(f"  first cycle (all due)   : {cycle:8.1f} s  executed {first.executed}, proposed "
          f"{first.proposed}, failed {len(first.failed)}, optimizer solves {first.solves} "
          f"(goal <= 30 s); CPU {cycle_cpu:.1f} s (this process: less sensitive to the machine's load)")
    print(f"  next-day cycle (drift)  : {steady:8.1f} s  executed {second.executed}, solves "
          f"{second.solves}")
    return {"setup_s": setup, "cycle_s": cycle, "cycle_cpu_s": cycle_cpu, "steady_s": steady}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("part", nargs="?", default="all", choices=["suggest", "rebalance", "all"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--full-ai-share", type=float, default=0.4,
                        help="share of wallets in full AI mode (the rest: half hybrid, half manual)")
    args = parser.parse_args()
    if args.part in ("suggest", "all"):
        bench_suggest(args.repeats)
    if args.part in ("rebalance", "all"):
        bench_rebalance(args.wallets, args.full_ai_share)


if __name__ == "__main__":
    main()
