"""Internal exchange tables: limit orders between holders' wallets and the fills between them.

Units: ``price`` in USD per token (6 decimals), ``quantity``/``remaining`` in token units (18
decimals), ``cash_reserved``/``cash``/``fee`` in USD (6 decimals). An open ask has ``remaining``
units locked in its wallet's reserved-units account; an open bid has ``cash_reserved`` USD locked in
its wallet's reserved-cash account (both ledger accounts; ``arena ledger check`` sums them).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_column


class OrderSide(enum.StrEnum):
    ASK = "ask"  # sell tokens
    BID = "bid"  # buy tokens


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ExchangeOrder(Base):
    __tablename__ = "exchange_orders"
    __table_args__ = (Index("ix_exchange_orders_book", "token_id", "status", "side", "price", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    side: Mapped[OrderSide] = mapped_column(enum_column(OrderSide, "order_side", 8))
    price: Mapped[Decimal]
    quantity: Mapped[Decimal]
    remaining: Mapped[Decimal]
    cash_reserved: Mapped[Decimal] = mapped_column(default=Decimal(0))  # bids only
    fee_rate: Mapped[Decimal]  # the exchange fee rate when placed (a bid reserves its fee at it)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status", 12))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    placed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ExchangeFill(Base):
    """One trade: ``quantity`` units from the ask's wallet to the bid's at the resting order's
    price; the buyer paid ``cash`` plus ``fee``. ``seller_realized`` = cash - quantity x the seller's
    average cost basis before the fill."""

    __tablename__ = "exchange_fills"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    ask_order_id: Mapped[int] = mapped_column(ForeignKey("exchange_orders.id"), index=True)
    bid_order_id: Mapped[int] = mapped_column(ForeignKey("exchange_orders.id"), index=True)
    maker_side: Mapped[OrderSide] = mapped_column(enum_column(OrderSide, "fill_maker_side", 8))
    seller_wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"))
    buyer_wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"))
    price: Mapped[Decimal]
    quantity: Mapped[Decimal]
    cash: Mapped[Decimal]
    fee: Mapped[Decimal]
    seller_realized: Mapped[Decimal]
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime]
