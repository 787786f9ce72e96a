"""``arena replay``: the whole platform on a simulated clock over real history.

Day by day from ``start`` to ``end`` (UTC): strategy specs are backtested on the trailing 365 days
every 30 days; those passing the quality gate (or every backtestable one with ``gate="none"``) are
tokenized as *proving*, marked daily from their strategy's daily return (one forward backtest run,
so no rule sees a future bar), promoted to *active* after 30 passing paper days, and killed by the
drawdown kill switch. ``wallets`` wallets per mode (full AI, hybrid, manual) get seeded deposits;
the rebalance cycle runs daily (weekly or drift); hybrid owners approve with probability 0.8
(seeded). The circuit breaker and redemption queue run daily. The database is a real SQLite file.

Outputs (see :func:`run_replay`): AI (full-AI wallets, time-weighted, net of costs) against a
shadow equal-weight portfolio over the same eligible tokens, rebalanced on the same days with the
same cost rate; drift at rebalance; token quality; risk events. Floats are for statistics only;
every balance moves through the Decimal ledger.
"""

from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from backtest import load_market, run_backtest
from backtest.examples import example_specs
from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.migrations import upgrade
from core.models import (
    AllocationSnapshot,
    AuditLog,
    NavMark,
    Organisation,
    OrgKind,
    OrgStatus,
    Platform,
    Role,
    StrategyToken,
    TokenStatus,
    User,
)
from core.models.wallets_ext import RebalanceExecution, RebalanceProposal
from core.notify import CollectingNotifier
from core.risk import check_circuit_breaker, check_kill_switch, insurance_fund_balance, resume_trading
from core.risk.redemption import process_queue_in
from core.tokens import promote_ready_tokens
from core.wallets import DEFAULT_WALLET_CONFIG, approve_proposal, positions_of, run_rebalance_cycle
from scheduler.replay_report import percentile, plot, series_stats

RETURN_QUANTUM = Decimal("0.000000000001")
BIRTH_EVERY_DAYS = 30
GATE_WINDOW_DAYS = 365


@dataclass
class _Strategy:
    name: str
    spec: Any
    returns: pd.Series  # daily strategy return by UTC date
    benchmark: pd.Series  # daily return of holding the spec's asset
    symbol: str | None = None
    born: date | None = None


@dataclass
class _State:
    strategies: list[_Strategy] = field(default_factory=list)
    ai_values: dict[date, float] = field(default_factory=dict)
    ai_flows: dict[date, float] = field(default_factory=dict)
    ew_returns: dict[date, float] = field(default_factory=dict)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())[:12] or "X"


def _forward_runs(market: Any, start: date, end: date) -> list[_Strategy]:
    out: list[_Strategy] = []
    for spec in example_specs():
        try:
            result = run_backtest(spec, market, start=start - timedelta(days=GATE_WINDOW_DAYS + 5),
                                  end=end)
        except Exception:  # DataError etc.: the spec's assets do not cover the window
            continue
        if not result.metrics.get("days"):
            continue
        returns = result.daily_returns.copy()
        returns.index = [pd.Timestamp(i).date() for i in returns.index]
        bench = result.benchmark.pct_change().dropna()
        bench.index = [pd.Timestamp(i).date() for i in bench.index]
        out.append(_Strategy(str(getattr(spec, "name", "spec")), spec, returns, bench))
    return out


def _gate(strategy: _Strategy, market: Any, day: date, gate: str) -> bool:
    if gate == "none":
        window = strategy.returns[[d for d in strategy.returns.index
                                   if day - timedelta(days=GATE_WINDOW_DAYS) <= d < day]]
        return len(window) >= 180
    try:
        result = run_backtest(strategy.spec, market, start=day - timedelta(days=GATE_WINDOW_DAYS),
                              end=day - timedelta(days=1))
    except Exception:
        return False
    return bool(result.passed_gate)


def _dec(value: float) -> Decimal:
    return Decimal.from_float(float(value)).quantize(RETURN_QUANTUM)


