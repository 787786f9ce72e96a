"""``arena replay``: the whole platform on a simulated clock over real history.

Day by day from ``start`` to ``end`` (UTC): every 30 days the example strategies are put through
the birth gate on the trailing 365 days (the real gate: excess Sharpe over the risk-free rate,
drawdown, DSR counting every evaluation as a trial, walk-forward; or ``gate="none"``); those that
pass are tokenized as *proving*, marked daily from their strategy's daily return (one forward
backtest run, so no rule sees a future bar; a day without data is not marked), promoted after 30
passing paper days, killed by the drawdown kill switch, and wound down as **stale** when their
data stops. ``wallets`` wallets per mode (full AI, hybrid, manual) get seeded deposits; the
rebalance cycle runs daily (weekly or drift); hybrid owners approve with probability 0.8 (seeded).
The circuit breaker and redemption queue run daily. The database is a real SQLite file.

The report (:mod:`scheduler.replay_report`): AI (full-AI wallets, time-weighted, net of costs)
against a shadow equal-weight portfolio over the same eligible tokens; drift at rebalance; token
quality; a verdict against the brief's success metrics; all-cash periods explained; the strategies
skipped and why. Floats are for statistics only; every balance moves through the Decimal ledger.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress
from sqlalchemy import select

from backtest import MarketData, load_market
from core import ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.errors import ValidationError
from core.migrations import upgrade
from core.models import StrategyToken, TokenStatus
from core.notify import CollectingNotifier
from core.risk import check_circuit_breaker, check_kill_switch, resume_trading
from core.risk.redemption import process_queue_in
from core.tokens import promote_ready_tokens, retire_stale_in
from core.wallets import DEFAULT_WALLET_CONFIG, run_rebalance_cycle
from scheduler.replay_report import plot, write_csv
from scheduler.replay_summary import build_report
from scheduler.replay_world import (
    Gatekeeper,
    Strategy,
    ai_value,
    approve_some,
    ew_target,
    forward_runs,
    setup_people,
    slug,
)

RETURN_QUANTUM = Decimal("0.000000000001")
BIRTH_EVERY_DAYS = 30


@dataclass
class ReplayState:
    strategies: list[Strategy] = field(default_factory=list)
    ai_values: dict[date, float] = field(default_factory=dict)
    ew_returns: dict[date, float] = field(default_factory=dict)
    daily: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    ew_weights: dict[str, float] = field(default_factory=dict)
    resume_on: date | None = None


def check_range(market: MarketData, start: date, end: date) -> None:
    """A reversed or empty range is a clear error, not an empty report."""
    if start > end:
        raise ValidationError(f"--from {start} is after --to {end}; give the earlier day first")
    days = [ix for ix in (f.index for f in market.prices.values())] + [s.index for s in market.rates.values()]
    lo, hi = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    if not any(((ix >= lo) & (ix <= hi)).any() for ix in days):
        raise ValidationError(f"the market data ({market.source}) has no day between {start} and {end}")


def run_replay(
    data: str | Path | None,
    start: date,
    end: date,
    *,
    wallets: int = 3,
    seed: int = 7,
    gate: str = "strict",
    plot_path: Path | None = None,
    db_path: Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Replay ``start``..``end`` and return the JSON-ready report (and the CSV beside the PNG)."""
    rng = random.Random(seed)
    market = load_market(str(data) if data else None)
    check_range(market, start, end)
    tmp = tempfile.TemporaryDirectory() if db_path is None else None
    path = db_path or Path(tmp.name if tmp else ".") / "replay.db"
    clock = SimulatedClock(datetime(start.year, start.month, start.day, tzinfo=UTC))
    db = Database(f"sqlite:///{path}", clock=clock)
    upgrade(db.engine)
    notifier = CollectingNotifier()
    strategies, skipped = forward_runs(market, start, end)
    state = ReplayState(strategies=strategies, skipped=skipped)
    gatekeeper = Gatekeeper(market, gate)
    people = setup_people(db, wallets, rng)
    with Progress(disable=not progress, transient=True) as bars:
        task = bars.add_task("replaying days", total=(end - start).days + 1)
        _run_days(db, clock, state, gatekeeper, people, rng, notifier, start, end, lambda: bars.advance(task))
    result = build_report(db, state, gatekeeper, start, end, wallets, seed, gate, notifier, market.riskfree())
    if plot_path is not None:
        plot(plot_path, pd.Series(state.ai_values), pd.Series(state.ew_returns), result)
        csv_path = plot_path.with_suffix(".csv")
        write_csv(csv_path, pd.DataFrame(state.daily).set_index("date"))
        result["daily_csv"] = str(csv_path)
    db.dispose()
    if tmp is not None:
        tmp.cleanup()
    return result


