"""Treasury agents (compiled strategies), strategy tokens, holdings, NAV marks and fee accruals.

Units: ``total_supply``/``circulating_supply``/``quantity`` in token units (18 decimals);
``aum``, ``nav_per_token``, ``avg_cost_basis``, fees in USD. ``circulating_supply`` equals the sum
of holdings and never exceeds ``total_supply`` (a cap fixed at tokenization).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_column


class TokenStatus(enum.StrEnum):
    CANDIDATE = "candidate"
    PROVING = "proving"
    ACTIVE = "active"
    RETIRED = "retired"


class TreasuryAgent(Base):
    """A strategy compiled from a spec into auditable Backtrader code (source + hash stored)."""

    __tablename__ = "treasury_agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    family: Mapped[str] = mapped_column(String(40))
    spec_version: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict[str, Any]]
    spec_sha256: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(Text)
    code_sha256: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    backtest_metrics: Mapped[dict[str, Any] | None]
    paper_metrics: Mapped[dict[str, Any] | None]
    gate_report: Mapped[dict[str, Any] | None]  # the birth gate's named checks (backtest.gate)
    created_at: Mapped[datetime]


class StrategyToken(Base):
    __tablename__ = "strategy_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("treasury_agents.id"))
    status: Mapped[TokenStatus] = mapped_column(
        enum_column(TokenStatus, "token_status", 20)
    )
    total_supply: Mapped[Decimal]
    circulating_supply: Mapped[Decimal] = mapped_column(default=Decimal(0))
    aum: Mapped[Decimal] = mapped_column(default=Decimal(0))  # mirrors the token pool account
    nav_per_token: Mapped[Decimal]  # last computed NAV (USD per token)
    peak_nav: Mapped[Decimal]  # highest NAV marked: drawdown for the kill switch
    high_water_mark: Mapped[Decimal]  # NAV at which performance fees last crystallised
    benchmark_index: Mapped[Decimal] = mapped_column(default=Decimal(1))  # growth of the benchmark
    hwm_benchmark_index: Mapped[Decimal] = mapped_column(default=Decimal(1))
    benchmark_asset: Mapped[str | None] = mapped_column(String(40))
    fees_accrued_until: Mapped[datetime]
    last_mark_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    retire_reason: Mapped[str | None] = mapped_column(String(500))

    agent: Mapped[TreasuryAgent | None] = relationship()


class TokenHolding(Base):
    """A wallet's position in one token; ``quantity`` is its free plus its reserved units account."""

    __tablename__ = "token_holdings"
    __table_args__ = (UniqueConstraint("wallet_id", "token_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    avg_cost_basis: Mapped[Decimal] = mapped_column(default=Decimal(0))  # USD per token paid
    realized_pnl: Mapped[Decimal] = mapped_column(default=Decimal(0))
    # Of ``quantity``, the units locked by open exchange asks (the reserved-units ledger account).
    reserved: Mapped[Decimal] = mapped_column(default=Decimal(0))
    updated_at: Mapped[datetime]

    token: Mapped[StrategyToken] = relationship()


class NavMark(Base):
    """One daily NAV mark. Unique per (token, day): marking the same day twice is a no-op."""

    __tablename__ = "nav_marks"
    __table_args__ = (UniqueConstraint("token_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    daily_return: Mapped[Decimal]
    benchmark_return: Mapped[Decimal]
    aum_before: Mapped[Decimal]
    aum_after: Mapped[Decimal]
    nav_per_token: Mapped[Decimal]
    circulating_supply: Mapped[Decimal]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]


class FeeKind(enum.StrEnum):
    MANAGEMENT = "management"
    PERFORMANCE = "performance"
    EXCHANGE = "exchange"  # a fee on an internal-exchange fill (paid by the buyer)


class FeeAccrual(Base):
    __tablename__ = "fee_accruals"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    kind: Mapped[FeeKind] = mapped_column(
        enum_column(FeeKind, "fee_kind", 20)
    )
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    base_amount: Mapped[Decimal]  # AUM (management) or gain above benchmark (performance)
    fee_amount: Mapped[Decimal]  # total fee taken from the pool
    insurance_amount: Mapped[Decimal]  # of which to the insurance fund
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]