def _setup_people(db: Database, wallets: int, rng: random.Random) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {"full_ai": [], "hybrid": [], "manual": []}
    owners: dict[int, int] = {}
    deposits: dict[int, Decimal] = {}
    with db.uow() as uow:
        now = uow.clock.now()
        org = Organisation(name="Replay Fellowship", kind=OrgKind.CHURCH,
                           status=OrgStatus.VERIFIED, created_at=now, verified_at=now)
        uow.session.add(org)
        uow.session.flush()
        n = 0
        for mode in ids:
            for _ in range(wallets):
                n += 1
                user = User(platform=Platform.CONSOLE, platform_user_id=10_000 + n,
                            role=Role.ORG_ADMIN, organisation_id=org.id, is_org_admin=True,
                            created_at=now)
                uow.session.add(user)
                uow.session.flush()
                wallet = ledger.create_wallet_in(
                    uow.session, now, organisation_id=org.id, name=f"{mode} {n}", mode=mode,
                    tier="free" if mode == "manual" else "basic", owner_user_ids=[user.id])
                deposits[wallet.id] = Decimal(rng.randrange(50, 500)) * 1000
                ids[mode].append(wallet.id)
                owners[wallet.id] = user.id
        uow.commit()
    for wallet_id, amount in deposits.items():  # one transaction each: the ledger's lock order
        ledger.deposit(db.uow(), wallet_id, amount, idempotency_key=f"replay:seed:{wallet_id}")
    ids["owners"] = [owners[w] for w in ids["hybrid"]]
    return ids


def _ai_value(db: Database, wallet_ids: list[int]) -> float:
    total = Decimal(0)
    with db.uow(read_only=True) as uow:
        for wallet_id in wallet_ids:
            from core.models import AIWallet

            wallet = uow.session.get(AIWallet, wallet_id)
            assert wallet is not None
            total += wallet.cash + sum((p.value for p in positions_of(uow.session, wallet_id)),
                                       Decimal(0))
    return float(total)


