"""Prove and tokenize: paper trading of candidates that passed the gate, then the token.

Paper modes (stored on the candidate, its agent's gate report and so on the token):

* ``forward`` (default): the backtest ends on the last day the data had when the candidate was
  backtested; paper trading then marks each following day only when the market data for that day
  has arrived, on the injected clock. The candidate stays *proving* until 30 such days passed (call
  :func:`parser.pipeline.run_import` again, e.g. from the scheduler, to advance it); while no new
  data arrives it says so.
* ``replay``: the backtest stops ``paper_days`` before the data ends and the held-out days are
  paper-traded at once on a simulated clock. A token proved this way says "proved on replayed
  history". ``arena demo`` uses it because its clock is simulated anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from backtest import MarketData, PaperTrader
from core.clock import Clock, SimulatedClock
from core.config import Settings
from core.db import UnitOfWork
from core.ledger import tokenize
from core.models import TreasuryAgent
from core.models.pipeline import CandidateState, StrategyCandidate

UowFactory = Callable[[], UnitOfWork]
MODES = ("forward", "replay")
ALIASES = {"live": "forward"}
REPLAY_LABEL = "proved on replayed history"
FORWARD_LABEL = "proved forward, on data as it arrived"


def paper_mode_name(mode: str) -> str:
    """``forward`` or ``replay`` (``live`` is the old name of ``forward``)."""
    name = ALIASES.get(mode, mode)
    if name not in MODES:
        raise ValueError(f"paper mode must be one of {', '.join(MODES)}")
    return name


def paper_status(
    candidate: StrategyCandidate, spec: dict[str, Any], market: MarketData, clock: Clock, settings: Settings
) -> tuple[Any, dict[str, Any]]:
    """Advance the candidate's paper trading of ``spec`` (its finalist); returns the trader's status
    and extra facts (the mode, the first paper day, the day the data stops when it is waiting)."""
    end = dt.date.fromisoformat(str((candidate.backtest_metrics or {})["backtest_end"]))
    mode = candidate.paper_mode or "forward"
    paper_clock: Clock = clock
    if mode == "replay":  # the held-out days are already history: replay them on a simulated clock
        paper_clock = SimulatedClock(
            dt.datetime.combine(end + dt.timedelta(days=settings.paper_days + 1), dt.time(1), dt.UTC)
        )
    trader = PaperTrader(spec, market, end, paper_clock, settings=settings)
    trader.advance()
    status = trader.status()
    extra: dict[str, Any] = {"mode": mode, "from": trader.first_day.isoformat()}
    last = trader.last_data_day()
    if status.state == "running" and last is not None and last < clock.now().date() - dt.timedelta(days=1):
        extra["waiting_for_data_after"] = last.isoformat()
    return status, extra


def tokenize_candidate(uow_factory: UowFactory, cid: int, settings: Settings, clock: Clock) -> str:
    with uow_factory() as uow:
        candidate = uow.session.get(StrategyCandidate, cid)
        assert candidate is not None and candidate.token_symbol is not None
        symbol, agent_id = candidate.token_symbol, candidate.agent_id
        name = str((candidate.spec or {}).get("name", symbol))[:200]
    created = tokenize(
        uow_factory(),
        agent_id=agent_id,
        symbol=symbol,
        total_supply=settings.default_total_supply,
        idempotency_key=f"import:candidate:{cid}:tokenize",
        name=name,
        status="active",
    )
    with uow_factory() as uow:
        candidate = uow.session.get(StrategyCandidate, cid)
        assert candidate is not None
        if candidate.agent_id is not None:
            agent = uow.session.get(TreasuryAgent, candidate.agent_id)
            if agent is not None:
                agent.paper_metrics = candidate.paper_metrics
                agent.gate_report = {**(candidate.gate_report or {}), "proof": candidate.paper_mode}
        candidate.token_id = created.token_id
        candidate.state = CandidateState.TOKENIZED
        candidate.updated_at = clock.now()
        uow.commit()
    return created.symbol


def proof_label(mode: str | None) -> str:
    return REPLAY_LABEL if mode == "replay" else FORWARD_LABEL
