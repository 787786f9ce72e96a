"""The soak's child process: every ledger writer, mixed at random, until a deadline.

Each child opens its own database connection pool, installs the real pre-trade checks (as every
entry point does) and loops over a seeded random choice of writers until ``deadline`` (a
``time.time()`` value). Refusals the platform gives a person (``ArenaError``: not enough cash, the
day's redemption limit, trading halted, a rebalance to retry) are counted; anything else — a
deadlock, a lock-order violation, a constraint error, a bug — is recorded as a failure with its
text. The child also reports the id of every ledger transaction a successful trade returned, so the
parent can check that nothing it saw committed was lost.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core import ledger, risk, wallets
from core.db import Database
from core.errors import ArenaError, TradingHalted
from core.models import StrategyToken, TokenHolding
from core.models.wallets_ext import RebalanceProposal
from core.risk import install


@dataclass(frozen=True)
class World:
    url: str
    wallets: list[int]  # every wallet the soak trades
    owners: dict[int, int]  # wallet id -> owner user id
    ai_wallets: list[int]  # basic tier: may switch between full_ai and hybrid
    symbols: list[str]
    doomed: str  # a token whose marks only fall: the kill switch retires it mid-soak
    first_day: str  # ISO date of the first NAV mark


class _Soak:
    def __init__(self, world: World, worker: int, day_counter: Any) -> None:
        self.world = world
        self.worker = worker
        self.rng = random.Random(1000 + worker)
        self.db = Database(world.url)
        self.days = day_counter
        self.serial = 0
        self.txn_ids: list[int] = []

    def key(self, what: str) -> str:
        self.serial += 1
        return f"soak:{self.worker}:{what}:{self.serial}"

    def wallet(self) -> int:
        return self.rng.choice(self.world.wallets)

    def symbol(self) -> str:
        return self.rng.choice(self.world.symbols)

    def holding(self, wallet_id: int, symbol: str) -> Decimal:
        with self.db.uow(read_only=True) as uow:
            found = uow.session.scalar(
                select(TokenHolding.quantity).join(StrategyToken, StrategyToken.id == TokenHolding.token_id)
                .where(TokenHolding.wallet_id == wallet_id, StrategyToken.symbol == symbol))
        return found or Decimal(0)

    # --- the writers ---------------------------------------------------------------------------
    def buy(self) -> None:
        cash = Decimal(self.rng.randrange(10, 400))
        trade = ledger.buy(self.db.uow(), self.wallet(), self.symbol(), cash, idempotency_key=self.key("buy"))
        self.txn_ids.append(trade.transaction_id)

    def redeem(self) -> None:
        wallet_id, symbol = self.wallet(), self.symbol()
        qty = (self.holding(wallet_id, symbol) * Decimal("0.2")).quantize(Decimal("0.000001"))
        if qty > 0:
            trade = ledger.redeem(self.db.uow(), wallet_id, symbol, qty, idempotency_key=self.key("redeem"))
            self.txn_ids.append(trade.transaction_id)

    def redeem_or_queue(self) -> None:
        wallet_id, symbol = self.wallet(), self.symbol()
        qty = (self.holding(wallet_id, symbol) * Decimal("0.5")).quantize(Decimal("0.000001"))
        if qty > 0:
            risk.redeem_or_queue(self.db.uow(), wallet_id, symbol, qty, idempotency_key=self.key("rq"))

    def cash_in_out(self) -> None:
        amount = Decimal(self.rng.randrange(1, 300))
        if self.rng.random() < 0.6:
            moved = ledger.deposit(self.db.uow(), self.wallet(), amount, idempotency_key=self.key("dep"))
        else:
            moved = ledger.withdraw(self.db.uow(), self.wallet(), amount, idempotency_key=self.key("wd"))
        self.txn_ids.append(moved.transaction_id)

    def release_queue(self) -> None:
        with self.db.uow() as uow:
            risk.process_queue_in(uow.session, uow.clock.now())
            uow.commit()

    def rebalance_cycle(self) -> None:
        wallets.run_rebalance_cycle(self.db.uow())

    def decide_proposal(self) -> None:
        with self.db.uow(read_only=True) as uow:
            pending = uow.session.execute(select(RebalanceProposal.id, RebalanceProposal.wallet_id).where(
                RebalanceProposal.status == "pending")).all()
        if not pending:
            return
        proposal_id, wallet_id = self.rng.choice(pending)
        decide = wallets.approve_proposal if self.rng.random() < 0.7 else wallets.reject_proposal
        decide(self.db.uow(), proposal_id, user_id=self.world.owners[wallet_id],
               idempotency_key=self.key("decide"))

    def switch_mode(self) -> None:
        wallet_id = self.rng.choice(self.world.ai_wallets)
        wallets.set_mode(self.db.uow(), wallet_id, self.rng.choice(["full_ai", "hybrid"]),
                         user_id=self.world.owners[wallet_id], idempotency_key=self.key("mode"))

    def mark(self) -> None:
        with self.days.get_lock():
            self.days.value += 1
            offset = self.days.value
        day = date.fromisoformat(self.world.first_day) + timedelta(days=offset)
        symbol = self.symbol()
        change = Decimal(self.rng.randrange(-30, 31)) / 1000
        if symbol == self.world.doomed:
            change = Decimal("-0.08")
        ledger.mark_nav(self.db.uow(), symbol, day, change.quantize(Decimal("0.0001")),
                        idempotency_key=self.key("mark"))

    def fees(self) -> None:
        ledger.accrue_fees(self.db.uow(), self.symbol(), idempotency_key=self.key("fees"))

    def risk_checks(self) -> None:
        with self.db.uow() as uow:
            risk.check_kill_switch(uow.session, uow.clock.now())
            uow.commit()
        with self.db.uow() as uow:
            risk.check_circuit_breaker(uow.session, uow.clock.now())
            uow.commit()

    def halt_and_resume(self) -> None:
        with self.db.uow() as uow:
            risk.halt_trading(uow.session, uow.clock.now(), admin="soak", reason="soak drill")
            uow.commit()
        self.buy_refused()
        with self.db.uow() as uow:
            risk.resume_trading(uow.session, uow.clock.now(), admin="soak")
            uow.commit()

    def buy_refused(self) -> None:
        """While halted, a user's buy must be refused (the checks are live in every process)."""
        try:
            self.buy()
        except TradingHalted:
            return
        except ArenaError:  # refused for another reason first (e.g. not enough cash): also no trade
            return
        raise AssertionError("a buy went through while trading was halted")


