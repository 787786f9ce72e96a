"""Plans and billing: each wallet's billing state and the plan charges posted to the ledger.

Units: amounts in USD (6 decimals, stored exactly); ``period`` is a calendar month ``YYYY-MM``
(UTC); ``days_charged`` / ``days_in_month`` record the proration of a mid-month change. Tiers are
stored as their string values (``free``, ``basic``, ``premium``; :class:`core.models.Tier`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class WalletBilling(Base):
    """A wallet's billing state (one row per wallet, created on its first plan event).

    ``next_tier`` / ``next_tier_on``: a downgrade the owner asked for, applied on that day (the first
    of the next month: the current month is paid). ``grace_*``: a month whose charge found too little
    free cash; after ``grace_started_at`` + 7 days unpaid the wallet moves to Free.
    """

    __tablename__ = "wallet_billing"

    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), primary_key=True)
    next_tier: Mapped[str | None] = mapped_column(String(20))
    next_tier_on: Mapped[date | None] = mapped_column(Date)
    grace_period: Mapped[str | None] = mapped_column(String(7))
    grace_started_at: Mapped[datetime | None]
    grace_reminded_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]


class PlanCharge(Base):
    """One plan charge: cash moved from the wallet to ``platform:plan_revenue`` in one transaction.

    A month is charged at most once per tier (``UniqueConstraint``): the charge that brings the
    month's paid cover up to ``tier``. ``kind``: ``monthly`` (in advance, on the 1st or when a grace
    period is settled) or ``upgrade`` (a mid-month change, prorated by days left including today).
    """

    __tablename__ = "plan_charges"
    __table_args__ = (UniqueConstraint("wallet_id", "period", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal]
    days_charged: Mapped[int]
    days_in_month: Mapped[int]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]
