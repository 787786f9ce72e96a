"""The REST API's internal exchange and proof of liabilities: the chat's services (/book, /ask,
/bid, /orders, /cancel, /proof), called with the same checks, returning JSON.

Like :mod:`core.commands.api_ops`, every function takes a :class:`~core.commands.context.Ctx` over a
read-only session and opens its own unit of work for changes. Orders are placed by the chat's own
:func:`~core.commands.handlers.exchange.place_and_tell` (the exchange's checks, matching and fill
notices) under :func:`core.ledger.run_idempotent` with the caller's namespaced ``Idempotency-Key``.
Another organisation's wallet or order answers exactly like a missing one. Money (cash, fees,
reservations, prices) is a decimal string with the cash quantum's 6 decimals; token quantities
and NAV carry their quantum's 18 (the same text on SQLite and PostgreSQL).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core import exchange
from core.audit.liabilities import NOT_PUBLISHED, proof_for, published_root
from core.commands.api_ops import scoped_key, wallet_for
from core.commands.api_views import when
from core.commands.context import Ctx
from core.commands.handlers.common import org_wallet, owned_wallet
from core.commands.handlers.exchange import place_and_tell
from core.errors import NotFound
from core.exchange.book import Level, OrderView
from core.exchange.orders import NewOrder
from core.exchange.results import OrderClosed, OrderResult
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import normalise_symbol
from core.models.exchange import OrderSide
from core.money import CASH_QUANTUM, NAV_QUANTUM, TOKEN_QUANTUM


def usd(value: Decimal) -> str:
    """Money as a decimal string with exactly the cash quantum's 6 decimals."""
    return format(value.quantize(CASH_QUANTUM), "f")


def units(value: Decimal) -> str:
    """Token units as a decimal string with the token quantum's 18 decimals."""
    return format(value.quantize(TOKEN_QUANTUM), "f")


def _level(level: Level) -> dict[str, Any]:
    return {"price": usd(level.price), "quantity": units(level.quantity), "orders": level.orders}


def book(ctx: Ctx, symbol: str) -> dict[str, Any]:
    """A token's order book (what /book shows): price levels, last trades, NAV and supply."""
    b = exchange.order_book(ctx.session, symbol, ctx.now())
    return {
        "symbol": b.symbol,
        "status": b.status,
        "nav_per_token": format(b.nav.quantize(NAV_QUANTUM), "f"),
        "total_supply": units(b.total_supply),
        "unissued": units(b.total_supply - b.circulating),
        "asks": [_level(level) for level in b.asks],
        "bids": [_level(level) for level in b.bids],
        "trades": [
            {"at": when(t.at), "price": usd(t.price), "quantity": units(t.quantity)} for t in b.trades
        ],
    }


def order_out(result: OrderResult) -> dict[str, Any]:
    """A placed order and its fills, money with 6 decimals."""
    fills = [
        {
            "fill_id": f.fill_id,
            "price": usd(f.price),
            "quantity": units(f.quantity),
            "cash": usd(f.cash),
            "fee": usd(f.fee),
            "maker_order_id": f.maker_order_id,
        }
        for f in result.fills
    ]
    return {
        "order_id": result.order_id,
        "wallet_id": result.wallet_id,
        "side": result.side,
        "symbol": result.symbol,
        "price": usd(result.price),
        "quantity": units(result.quantity),
        "filled": units(result.filled),
        "remaining": units(result.remaining),
        "status": result.status,
        "cash_reserved": usd(result.cash_reserved),
        "expires_at": result.expires_at,
        "fills": fills,
    }


def place(
    ctx: Ctx, side: OrderSide, symbol: str, wallet_id: int, qty: str, price: str, days: int | None, key: str
) -> dict[str, Any]:
    """Place an ask or bid for the caller's wallet (its owners), once per key."""
    quantity, limit = exchange.parse_quantity(qty), exchange.parse_price(price)
    clean = normalise_symbol(symbol)
    wallet = wallet_for(ctx, wallet_id, owner=True)
    days = ctx.settings.exchange_order_days if days is None else days
    scoped = scoped_key(ctx, key)
    user_id = ctx.user.id if ctx.user is not None else None
    order = NewOrder(wallet.id, side, clean, quantity, limit, days, scoped, user_id)
    request: dict[str, Any] = {
        "wallet": wallet.id,
        "side": side.value,
        "symbol": clean,
        "quantity": quantity,
        "price": limit,
        "days": days,
    }

    def effect(session: Session) -> dict[str, Any]:
        return place_and_tell(dataclasses.replace(ctx, session=session), session, order).to_dict()

    result = run_idempotent(
        ctx.db.uow(), scoped, "api.exchange.place", request, effect, OrderResult.from_dict
    )
    return order_out(result)


def _order_view(v: OrderView) -> dict[str, Any]:
    return {
        "order_id": v.order_id,
        "side": v.side,
        "symbol": v.symbol,
        "price": usd(v.price),
        "quantity": units(v.quantity),
        "remaining": units(v.remaining),
        "cash_reserved": usd(v.cash_reserved),
        "created_at": when(v.created_at),
        "expires_at": when(v.expires_at),
    }


def open_orders(ctx: Ctx, wallet_id: int) -> list[dict[str, Any]]:
    """The wallet's open orders, newest first (what /orders lists)."""
    wallet = wallet_for(ctx, wallet_id)
    return [_order_view(v) for v in exchange.list_orders(ctx.session, wallet_ids={wallet.id})]


def closed_out(closed: OrderClosed) -> dict[str, Any]:
    return {
        "order_id": closed.order_id,
        "symbol": closed.symbol,
        "side": closed.side,
        "status": closed.status,
        "already_closed": closed.already_closed,
        "released_cash": usd(closed.released_cash),
        "released_units": units(closed.released_units),
    }


def cancel(ctx: Ctx, order_id: int, key: str) -> dict[str, Any]:
    """Cancel an open order of the caller's wallet (its owners) and release its reservation; an
    order of another wallet answers like a missing one."""
    try:
        wallet = owned_wallet(ctx)
    except NotFound:
        raise _no_order(order_id) from None
    try:
        closed = exchange.cancel_order(
            ctx.db.uow(), order_id, wallet_ids={wallet.id}, idempotency_key=scoped_key(ctx, key)
        )
    except NotFound:
        raise _no_order(order_id) from None
    return closed_out(closed)


def _no_order(order_id: int) -> NotFound:
    return NotFound(f"No open order #{order_id} of yours; GET /api/wallet/{{id}}/orders lists them.")


def latest_root(ctx: Ctx) -> dict[str, Any]:
    """The latest published proof-of-liabilities root (public)."""
    root = published_root(ctx.session)
    if root is None:
        raise NotFound(NOT_PUBLISHED)
    return root.to_dict()


def wallet_proof(ctx: Ctx, wallet_id: int) -> dict[str, Any]:
    """The wallet's inclusion proof in the latest publication (members of its organisation, as
    /proof; it carries the wallet's secret salt, so not even platform admins read another's)."""
    try:
        wallet = org_wallet(ctx)
    except NotFound:
        raise NotFound(f"No wallet #{wallet_id} of yours.") from None
    if wallet.id != wallet_id:
        raise NotFound(f"No wallet #{wallet_id} of yours.")
    return proof_for(ctx.session, wallet.id)
