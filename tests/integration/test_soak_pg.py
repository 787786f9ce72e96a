"""A bounded, randomized soak on PostgreSQL: every ledger writer, several processes, one database.

Four processes (``ARENA_SOAK_WORKERS``) run, for ``ARENA_SOAK_SECONDS`` (60 by default), a seeded
random mix of every writer that exists: buys, redeems, redemptions queued beyond the daily limit and
their release, deposits and withdrawals, rebalance cycles (full-AI wallets executing, hybrid ones
proposing), approvals and rejections of proposals, mode switches, NAV marks (one token only falls,
so the kill switch winds it down while others still trade it), fee accruals, kill-switch and
circuit-breaker checks, and a platform halt and resume. Exchange orders join when they exist.

It must end with zero deadlocks (or any other database error: every failure is listed), zero lost
updates (every transaction a worker saw committed is in the ledger, and every cached balance,
supply, AUM and wallet cash agrees with the append-only postings) and every ledger invariant
holding. Refusals a person would see (not enough cash, the day's limit, halted) are expected.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.models import LedgerTransaction, TokenStatus
from core.models.tokens import StrategyToken
from tests.support.ledger_workers import SPAWN, run_parallel
from tests.support.ledger_world import key, make_org, make_token, make_user, make_wallet, violations
from tests.support.soak_workers import World, soak_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SECONDS = float(os.environ.get("ARENA_SOAK_SECONDS", "60"))
WORKERS = int(os.environ.get("ARENA_SOAK_WORKERS", "4"))
SYMBOLS = ["STRAT-MOMENTUM-BTC-001", "STRAT-TREND-ETH-002", "STRAT-CARRY-USDC-003", "STRAT-DOOMED-SOL-004"]


def _world(db: Database, clock: SimulatedClock) -> World:
    wallets: list[int] = []
    owners: dict[int, int] = {}
    ai: list[int] = []
    for symbol in SYMBOLS:
        make_token(db, symbol, supply="100000000")
    for i, (mode, tier) in enumerate([("full_ai", "basic"), ("full_ai", "basic"), ("hybrid", "basic"),
                                      ("hybrid", "basic"), ("manual", "free"), ("manual", "free")]):
        org = make_org(db, f"Soak Church {i}")
        user = make_user(db, 70_000 + i, org)
        wallet = make_wallet(db, org, cash="50000", mode=mode, tier=tier, owner_user_ids=[user])
        wallets.append(wallet)
        owners[wallet] = user
        if tier == "basic":
            ai.append(wallet)
        for symbol in SYMBOLS[:2]:
            ledger.buy(db.uow(), wallet, symbol, "2000", idempotency_key=key("seed"))
    # NAV history for the optimizer (rebalances need a few marks per token).
    for day in range(1, 6):
        for n, symbol in enumerate(SYMBOLS):
            ledger.mark_nav(db.uow(), symbol, clock.now().date().replace(day=day), Decimal(n + 1) / 1000)
    first_day = clock.now().date().replace(day=10).isoformat()
    return World(db.engine.url.render_as_string(hide_password=False), wallets, owners, ai,
                 SYMBOLS, SYMBOLS[-1], first_day)


def test_soak_every_writer_no_deadlock_no_lost_update(pg_db: Database, clock: SimulatedClock) -> None:
    world = _world(pg_db, clock)
    counter = SPAWN.Value("i", 0)
    deadline = time.time() + 15 + SECONDS  # children take a few seconds to start and import
    results = run_parallel(soak_worker, [(world, i, deadline, counter) for i in range(WORKERS)],
                           timeout=SECONDS + 300)
    failures = [f for r in results for f in r["failures"]]
    assert failures == [], failures  # no deadlock, no order violation, no database error at all
    ok: dict[str, int] = {}
    for result in results:
        for name, count in result["ok"].items():
            ok[name] = ok.get(name, 0) + count
    # Every writer ran (and succeeded) at least once: the mix is real.
    for writer in ("buy", "redeem", "redeem_or_queue", "cash", "release_queue", "rebalance_cycle",
                   "decide_proposal", "switch_mode", "mark", "fees", "risk_checks", "halt_and_resume"):
        assert ok.get(writer, 0) > 0, (writer, ok, [r["refused"] for r in results])
    # No lost update: every committed transaction a worker saw is there, and the cached balances
    # (accounts, wallet cash, supply, AUM) all agree with the append-only postings.
    seen = {t for r in results for t in r["txn_ids"]}
    with pg_db.uow(read_only=True) as uow:
        stored = set(uow.session.scalars(select(LedgerTransaction.id).where(LedgerTransaction.id.in_(seen))))
        retired = uow.session.scalar(select(func.count()).select_from(StrategyToken).where(
            StrategyToken.status == TokenStatus.RETIRED))
    assert stored == seen
    assert violations(pg_db) == []
    assert (retired or 0) >= 1  # the falling token was wound down while others traded it
