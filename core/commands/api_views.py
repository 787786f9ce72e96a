"""JSON views for the REST API: the same rows the chat renders as text, as dictionaries.

Money, NAV and quantities are decimal *strings*, never floats; times are ISO 8601 UTC. Every USD
amount (cash, AUM, values, prices a month, charges) goes through :func:`usd`: exactly 6 decimals, the
ledger's cash quantum, whatever the database returns — valuations (units x NAV, exact products with
up to 36 decimals) rounded half-up to it, as the ledger values a position. NAV, cost basis (USD per
token) and quantities are the stored values as plain text (:func:`dec`, at most 18 decimals).
Views read only; access checks stay with the callers (``core.commands.api_ops``) and the permission
table. Units: cash in USD, quantities in token units, NAV in USD per token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from core.errors import NotFound, UnknownToken
from core.ledger.locks import normalise_symbol
from core.models.compliance import Organisation, OrgStatus
from core.models.pipeline import StrategyCandidate
from core.models.tokens import NavMark, StrategyToken, TokenHolding, TokenStatus
from core.models.wallets import AIWallet
from core.models.wallets_ext import RebalanceProposal
from core.money import CASH_QUANTUM, div, mul

LISTED = (TokenStatus.ACTIVE, TokenStatus.PROVING)
HISTORY_DAYS = 365


def dec(value: Decimal | None) -> str | None:
    """A decimal as a plain string (no exponent), or None."""
    return None if value is None else format(value, "f")


def usd(value: Decimal) -> str:
    """A USD amount as text with exactly 6 decimals (``9110.000000``, ``1.234568``)."""
    return format(value.quantize(CASH_QUANTUM, rounding=ROUND_HALF_UP), "f")


def when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


#: The token columns a summary shows (the list reads only these, not whole rows).
SUMMARY_COLUMNS = (StrategyToken.symbol, StrategyToken.name, StrategyToken.status,
                   StrategyToken.nav_per_token, StrategyToken.aum, StrategyToken.total_supply,
                   StrategyToken.circulating_supply,
                   StrategyToken.benchmark_asset, StrategyToken.created_at)


def token_summary(token: StrategyToken | Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """A token row (or a row of :data:`SUMMARY_COLUMNS`) as JSON-ready strings."""
    return {
        "symbol": token.symbol,
        "name": token.name,
        "status": token.status.value,
        "nav_per_token": dec(token.nav_per_token),
        "aum": usd(token.aum),
        "total_supply": dec(token.total_supply),
        "circulating_supply": dec(token.circulating_supply),
        "remaining_supply": dec(token.total_supply - token.circulating_supply),
        "benchmark_asset": token.benchmark_asset,
        "created_at": when(token.created_at),
    }


def list_tokens(session: Session) -> list[dict[str, Any]]:
    """Tradable and proving tokens, by symbol (what /tokens lists)."""
    rows = session.execute(select(*SUMMARY_COLUMNS).where(StrategyToken.status.in_(LISTED))
                           .order_by(StrategyToken.symbol))
    return [token_summary(row) for row in rows]


def token_info(session: Session, symbol: str, now: datetime) -> dict[str, Any]:
    """One token with its performance: 30-day change, drawdown from peak, NAV history (daily marks,
    up to a year), the strategy, its gate report and lifecycle dates (what /token shows)."""
    clean = normalise_symbol(symbol)
    token = session.scalar(select(StrategyToken).where(StrategyToken.symbol == clean))
    if token is None:
        raise UnknownToken(f"There is no token {clean}; GET /api/tokens/list lists them.")
    marks = session.scalars(select(NavMark).where(
        NavMark.token_id == token.id, NavMark.as_of >= now.date() - timedelta(days=HISTORY_DAYS))
        .order_by(NavMark.as_of)).all()
    month_ago = now.date() - timedelta(days=30)
    first = next((m for m in marks if m.as_of >= month_ago), None)
    change = (div(token.nav_per_token, first.nav_per_token) - 1
              if first is not None and first.nav_per_token > 0 else None)
    drawdown = (min(div(token.nav_per_token, token.peak_nav) - 1, Decimal(0))
                if token.peak_nav > 0 else None)
    agent = token.agent
    return {
        **token_summary(token),
        "change_30d": dec(change),
        "drawdown_from_peak": dec(drawdown),
        "peak_nav": dec(token.peak_nav),
        "activated_at": when(token.activated_at),
        "retired_at": when(token.retired_at),
        "retire_reason": token.retire_reason,
        "nav_history": [{"date": m.as_of.isoformat(), "nav_per_token": dec(m.nav_per_token)} for m in marks],
        "strategy": None if agent is None else {
            "name": agent.name, "family": agent.family, "code_sha256": agent.code_sha256},
        "gate_report": None if agent is None else agent.gate_report,
    }


HeldAtNav = tuple[TokenHolding, StrategyToken, Decimal]


def holdings_at_nav(session: Session, wallet: AIWallet) -> tuple[list[HeldAtNav], Decimal]:
    """The wallet's non-zero holdings by symbol, each with its value at the token's current NAV
    (USD, exact: units x NAV), and the total with the wallet's cash: the one valuation behind /wallet
    in chat and ``GET /api/wallet/{id}/status``."""
    rows = session.execute(
        select(TokenHolding, StrategyToken).join(StrategyToken, TokenHolding.token_id == StrategyToken.id)
        .where(TokenHolding.wallet_id == wallet.id, TokenHolding.quantity > 0)
        .order_by(StrategyToken.symbol)).all()
    held = [(holding, token, mul(holding.quantity, token.nav_per_token)) for holding, token in rows]
    return held, wallet.cash + sum((value for _, _, value in held), Decimal(0))


def wallet_status(session: Session, wallet: AIWallet) -> dict[str, Any]:
    """Cash (whole and reserved), holdings at NAV and the total (what /wallet shows)."""
    rows, total = holdings_at_nav(session, wallet)
    holdings = []
    for holding, token, value in rows:
        holdings.append({"symbol": token.symbol, "quantity": dec(holding.quantity),
                         "reserved": dec(holding.reserved), "nav_per_token": dec(token.nav_per_token),
                         "value": usd(value), "avg_cost_basis": dec(holding.avg_cost_basis)})
    return {
        "id": wallet.id, "name": wallet.name, "organisation_id": wallet.organisation_id,
        "mode": wallet.mode.value, "tier": wallet.tier.value, "cash": usd(wallet.cash),
        "cash_reserved": usd(wallet.cash_reserved), "holdings": holdings, "total_value": usd(total),
        "last_rebalanced_at": when(wallet.last_rebalanced_at),
    }


def proposal_view(p: RebalanceProposal) -> dict[str, Any]:
    return {"id": p.id, "wallet_id": p.wallet_id, "status": p.status, "trigger": p.trigger,
            "summary": p.summary, "trades": p.trades, "created_at": when(p.created_at),
            "expires_at": when(p.expires_at), "decided_at": when(p.decided_at), "result": p.result}


def proposals(session: Session, wallet_id: int, status: str | None = "pending") -> list[dict[str, Any]]:
    query = select(RebalanceProposal).where(RebalanceProposal.wallet_id == wallet_id)
    if status is not None:
        query = query.where(RebalanceProposal.status == status)
    return [proposal_view(p) for p in session.scalars(query.order_by(RebalanceProposal.id.desc()).limit(100))]


def candidate_view(c: StrategyCandidate, *, full: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": c.id, "state": c.state.value, "family": c.family, "primary_asset": c.primary_asset,
        "parser": c.parser, "token_symbol": c.token_symbol, "reject_reason": c.reject_reason,
        "variants": c.variants, "paper_mode": c.paper_mode, "updated_at": when(c.updated_at),
    }
    if full:
        view.update(spec=c.spec, backtest_metrics=c.backtest_metrics, paper_metrics=c.paper_metrics,
                    gate_report=c.gate_report, unsupported_features=c.unsupported_features)
    return view


def candidates(session: Session, state: str | None = None, limit: int = 100,
               exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Import candidates, newest first (optionally one state, or all but some states)."""
    query = select(StrategyCandidate)
    if state:
        query = query.where(StrategyCandidate.state == state)
    if exclude:
        query = query.where(StrategyCandidate.state.not_in(exclude))
    rows = session.scalars(query.order_by(StrategyCandidate.id.desc()).limit(limit))
    return [candidate_view(c) for c in rows]


