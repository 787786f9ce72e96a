"""Distributions and the import bounty (issue 14).

* :class:`DistributionPolicy` — a token's policy: ``accumulate`` (the default; a token without a row
  accumulates) or ``distribute``; ``include_gains`` lets a token whose strategy is not an income
  strategy pay its gains too; ``base_nav`` is the distribution high-water mark (USD per unit): only
  NAV above it is paid, so a loss is made good before anything is paid again.
* :class:`Distribution` — one payment per token and month (``period`` ``YYYY-MM``, unique): the
  amount per unit, the total paid (what left the pool), the dust left in the pool, and the ledger
  transaction. :class:`DistributionPayment` — what each holding wallet received.
* :class:`StrategySubmission` — who submitted a source document (chat, API or the crawled author):
  their organisation earns the bounty when the strategy is tokenized.
* :class:`BountyState` — per token with a submitter: its bounty high-water mark (NAV), the last NAV
  mark measured, the end of the bounty window and anything accrued but not yet funded.
  :class:`BountyAccrual` — one per measured NAV mark that earned something; :class:`BountyPayout` —
  one per organisation and month, the cash moved into its wallet.

Amounts are USD (``Money``: exact decimals), NAV in USD per unit, units in token units.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_column


class PayoutPolicy(enum.StrEnum):
    ACCUMULATE = "accumulate"
    DISTRIBUTE = "distribute"


class DistributionPolicy(Base):
    __tablename__ = "distribution_policies"

    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), primary_key=True)
    policy: Mapped[PayoutPolicy] = mapped_column(enum_column(PayoutPolicy, "payout_policy", 20))
    include_gains: Mapped[bool] = mapped_column(default=False)
    base_nav: Mapped[Decimal]  # only NAV above this is paid (USD per unit)
    updated_at: Mapped[datetime]


class Distribution(Base):
    __tablename__ = "distributions"
    __table_args__ = (UniqueConstraint("token_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    record_at: Mapped[datetime]  # holders at this moment are paid
    nav_before: Mapped[Decimal]
    base_nav: Mapped[Decimal]
    per_unit: Mapped[Decimal]  # USD paid per unit (rounded down to NAV_QUANTUM)
    circulating: Mapped[Decimal]
    amount: Mapped[Decimal]  # total paid to holders = what left the pool
    dust: Mapped[Decimal]  # per_unit x circulating - amount: stayed in the pool
    nav_after: Mapped[Decimal]
    holders: Mapped[int]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]


class DistributionPayment(Base):
    __tablename__ = "distribution_payments"
    __table_args__ = (UniqueConstraint("distribution_id", "wallet_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distributions.id"), index=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    units: Mapped[Decimal]
    amount: Mapped[Decimal]


class StrategySubmission(Base):
    __tablename__ = "strategy_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("raw_documents.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # chat | api | crawl
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author: Mapped[str | None] = mapped_column(String(200))  # the crawled source's author
    created_at: Mapped[datetime]


class BountyState(Base):
    __tablename__ = "bounty_states"

    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("strategy_submissions.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]  # starts_at + 365 days
    hwm_nav: Mapped[Decimal]
    last_mark_id: Mapped[int | None]
    unfunded: Mapped[Decimal]  # earned but not yet covered by fee revenue
    updated_at: Mapped[datetime]


class BountyAccrual(Base):
    __tablename__ = "bounty_accruals"
    __table_args__ = (UniqueConstraint("token_id", "nav_mark_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    nav_mark_id: Mapped[int] = mapped_column(ForeignKey("nav_marks.id"))
    hwm_before: Mapped[Decimal]
    nav: Mapped[Decimal]
    circulating: Mapped[Decimal]
    gain: Mapped[Decimal]  # (nav - hwm_before) x circulating: net gains to holders
    earned: Mapped[Decimal]  # 5 % of gain, rounded down to the cash quantum
    funded: Mapped[Decimal]  # moved from fee revenue to the organisation's bounty payable
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]


class BountyPayout(Base):
    __tablename__ = "bounty_payouts"
    __table_args__ = (UniqueConstraint("organisation_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    wallet_id: Mapped[int | None] = mapped_column(ForeignKey("ai_wallets.id"))
    amount: Mapped[Decimal]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]