def run_replay(data: str | Path | None, start: date, end: date, *, wallets: int = 3,
               seed: int = 7, gate: str = "strict", plot_path: Path | None = None,
               db_path: Path | None = None) -> dict[str, Any]:
    """Replay ``start``..``end`` and return the JSON-ready report."""
    rng = random.Random(seed)
    market = load_market(str(data) if data else None)
    tmp = tempfile.TemporaryDirectory() if db_path is None else None
    path = db_path or Path(tmp.name if tmp else ".") / "replay.db"
    clock = SimulatedClock(datetime(start.year, start.month, start.day, tzinfo=UTC))
    db = Database(f"sqlite:///{path}", clock=clock)
    upgrade(db.engine)
    notifier = CollectingNotifier()
    state = _State(strategies=_forward_runs(market, start, end))
    people = _setup_people(db, wallets, rng)
    ai_ids = people["full_ai"]
    ew_weights: dict[str, float] = {}
    prev_value = _ai_value(db, ai_ids)
    resume_on: date | None = None
    day = start
    while day <= end:
        clock.set(datetime(day.year, day.month, day.day, 1, tzinfo=UTC))
        now = clock.now()
        if resume_on == day:  # the replay's platform admin reviews and resumes a day later
            with db.uow() as uow:
                resume_trading(uow.session, now, admin="replay:admin")
                uow.commit()
            resume_on = None
        # 1. Births (every 30 days).
        if (day - start).days % BIRTH_EVERY_DAYS == 0:
            for i, strategy in enumerate(state.strategies):
                if strategy.symbol is None and _gate(strategy, market, day, gate):
                    strategy.symbol = f"STRAT-{_slug(getattr(strategy.spec, 'family', 'X'))}-{i:03d}"
                    strategy.born = day
                    ledger.tokenize(db.uow(), agent_id=None, symbol=strategy.symbol,
                                    total_supply="1000000000", name=strategy.name,
                                    idempotency_key=f"replay:tokenize:{strategy.symbol}")
        # 2. Marks, lifecycle, risk.
        token_returns: dict[str, float] = {}
        for strategy in state.strategies:  # one transaction per mark: the ledger's lock order
            if strategy.symbol is None or day not in strategy.returns.index:
                continue
            with db.uow() as uow:
                token = uow.session.scalars(select(StrategyToken).where(
                    StrategyToken.symbol == strategy.symbol)).one()
                if token.status is TokenStatus.RETIRED:
                    continue
                r = float(strategy.returns[day])
                b = float(strategy.benchmark.get(day, 0.0))
                before = float(ledger.nav_of(token))
                ledger.mark_nav_in(uow.session, now, symbol=strategy.symbol, as_of=day,
                                   daily_return=_dec(r), benchmark_return=_dec(b))
                token_returns[strategy.symbol] = float(ledger.nav_of(token)) / before - 1
                uow.commit()
        # The risk job's steps, each in its own transaction (as scheduler.jobs.lifecycle_checks).
        for step in (process_queue_in, promote_ready_tokens,
                     lambda s, n: check_kill_switch(s, n, notifier=notifier)):
            with db.uow() as uow:
                step(uow.session, now)
                uow.commit()
        with db.uow() as uow:
            tripped = check_circuit_breaker(uow.session, now)
            uow.commit()
        if tripped:
            resume_on = day + timedelta(days=1)
        # 3. Equal-weight shadow: drift with token returns until the AI's next rebalance.
        ew_r = sum(w * token_returns.get(s, 0.0) for s, w in ew_weights.items())
        total_w = sum(ew_weights.values())
        if total_w > 0:
            ew_weights = {s: w * (1 + token_returns.get(s, 0.0)) / (1 + ew_r)
                          for s, w in ew_weights.items()}
        # 4. Deposits (monthly, seeded) and the rebalance cycle.
        flow = 0.0
        if day.day == 1 and day != start:
            for wallet_id in ai_ids + people["hybrid"]:
                amount = Decimal(rng.randrange(1, 20)) * 1000
                ledger.deposit(db.uow(), wallet_id, amount,
                               idempotency_key=f"replay:dep:{wallet_id}:{day}")
                if wallet_id in ai_ids:
                    flow += float(amount)
        report = run_rebalance_cycle(db.uow(), notifier=notifier)
        if report.executed:
            new_w = _ew_target(db, ai_ids[0], now) if ai_ids else None
            if new_w is not None:
                turnover = sum(abs(new_w.get(s, 0.0) - ew_weights.get(s, 0.0))
                               for s in set(new_w) | set(ew_weights))
                ew_r -= turnover * float(DEFAULT_WALLET_CONFIG.cost_rate)
                ew_weights = new_w
        _approve_some(db, people, rng, day)
        value = _ai_value(db, ai_ids)
        if prev_value > 0:
            state.ai_values[day] = value / (prev_value + flow) - 1
            state.ew_returns[day] = ew_r
        prev_value = value
        day += timedelta(days=1)
    result = _report(db, state, start, end, wallets, seed, gate, notifier)
    if plot_path is not None:
        plot(plot_path, pd.Series(state.ai_values), pd.Series(state.ew_returns), result)
    db.dispose()
    if tmp is not None:
        tmp.cleanup()
    return result


def _ew_target(db: Database, wallet_id: int, now: datetime) -> dict[str, float] | None:
    with db.uow(read_only=True) as uow:
        snap = uow.session.scalars(select(AllocationSnapshot).where(
            AllocationSnapshot.wallet_id == wallet_id, AllocationSnapshot.created_at == now,
            AllocationSnapshot.executed.is_(True))).first()
        if snap is None:
            return None
        return {k: float(Decimal(str(v))) for k, v in snap.equal_weight["weights"].items()}