def candidate(session: Session, candidate_id: int) -> dict[str, Any]:
    row = session.get(StrategyCandidate, candidate_id)
    if row is None:
        raise NotFound(f"No strategy candidate #{candidate_id}; GET /api/strategies/available lists them.")
    return candidate_view(row, full=True)


def pending_organisations(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Organisation).where(Organisation.status == OrgStatus.PENDING)
                           .order_by(Organisation.id))
    return [{"id": o.id, "name": o.name, "kind": o.kind.value, "status": o.status.value,
             "created_at": when(o.created_at), "members": len(o.members)} for o in rows]


def risk_view(session: Session) -> dict[str, Any]:
    """The circuit breaker's state and the redemption queue (FIFO)."""
    from core.models.wallets_ext import RedemptionRequest
    from core.risk.circuit import risk_state

    state = risk_state(session)
    queue = session.execute(
        select(RedemptionRequest, StrategyToken.symbol)
        .join(StrategyToken, StrategyToken.id == RedemptionRequest.token_id)
        .where(RedemptionRequest.status == "queued").order_by(RedemptionRequest.id).limit(500)).all()
    return {
        "halted": state.halted, "halted_at": when(state.halted_at), "halt_reason": state.halt_reason,
        "resumed_at": when(state.resumed_at), "trips": state.trips,
        "redemption_queue": [{"id": r.id, "wallet_id": r.wallet_id, "symbol": symbol,
                              "quantity": dec(r.quantity), "requested_at": when(r.requested_at),
                              "available_on": r.available_on.isoformat()} for r, symbol in queue],
    }


def audit_log(session: Session, *, action: str | None, actor: str | None, limit: int) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally filtered by action prefix and actor."""
    from core.models.ledger import AuditLog

    query = select(AuditLog)
    if action:
        query = query.where(AuditLog.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditLog.actor == actor)
    rows = session.scalars(query.order_by(AuditLog.id.desc()).limit(limit))
    return [{"id": a.id, "at": when(a.at), "actor": a.actor, "action": a.action, "subject": a.subject,
             "details": a.details} for a in rows]


def job_runs(session: Session, *, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Scheduler job runs, newest first (``partial`` and ``failed`` ones list their errors)."""
    from core.models.chat import JobRun

    query = select(JobRun)
    if status:
        query = query.where(JobRun.status == status)
    rows = session.scalars(query.order_by(JobRun.id.desc()).limit(limit))
    return [{"id": j.id, "job_id": j.job_id, "status": j.status, "scheduled_for": when(j.scheduled_for),
             "started_at": when(j.started_at), "finished_at": when(j.finished_at), "attempts": j.attempts,
             "detail": j.detail} for j in rows]
