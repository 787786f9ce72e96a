"""The internal exchange (the exchange service): order book (public), asks and bids between
organisations' wallets, open orders, cancel. Thin: each route is one call of
:mod:`core.commands.api_exchange` (the chat's /book, /ask, /bid, /orders, /cancel services)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from bot.web.auth import Caller, Gate, caller_ctx, idempotency_key, optional_key
from bot.web.routes import PUBLIC, router
from bot.web.routes.tokens import Symbol
from bot.web.routes.wallet import WalletId
from bot.web.schemas_exchange import BookOut, CancelledOut, OpenOrderOut, OrderBody, PlacedOut
from core.commands import api_exchange
from core.models.exchange import OrderSide

api = router("exchange")
OrderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="An order id (GET /api/wallet/{id}/orders)")]
Key = Annotated[str, Depends(idempotency_key)]
MaybeKey = Annotated[str | None, Depends(optional_key)]


@api.get("/api/exchange/{symbol}/book", response_model=BookOut, **PUBLIC)
def book(
    request: Request, caller: Annotated[Caller, Depends(Gate("book", public=True))], symbol: Symbol
) -> Any:
    """A token's order book: price levels (price, quantity, orders), last trades, NAV (public)."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.book(ctx, symbol)


@api.post("/api/exchange/{symbol}/ask", response_model=PlacedOut)
def ask(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("ask"))],
    symbol: Symbol,
    body: OrderBody,
    key: Key,
) -> Any:
    """Offer `quantity` tokens at `price` USD each from your wallet (its owners): matching bids fill
    at once at their price; the rest waits on the book with its tokens reserved. The price must lie
    within the band around NAV. Requires Idempotency-Key."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.place(
            ctx, OrderSide.ASK, symbol, body.wallet_id, body.quantity, body.price, body.days, key
        )


@api.post("/api/exchange/{symbol}/bid", response_model=PlacedOut)
def bid(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("bid"))],
    symbol: Symbol,
    body: OrderBody,
    key: Key,
) -> Any:
    """Bid for `quantity` tokens at `price` USD each (its owners): matching asks fill at once at
    their price; the rest waits with its cash (and the fee) reserved. Requires Idempotency-Key."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.place(
            ctx, OrderSide.BID, symbol, body.wallet_id, body.quantity, body.price, body.days, key
        )


@api.get("/api/wallet/{id}/orders", response_model=list[OpenOrderOut])
def orders(request: Request, caller: Annotated[Caller, Depends(Gate("orders"))], id: WalletId) -> Any:
    """Your organisation wallet's open orders, newest first."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.open_orders(ctx, id)


@api.post("/api/exchange/orders/{order_id}/cancel", response_model=CancelledOut)
def cancel(
    request: Request, caller: Annotated[Caller, Depends(Gate("cancel"))], order_id: OrderId, key: MaybeKey
) -> Any:
    """Cancel an open order of your wallet (its owners) and release its reserved cash or tokens;
    cancelling a closed order changes nothing."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.cancel(ctx, order_id, key or f"cancel:{uuid.uuid4()}")