def _approve_some(db: Database, people: dict[str, list[int]], rng: random.Random,
                  day: date) -> None:
    owner_of = dict(zip(people["hybrid"], people["owners"], strict=True))
    with db.uow(read_only=True) as uow:
        pending = list(uow.session.execute(select(RebalanceProposal.id, RebalanceProposal.wallet_id)
                                           .where(RebalanceProposal.status == "pending")))
    for proposal_id, wallet_id in pending:
        if rng.random() < 0.8:
            try:
                approve_proposal(db.uow(), proposal_id, user_id=owner_of[wallet_id],
                                 idempotency_key=f"replay:approve:{proposal_id}")
            except Exception:  # a halted market or limit: the owner simply tries another day
                continue


def _report(db: Database, state: _State, start: date, end: date, wallets: int, seed: int,
            gate: str, notifier: CollectingNotifier) -> dict[str, Any]:
    ai = series_stats(pd.Series(state.ai_values))
    ew = series_stats(pd.Series(state.ew_returns))
    with db.uow(read_only=True) as uow:
        drifts = [float(d) for (d, trig) in uow.session.execute(
            select(RebalanceExecution.drift_before, RebalanceExecution.trigger)) if trig != "initial"]
        rebalances = int(uow.session.scalar(select(func.count()).select_from(
            RebalanceExecution)) or 0)
        costs = sum(float(c) for c in uow.session.scalars(select(RebalanceExecution.trading_costs)))
        kills = int(uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "token.retire")) or 0)
        trips = int(uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "risk.circuit_breaker.trip")) or 0)
        tokens = uow.session.scalars(select(StrategyToken).order_by(StrategyToken.id)).all()
        token_rows = []
        for token in tokens:
            marks = uow.session.execute(select(NavMark.nav_per_token, NavMark.benchmark_return,
                                               NavMark.daily_return)
                                        .where(NavMark.token_id == token.id)
                                        .order_by(NavMark.as_of)).all()
            if len(marks) < 2:
                continue
            rets = np.array([float(m[2]) for m in marks])
            bench = float(np.prod([1 + float(m[1]) for m in marks]) - 1)
            strat = float(np.prod(1 + rets) - 1)
            sharpe = float(rets.mean() / rets.std() * np.sqrt(365)) if rets.std() > 0 else 0.0
            token_rows.append({"symbol": token.symbol, "status": token.status.value,
                               "days": len(marks), "return": round(strat, 6),
                               "hold_asset_return": round(bench, 6), "sharpe": round(sharpe, 4),
                               "beat_holding": strat > bench})
        insurance = insurance_fund_balance(uow.session)
        proposals = dict(uow.session.execute(select(RebalanceProposal.status, func.count())
                                             .group_by(RebalanceProposal.status)).all())
    live = token_rows
    beat = [bool(t["beat_holding"]) for t in live]
    sharpes = [float(str(t["sharpe"])) for t in live]
    diff = None
    if ai["annual_return"] is not None and ew["annual_return"] is not None:
        diff = round(float(ai["annual_return"]) - float(ew["annual_return"]), 6)
    return {
        "from": start.isoformat(), "to": end.isoformat(), "wallets_per_mode": wallets,
        "seed": seed, "gate": gate,
        "comparison": {"ai": ai, "equal_weight": ew, "ai_minus_equal_weight_annual": diff},
        "drift_at_rebalance": {"count": len(drifts),
                               "mean": round(sum(drifts) / len(drifts), 6) if drifts else None,
                               "p95": percentile(drifts, 95)},
        "rebalances": rebalances, "trading_costs_usd": round(costs, 2),
        "proposals": {str(k): int(v) for k, v in proposals.items()},
        "tokens": {"count": len(live),
                   "share_beating_hold": round(sum(beat) / len(beat), 4) if beat else None,
                   "average_sharpe": round(float(np.mean(sharpes)), 4) if sharpes else None,
                   "detail": live},
        "kill_switches": kills, "circuit_breakers": trips,
        "insurance_fund_usd": format(insurance, "f"),
        "notifications": len(notifier.messages),
        "targets": {"beat_equal_weight_by": 0.05, "max_drift_before_rebalance": 0.02,
                    "share_tokens_beating_hold": 0.8},
    }
