"""Tables of the AI-wallet and platform-risk area: hybrid proposals, rebalance executions, the
redemption queue and daily redemption usage, and the platform's circuit-breaker state.

Units: cash in USD (6 decimals), token quantities in token units (18 decimals), weights and drift as
decimal fractions (0.10 = 10 %). Times are aware UTC; ``day``/``available_on`` are UTC dates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class RebalanceProposal(Base):
    """A hybrid wallet's proposed rebalance, waiting for an owner's Approve or Reject.

    ``status``: pending -> executed | rejected | expired | superseded | failed. ``trades`` is the plan
    (list of {symbol, side, cash, quantity, reason}); it is re-planned at approval against current
    prices, and the executed trades are stored in ``result``.
    """

    __tablename__ = "rebalance_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("allocation_snapshots.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    trigger: Mapped[str] = mapped_column(String(40))
    trades: Mapped[list[Any]]
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result: Mapped[dict[str, Any] | None]


class RebalanceExecution(Base):
    """One executed rebalance: the trades actually done and what they cost."""

    __tablename__ = "rebalance_executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("allocation_snapshots.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("rebalance_proposals.id"))
    executed_at: Mapped[datetime] = mapped_column(index=True)
    trigger: Mapped[str] = mapped_column(String(40))
    drift_before: Mapped[Decimal]
    value_before: Mapped[Decimal]
    trading_costs: Mapped[Decimal]
    trades: Mapped[list[Any]]


class RedemptionRequest(Base):
    """A redemption over the daily limit, queued first-in-first-out for a later day.

    ``status``: queued -> done | cancelled (the holder no longer has the tokens).
    """

    __tablename__ = "redemption_requests"

    id: Mapped[int] = mapped_column(primary_key=True)  # FIFO order
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    quantity: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    requested_at: Mapped[datetime]
    available_on: Mapped[date] = mapped_column(Date)
    executed_at: Mapped[datetime | None]
    cash_out: Mapped[Decimal | None]
    note: Mapped[str | None] = mapped_column(String(500))


class RedemptionUsage(Base):
    """Cash redeemed from one token on one UTC day against its limit (``limit_cash``).

    The limit is fixed at the day's first redemption (10 % of the AUM then), so it does not shrink
    as the day's redemptions reduce the AUM.
    """

    __tablename__ = "redemption_usage"
    __table_args__ = (UniqueConstraint("token_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"))
    day: Mapped[date] = mapped_column(Date)
    limit_cash: Mapped[Decimal]
    redeemed_cash: Mapped[Decimal] = mapped_column(default=Decimal(0))


class PlatformRiskState(Base):
    """The circuit breaker (a single row, id 1). While ``halted``, buys, redeems and rebalances
    are refused until a platform admin resumes."""

    __tablename__ = "platform_risk_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    halted: Mapped[bool] = mapped_column(default=False)
    halted_at: Mapped[datetime | None]
    halt_reason: Mapped[str | None] = mapped_column(String(500))
    resumed_at: Mapped[datetime | None]
    resumed_by: Mapped[str | None] = mapped_column(String(120))
    trips: Mapped[int] = mapped_column(default=0)
