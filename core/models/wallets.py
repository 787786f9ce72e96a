"""AI wallets, their owners and allocation decisions.

A wallet belongs to an organisation; its owners (users) may trade it, switch its mode and press its
approval buttons. ``cash`` (USD) is the wallet's whole cash: its free cash account plus its
reserved-cash account (locked by open exchange bids, ``cash_reserved``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_column


class WalletMode(enum.StrEnum):
    FULL_AI = "full_ai"
    HYBRID = "hybrid"
    MANUAL = "manual"


class Tier(enum.StrEnum):
    FREE = "free"
    BASIC = "basic"
    PREMIUM = "premium"


class AIWallet(Base):
    __tablename__ = "ai_wallets"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None only for the platform's house wallet (holds each token's seed units).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[WalletMode] = mapped_column(
        enum_column(WalletMode, "wallet_mode", 20)
    )
    tier: Mapped[Tier] = mapped_column(
        enum_column(Tier, "wallet_tier", 20)
    )
    risk_profile: Mapped[dict[str, Any] | None]
    cash: Mapped[Decimal] = mapped_column(default=Decimal(0))
    # Of ``cash``, the part locked by open exchange bids (mirrors the wallet's reserved-cash account).
    cash_reserved: Mapped[Decimal] = mapped_column(default=Decimal(0))
    is_house: Mapped[bool] = mapped_column(default=False)  # the platform's own seed wallet
    rebalance_interval_days: Mapped[int] = mapped_column(default=7)
    last_rebalanced_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    owners: Mapped[list[WalletOwner]] = relationship(back_populates="wallet")


class WalletOwner(Base):
    __tablename__ = "wallet_owners"
    __table_args__ = (UniqueConstraint("wallet_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    wallet: Mapped[AIWallet] = relationship(back_populates="owners")


class AllocationSnapshot(Base):
    """One allocation decision: its inputs, weights, the equal-weight alternative and reasons."""

    __tablename__ = "allocation_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    mode: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(40))  # weekly, drift, manual, suggestion, ...
    inputs: Mapped[dict[str, Any]]
    weights: Mapped[dict[str, Any]]  # symbol -> weight (decimal strings)
    cash_weight: Mapped[Decimal]
    expected_return: Mapped[Decimal | None]
    expected_volatility: Mapped[Decimal | None]
    expected_sharpe: Mapped[Decimal | None]
    equal_weight: Mapped[dict[str, Any]]
    reasons: Mapped[dict[str, Any]]
    drift_before: Mapped[Decimal | None]
    executed: Mapped[bool] = mapped_column(default=False)
