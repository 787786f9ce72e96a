"""The platform overview (AUM, fee income, insurance fund, wallets by mode, circuit breaker), its
daily AUM series, and the risk page (halts, kill-switch retirements, the redemption queue)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ledger import queries
from core.models import AIWallet, NavMark, StrategyToken, TokenStatus
from core.models.ledger import AuditLog
from core.models.wallets_ext import RedemptionRequest
from core.risk.circuit import risk_state

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Overview:
    """Platform totals in USD; ``wallets_by_mode`` counts organisation wallets (house excluded)."""

    aum: Decimal
    fee_income: Decimal
    insurance_fund: Decimal
    wallets_by_mode: dict[str, int]
    tokens_by_status: dict[str, int]
    halted: bool
    halt_reason: str | None
    halted_at: datetime | None
    breaker_trips: int


def overview(session: Session) -> Overview:
    modes = dict(session.execute(
        select(AIWallet.mode, func.count()).where(AIWallet.is_house.is_(False)).group_by(AIWallet.mode)
    ).all())
    statuses = dict(session.execute(
        select(StrategyToken.status, func.count()).group_by(StrategyToken.status)
    ).all())
    state = risk_state(session)
    return Overview(
        aum=queries.platform_aum(session),
        fee_income=queries.fee_income_balance(session),
        insurance_fund=queries.insurance_fund_balance(session),
        wallets_by_mode={m.value: int(n) for m, n in modes.items()},
        tokens_by_status={s.value: int(n) for s, n in statuses.items()},
        halted=state.halted,
        halt_reason=state.halt_reason,
        halted_at=state.halted_at,
        breaker_trips=state.trips,
    )


def platform_aum_series(session: Session) -> list[tuple[date, Decimal]]:
    """Sum of every token's AUM after its daily mark, per day (USD). A token not marked on a day
    counts with its last mark before it, so a token that skips a day does not dent the line."""
    rows = session.execute(
        select(NavMark.as_of, NavMark.token_id, NavMark.aum_after).order_by(NavMark.as_of, NavMark.token_id)
    ).all()
    by_day: dict[date, dict[int, Decimal]] = defaultdict(dict)
    for day, token_id, aum in rows:
        by_day[day][token_id] = aum
    latest: dict[int, Decimal] = {}
    series = []
    for day in sorted(by_day):
        latest.update(by_day[day])
        series.append((day, sum(latest.values(), ZERO)))
    return series


@dataclass(frozen=True, slots=True)
class QueuedRedemption:
    id: int
    wallet_id: int
    symbol: str
    quantity: Decimal
    requested_at: datetime
    available_on: date


@dataclass(frozen=True, slots=True)
class RiskEvent:
    at: datetime
    action: str
    actor: str
    subject: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class RiskPage:
    overview: Overview
    events: list[RiskEvent]
    queue: list[QueuedRedemption]
    retired: list[tuple[str, datetime | None, str]]


RISK_ACTIONS = ("risk.circuit_breaker.trip", "risk.circuit_breaker.manual", "risk.circuit_breaker.resume",
                "token.retire")


def risk_page(session: Session, limit: int = 50) -> RiskPage:
    events = [
        RiskEvent(a.at, a.action, a.actor, a.subject, str((a.details or {}).get("reason", "")))
        for a in session.scalars(
            select(AuditLog).where(AuditLog.action.in_(RISK_ACTIONS)).order_by(AuditLog.id.desc()).limit(limit)
        )
    ]
    queue = [
        QueuedRedemption(r.id, r.wallet_id, symbol, r.quantity, r.requested_at, r.available_on)
        for r, symbol in session.execute(
            select(RedemptionRequest, StrategyToken.symbol)
            .join(StrategyToken, StrategyToken.id == RedemptionRequest.token_id)
            .where(RedemptionRequest.status == "queued").order_by(RedemptionRequest.id)
        )
    ]
    retired = [
        (t.symbol, t.retired_at, t.retire_reason or "")
        for t in session.scalars(select(StrategyToken).where(StrategyToken.status == TokenStatus.RETIRED)
                                 .order_by(StrategyToken.retired_at.desc()))
    ]
    return RiskPage(overview(session), events, queue, retired)