def _ops(soak: _Soak) -> list[tuple[str, Callable[[], None], int]]:
    """(name, writer, weight): trades dominate, the heavy cycle and the drills are rarer."""
    return [
        ("buy", soak.buy, 30), ("redeem", soak.redeem, 20), ("redeem_or_queue", soak.redeem_or_queue, 8),
        ("cash", soak.cash_in_out, 10), ("release_queue", soak.release_queue, 5),
        ("rebalance_cycle", soak.rebalance_cycle, 3), ("decide_proposal", soak.decide_proposal, 5),
        ("switch_mode", soak.switch_mode, 3), ("mark", soak.mark, 6), ("fees", soak.fees, 4),
        ("risk_checks", soak.risk_checks, 3), ("halt_and_resume", soak.halt_and_resume, 1),
    ]


def soak_worker(world: World, worker: int, deadline: float, day_counter: Any) -> dict[str, Any]:
    install()
    soak = _Soak(world, worker, day_counter)
    ops = _ops(soak)
    names, weights = [o[0] for o in ops], [o[2] for o in ops]
    by_name = {o[0]: o[1] for o in ops}
    ok: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    failures: list[str] = []
    first_round = soak.rng.sample(names, len(names))  # every writer at least once, in a random order
    try:
        while time.time() < deadline:
            name = first_round.pop() if first_round else soak.rng.choices(names, weights)[0]
            try:
                by_name[name]()
                ok[name] += 1
            except ArenaError as error:  # a refusal a person would see: counted, not a failure
                refused[f"{name}:{type(error).__name__}"] += 1
            except Exception as error:  # deadlock, order violation, bug: the soak fails on these
                failures.append(f"{name}: {type(error).__name__}: {str(error)[:300]}")
    finally:
        soak.db.dispose()
    return {"ok": dict(ok), "refused": dict(refused), "failures": failures, "txn_ids": soak.txn_ids}
