"""The people, wallets and strategies of ``arena replay`` (see :mod:`scheduler.replay`).

* Strategies are the example specs, each run forward once over the whole replay (no rule can see a
  future bar, so the daily returns on day d equal those of a run ending on d). A spec whose data
  cannot cover the replay is **skipped, logged and listed** with the reason; nothing is dropped
  silently.
* The birth gate is the real one (:func:`backtest.run_backtest` over the trailing 365 days with the
  risk-free rate). The deflated Sharpe ratio's N is the number of distinct strategies the replay has
  put through the gate so far, as in the import pipeline (every configuration tried is a trial).
  Looking at the same strategy again 30 days later is not a new independent trial: the windows
  overlap by eleven months, and counting each look (hundreds over five years) would deflate every
  Sharpe ratio to nothing.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select

from backtest import MarketData, run_backtest
from backtest.examples import example_specs
from core import ledger
from core.db import Database
from core.errors import ArenaError
from core.models import AIWallet, AllocationSnapshot, Organisation, OrgKind, OrgStatus, Platform, Role, User
from core.models.wallets_ext import RebalanceProposal
from core.wallets import approve_proposal, positions_of

log = logging.getLogger(__name__)
GATE_WINDOW_DAYS = 365


@dataclass
class Strategy:
    name: str
    spec: Any
    returns: pd.Series  # daily strategy return by UTC date
    benchmark: pd.Series  # daily return of holding the spec's asset
    symbol: str | None = None
    born: date | None = None

    @property
    def last_day(self) -> date | None:
        return max(self.returns.index) if len(self.returns) else None


@dataclass
class Gatekeeper:
    """The birth gate of the replay; counts every evaluation as a trial."""

    market: MarketData
    mode: str  # "strict" or "none"
    evaluations: int = 0
    tested: set[str] = field(default_factory=set)
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, dict[str, int]] = field(default_factory=dict)  # strategy -> failed check -> looks

    @property
    def trials(self) -> int:
        return len(self.tested)

    def passes(self, strategy: Strategy, day: date) -> bool:
        if self.mode == "none":
            window = [d for d in strategy.returns.index if day - timedelta(days=GATE_WINDOW_DAYS) <= d < day]
            return len(window) >= 180
        self.evaluations += 1
        try:
            self.tested.add(strategy.name)
            result = run_backtest(
                strategy.spec,
                self.market,
                start=day - timedelta(days=GATE_WINDOW_DAYS),
                end=day - timedelta(days=1),
                n_trials=self.trials,
            )
        except ArenaError as exc:
            log.info("replay gate on %s for %s: %s", day, strategy.name, exc)
            self._refuse(strategy.name, day, str(exc))
            return False
        failed = self.failures.setdefault(strategy.name, {})
        for check in result.gate.checks if result.gate else ():
            if check.applicable and check.passed is not True:
                failed[check.name] = failed.get(check.name, 0) + 1
        return bool(result.passed_gate)

    def _refuse(self, name: str, day: date, reason: str) -> None:
        """Keep the first reason a strategy could not be gated and how many looks it cost."""
        first = {"strategy": name, "from": day.isoformat(), "reason": reason[:200], "looks": 0}
        entry = self.refused.setdefault(name, first)
        entry["looks"] += 1
        entry["to"] = day.isoformat()


def forward_runs(market: MarketData, start: date, end: date) -> tuple[list[Strategy], list[dict[str, str]]]:
    """Each example spec run forward over the replay; the skipped ones with the reason."""
    out: list[Strategy] = []
    skipped: list[dict[str, str]] = []
    for spec in example_specs():
        if not spec.backtestable:
            skipped.append({"strategy": spec.name, "reason": spec.unsupported_reason or "not backtestable"})
            continue
        try:
            result = run_backtest(spec, market, start=start - timedelta(days=GATE_WINDOW_DAYS + 5), end=end)
        except ArenaError as exc:
            log.warning("replay skips %s: %s", spec.name, exc)
            skipped.append({"strategy": spec.name, "reason": str(exc)[:300]})
            continue
        returns = result.daily_returns.copy()
        returns.index = [pd.Timestamp(i).date() for i in returns.index]
        bench = result.benchmark.pct_change().dropna()
        bench.index = [pd.Timestamp(i).date() for i in bench.index]
        out.append(Strategy(spec.name, spec, returns, bench))
    return out, skipped


def slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())[:12] or "X"


def setup_people(db: Database, wallets: int, rng: random.Random) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {"full_ai": [], "hybrid": [], "manual": []}
    owners: dict[int, int] = {}
    deposits: dict[int, Decimal] = {}
    with db.uow() as uow:
        now = uow.clock.now()
        org = Organisation(
            name="Replay Fellowship",
            kind=OrgKind.CHURCH,
            status=OrgStatus.VERIFIED,
            created_at=now,
            verified_at=now,
        )
        uow.session.add(org)
        uow.session.flush()
        n = 0
        for mode in ids:
            for _ in range(wallets):
                n += 1
                user = User(
                    platform=Platform.CONSOLE,
                    platform_user_id=10_000 + n,
                    role=Role.ORG_ADMIN,
                    organisation_id=org.id,
                    is_org_admin=True,
                    created_at=now,
                )
                uow.session.add(user)
                uow.session.flush()
                wallet = ledger.create_wallet_in(
                    uow.session,
                    now,
                    organisation_id=org.id,
                    name=f"{mode} {n}",
                    mode=mode,
                    tier="free" if mode == "manual" else "basic",
                    owner_user_ids=[user.id],
                )
                deposits[wallet.id] = Decimal(rng.randrange(50, 500)) * 1000
                ids[mode].append(wallet.id)
                owners[wallet.id] = user.id
        uow.commit()
    for wallet_id, amount in deposits.items():  # one transaction each: the ledger's lock order
        ledger.deposit(db.uow(), wallet_id, amount, idempotency_key=f"replay:seed:{wallet_id}")
    ids["owners"] = [owners[w] for w in ids["hybrid"]]
    return ids


def ai_value(db: Database, wallet_ids: list[int]) -> tuple[float, float]:
    """(total value, cash) of the given wallets, in USD."""
    total = cash = Decimal(0)
    with db.uow(read_only=True) as uow:
        for wallet_id in wallet_ids:
            wallet = uow.session.get(AIWallet, wallet_id)
            assert wallet is not None
            cash += wallet.cash
            total += wallet.cash + sum((p.value for p in positions_of(uow.session, wallet_id)), Decimal(0))
    return float(total), float(cash)


def ew_target(db: Database, wallet_id: int, now: datetime) -> dict[str, float] | None:
    with db.uow(read_only=True) as uow:
        snap = uow.session.scalars(
            select(AllocationSnapshot).where(
                AllocationSnapshot.wallet_id == wallet_id,
                AllocationSnapshot.created_at == now,
                AllocationSnapshot.executed.is_(True),
            )
        ).first()
        if snap is None:
            return None
        return {k: float(Decimal(str(v))) for k, v in snap.equal_weight["weights"].items()}


def approve_some(db: Database, people: dict[str, list[int]], rng: random.Random, day: date) -> list[str]:
    """Hybrid owners approve pending proposals with probability 0.8; returns refusals (logged)."""
    owner_of = dict(zip(people["hybrid"], people["owners"], strict=True))
    with db.uow(read_only=True) as uow:
        pending = list(
            uow.session.execute(
                select(RebalanceProposal.id, RebalanceProposal.wallet_id).where(
                    RebalanceProposal.status == "pending"
                )
            )
        )
    refused: list[str] = []
    for proposal_id, wallet_id in pending:
        if rng.random() < 0.8:
            try:
                approve_proposal(
                    db.uow(),
                    proposal_id,
                    user_id=owner_of[wallet_id],
                    idempotency_key=f"replay:approve:{proposal_id}",
                )
            except ArenaError as exc:  # a halted market or a limit: the owner tries another day
                log.info("replay %s: approval of proposal %s refused: %s", day, proposal_id, exc)
                refused.append(f"{day.isoformat()} proposal {proposal_id}: {exc}")
    return refused