def _run_days(
    db: Database,
    clock: SimulatedClock,
    state: ReplayState,
    gatekeeper: Gatekeeper,
    people: dict[str, list[int]],
    rng: random.Random,
    notifier: CollectingNotifier,
    start: date,
    end: date,
    tick: Any,
) -> None:
    ai_ids = people["full_ai"]
    prev_value = ai_value(db, ai_ids)[0]
    day = start
    while day <= end:
        clock.set(datetime(day.year, day.month, day.day, 1, tzinfo=UTC))
        now = clock.now()
        if state.resume_on == day:  # the replay's platform admin reviews and resumes a day later
            with db.uow() as uow:
                resume_trading(uow.session, now, admin="replay:admin")
                uow.commit()
            state.resume_on = None
        if (day - start).days % BIRTH_EVERY_DAYS == 0:
            _births(db, state, gatekeeper, day)
        token_returns = _marks(db, state, day, now, notifier)
        _risk_steps(db, state, day, now, notifier)
        ew_r = _ew_drift(state, token_returns)
        flow = _deposits(db, people, rng, day, start)
        cycle = run_rebalance_cycle(db.uow(), notifier=notifier)
        if cycle.executed and ai_ids:
            new_w = ew_target(db, ai_ids[0], now)
            if new_w is not None:
                turnover = sum(
                    abs(new_w.get(s, 0.0) - state.ew_weights.get(s, 0.0))
                    for s in set(new_w) | set(state.ew_weights)
                )
                ew_r -= turnover * float(DEFAULT_WALLET_CONFIG.cost_rate)
                state.ew_weights = new_w
        approve_some(db, people, rng, day)
        value, cash = ai_value(db, ai_ids)
        if prev_value > 0:
            state.ai_values[day] = value / (prev_value + flow) - 1
            state.ew_returns[day] = ew_r
        state.daily.append(
            {
                "date": day.isoformat(),
                "ai_return": state.ai_values.get(day),
                "equal_weight_return": state.ew_returns.get(day),
                "ai_value_usd": value,
                "ai_cash_share": cash / value if value > 0 else 1.0,
                "live_tokens": _live_tokens(db),
            }
        )
        prev_value = value
        day += timedelta(days=1)
        tick()


def _births(db: Database, state: ReplayState, gatekeeper: Gatekeeper, day: date) -> None:
    for i, strategy in enumerate(state.strategies):
        if strategy.symbol is None and gatekeeper.passes(strategy, day):
            strategy.symbol = f"STRAT-{slug(getattr(strategy.spec, 'family', 'X'))}-{i:03d}"
            strategy.born = day
            ledger.tokenize(
                db.uow(),
                agent_id=None,
                symbol=strategy.symbol,
                total_supply="1000000000",
                name=strategy.name,
                idempotency_key=f"replay:tokenize:{strategy.symbol}",
            )


def _marks(
    db: Database, state: ReplayState, day: date, now: datetime, notifier: CollectingNotifier
) -> dict[str, float]:
    """Mark every live token that has data for ``day``; wind down the ones whose data stopped."""
    stale_after = get_settings().stale_after_days
    token_returns: dict[str, float] = {}
    for strategy in state.strategies:  # one transaction per mark: the ledger's lock order
        if strategy.symbol is None:
            continue
        with db.uow() as uow:
            token = uow.session.scalars(
                select(StrategyToken).where(StrategyToken.symbol == strategy.symbol)
            ).one()
            if token.status is TokenStatus.RETIRED:
                continue
            last = strategy.last_day
            if last is not None and (day - last).days > stale_after:
                retire_stale_in(uow.session, now, strategy.symbol, last, notifier=notifier)
                uow.commit()
                continue
            if day not in strategy.returns.index:
                continue  # no data for the day: no mark, never a flat NAV
            before = float(ledger.nav_of(token))
            ledger.mark_nav_in(
                uow.session,
                now,
                symbol=strategy.symbol,
                as_of=day,
                daily_return=_dec(float(strategy.returns[day])),
                benchmark_return=_dec(float(strategy.benchmark.get(day, 0.0))),
            )
            token_returns[strategy.symbol] = float(ledger.nav_of(token)) / before - 1
            uow.commit()
    return token_returns


def _risk_steps(
    db: Database, state: ReplayState, day: date, now: datetime, notifier: CollectingNotifier
) -> None:
    """The risk job's steps, each in its own transaction (as scheduler.jobs.lifecycle_checks)."""
    for step in (
        process_queue_in,
        promote_ready_tokens,
        lambda s, n: check_kill_switch(s, n, notifier=notifier),
    ):
        with db.uow() as uow:
            step(uow.session, now)
            uow.commit()
    with db.uow() as uow:
        tripped = check_circuit_breaker(uow.session, now)
        uow.commit()
    if tripped:
        state.resume_on = day + timedelta(days=1)


def _ew_drift(state: ReplayState, token_returns: dict[str, float]) -> float:
    """The equal-weight shadow drifts with token returns until the AI's next rebalance."""
    weights = state.ew_weights
    ew_r = sum(w * token_returns.get(s, 0.0) for s, w in weights.items())
    if sum(weights.values()) > 0:
        state.ew_weights = {s: w * (1 + token_returns.get(s, 0.0)) / (1 + ew_r) for s, w in weights.items()}
    return ew_r


def _deposits(
    db: Database, people: dict[str, list[int]], rng: random.Random, day: date, start: date
) -> float:
    """Monthly seeded deposits; returns the full-AI wallets' inflow (neutralised in their returns)."""
    flow = 0.0
    if day.day == 1 and day != start:
        for wallet_id in people["full_ai"] + people["hybrid"]:
            amount = Decimal(rng.randrange(1, 20)) * 1000
            ledger.deposit(db.uow(), wallet_id, amount, idempotency_key=f"replay:dep:{wallet_id}:{day}")
            if wallet_id in people["full_ai"]:
                flow += float(amount)
    return flow


def _live_tokens(db: Database) -> int:
    with db.uow(read_only=True) as uow:
        return len(
            list(
                uow.session.scalars(
                    select(StrategyToken.id).where(
                        StrategyToken.status.in_([TokenStatus.ACTIVE, TokenStatus.PROVING])
                    )
                )
            )
        )


def _dec(value: float) -> Decimal:
    return Decimal.from_float(float(value)).quantize(RETURN_QUANTUM)
