"""The internal exchange: limit orders between verified organisations' wallets, settled in the ledger.

Public API (``*_in`` variants run inside the caller's transaction; the others take a
:class:`core.db.UnitOfWork` and an idempotency key):

* :func:`place_order` / :func:`place_order_in` — an ask (sell) or bid (buy) of QTY at PRICE (USD
  per token), matched at once by price-time priority at the resting order's price; the rest rests
  until filled, cancelled or expired (default 7 days), its tokens or cash reserved in ledger accounts.
* :func:`cancel_order` / :func:`cancel_order_in`, :func:`sweep_in` (expiry, halted/retired tokens),
  :func:`cancel_token_orders_in` (wind-down).
* :func:`order_book`, :func:`list_orders` — the read side.

Rules and rounding: :mod:`core.exchange.rules`; lock order: :mod:`core.exchange.orders`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import TradingHalted
from core.exchange.book import Book, Level, OrderView, list_orders, order_book
from core.exchange.orders import (
    NewOrder,
    cancel_order_in,
    check_band,
    check_tradable,
    order_wallets,
    parse_price,
    parse_quantity,
    parse_side,
    place_order_in,
)
from core.exchange.results import FillResult, OrderClosed, OrderResult
from core.exchange.rules import OutsidePriceBand, SelfTrade
from core.exchange.service import SweepReport, cancel_token_orders_in, sweep_in
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import normalise_symbol


def place_order(
    uow: UnitOfWork,
    wallet_id: int,
    side: str,
    symbol: str,
    quantity: object,
    price: object,
    *,
    idempotency_key: str,
    days: int | None = None,
    user_id: int | None = None,
) -> OrderResult:
    """Place a limit order (idempotent per key); see :func:`place_order_in`."""
    order = NewOrder(
        wallet_id,
        parse_side(side),
        normalise_symbol(symbol),
        parse_quantity(quantity),
        parse_price(price),
        days,
        idempotency_key,
        user_id,
    )
    request = {
        "wallet": wallet_id,
        "side": order.side.value,
        "symbol": order.symbol,
        "quantity": order.quantity,
        "price": order.price,
        "days": days,
    }

    def effect(session: Session) -> dict[str, object]:
        return place_order_in(session, uow.clock.now(), order).to_dict()

    return run_idempotent(uow, idempotency_key, "exchange.place", request, effect, OrderResult.from_dict)


def cancel_order(
    uow: UnitOfWork, order_id: int, *, wallet_ids: set[int] | None, idempotency_key: str
) -> OrderClosed:
    """Cancel an open order and release its reservation (idempotent per key)."""

    def effect(session: Session) -> dict[str, object]:
        return cancel_order_in(session, uow.clock.now(), order_id, wallet_ids=wallet_ids).to_dict()

    request = {"order": order_id, "wallets": sorted(wallet_ids) if wallet_ids is not None else None}
    return run_idempotent(uow, idempotency_key, "exchange.cancel", request, effect, OrderClosed.from_dict)


__all__ = [
    "Book",
    "FillResult",
    "Level",
    "NewOrder",
    "OrderClosed",
    "OrderResult",
    "OrderView",
    "OutsidePriceBand",
    "SelfTrade",
    "SweepReport",
    "TradingHalted",
    "cancel_order",
    "cancel_order_in",
    "cancel_token_orders_in",
    "check_band",
    "check_tradable",
    "list_orders",
    "order_book",
    "order_wallets",
    "parse_price",
    "parse_quantity",
    "parse_side",
    "place_order",
    "place_order_in",
    "sweep_in",
]
