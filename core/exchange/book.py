"""Read side of the exchange: a token's book (depth by price level), its last trades, a wallet's
orders. Units: price in USD per token, quantities in token units, cash in USD."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import UnknownToken
from core.ledger.locks import normalise_symbol
from core.models import StrategyToken
from core.models.exchange import ExchangeFill, ExchangeOrder, OrderSide, OrderStatus

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    quantity: Decimal
    orders: int


@dataclass(frozen=True, slots=True)
class Trade:
    at: datetime
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Book:
    symbol: str
    status: str
    nav: Decimal
    circulating: Decimal
    total_supply: Decimal
    bids: list[Level]  # best (highest) first
    asks: list[Level]  # best (lowest) first
    trades: list[Trade]  # newest first


def _levels(orders: list[ExchangeOrder], side: OrderSide, depth: int) -> list[Level]:
    quantity: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    count: dict[Decimal, int] = defaultdict(int)
    for order in orders:
        if order.side is side:
            quantity[order.price] += order.remaining
            count[order.price] += 1
    prices = sorted(quantity, reverse=side is OrderSide.BID)[:depth]
    return [Level(p, quantity[p], count[p]) for p in prices]


def order_book(session: Session, symbol: str, now: datetime, *, depth: int = 5, trades: int = 5) -> Book:
    clean = normalise_symbol(symbol)
    token = session.scalar(select(StrategyToken).where(StrategyToken.symbol == clean))
    if token is None:
        raise UnknownToken.named(clean)
    open_orders = list(
        session.scalars(
            select(ExchangeOrder).where(
                ExchangeOrder.token_id == token.id,
                ExchangeOrder.status == OrderStatus.OPEN,
                ExchangeOrder.expires_at > now,
            )
        )
    )
    last = session.scalars(
        select(ExchangeFill)
        .where(ExchangeFill.token_id == token.id)
        .order_by(ExchangeFill.id.desc())
        .limit(trades)
    )
    return Book(
        token.symbol,
        token.status.value,
        token.nav_per_token,
        token.circulating_supply,
        token.total_supply,
        _levels(open_orders, OrderSide.BID, depth),
        _levels(open_orders, OrderSide.ASK, depth),
        [Trade(f.created_at, f.price, f.quantity) for f in last],
    )


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: int
    wallet_id: int
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    remaining: Decimal
    cash_reserved: Decimal
    status: str
    created_at: datetime
    expires_at: datetime
    close_reason: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "order_id": self.order_id,
            "wallet_id": self.wallet_id,
            "symbol": self.symbol,
            "side": self.side,
            "price": format(self.price, "f"),
            "quantity": format(self.quantity, "f"),
            "remaining": format(self.remaining, "f"),
            "cash_reserved": format(self.cash_reserved, "f"),
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "close_reason": self.close_reason,
        }


def list_orders(
    session: Session, *, wallet_ids: set[int] | None = None, open_only: bool = True, limit: int = 200
) -> list[OrderView]:
    """Orders, newest first: of ``wallet_ids`` (all wallets when None), open ones only by default."""
    query = select(ExchangeOrder, StrategyToken.symbol).join(
        StrategyToken, StrategyToken.id == ExchangeOrder.token_id
    )
    if wallet_ids is not None:
        query = query.where(ExchangeOrder.wallet_id.in_(sorted(wallet_ids)))
    if open_only:
        query = query.where(ExchangeOrder.status == OrderStatus.OPEN)
    rows = session.execute(query.order_by(ExchangeOrder.id.desc()).limit(limit)).all()
    return [
        OrderView(
            o.id,
            o.wallet_id,
            symbol,
            o.side.value,
            o.price,
            o.quantity,
            o.remaining,
            o.cash_reserved,
            o.status.value,
            o.created_at,
            o.expires_at,
            o.close_reason,
        )
        for o, symbol in rows
    ]
