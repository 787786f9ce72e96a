"""Placing, cancelling and expiring limit orders.

Lock order (the ledger's one order): the token row first — every change to a token's book holds it,
so the book cannot move under a placement — then every wallet the placement touches (its own and
the resting orders' it will fill) in ascending id, then the ledger accounts (at the writer's flush),
and the hash-chain head last, at commit. The book is read before the wallet locks; the token lock
keeps it still in between.

Units: price in USD per token (at most 6 decimals), quantity in token units (18), cash in USD.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from core.billing.plans import check_new_token
from core.compliance.agreement import require_current_agreement
from core.config import get_settings
from core.errors import (
    InsufficientCash,
    InsufficientTokens,
    InvalidAmount,
    NotFound,
    OrganisationNotVerified,
    PermissionDenied,
    TokenNotTradable,
    TradingHalted,
    ValidationError,
)
from core.exchange import accounts
from core.exchange.positions import Positions
from core.exchange.results import OrderClosed, OrderResult
from core.exchange.rules import (
    OutsidePriceBand,
    Resting,
    band_distance,
    cost_bound,
    fill_cash,
    plan_match,
)
from core.exchange.settlement import FillContext, OrderState, release_legs, settle_fill
from core.formatting import cash as fmt_cash
from core.formatting import nav as fmt_nav
from core.formatting import percent
from core.formatting import quantity as fmt_qty
from core.ledger.locks import lock_token, lock_wallet_and_org, lock_wallets
from core.ledger.postings import LedgerWriter, Leg
from core.models import AIWallet, OrgStatus, StrategyToken, TokenStatus
from core.models.exchange import ExchangeOrder, OrderSide, OrderStatus
from core.models.wallets_ext import PlatformRiskState
from core.money import CASH_QUANTUM, MIN_CASH_AMOUNT, TOKEN_QUANTUM, parse_amount

ORDERS = cast(Table, ExchangeOrder.__table__)
ZERO = Decimal(0)
MAX_DAYS = 90

_INSERT_ORDER = insert(ORDERS).returning(ORDERS.c.id)
_UPDATE_ORDER = (
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("b_id"))
    .values(
        remaining=bindparam("b_remaining"),
        cash_reserved=bindparam("b_reserved"),
        status=bindparam("b_status"),
        closed_at=bindparam("b_closed"),
        close_reason=bindparam("b_reason"),
    )
)
_BOOK_COLUMNS = (
    ORDERS.c.id,
    ORDERS.c.wallet_id,
    ORDERS.c.organisation_id,
    ORDERS.c.price,
    ORDERS.c.remaining,
    ORDERS.c.cash_reserved,
    ORDERS.c.fee_rate,
)


def parse_side(side: str | OrderSide) -> OrderSide:
    try:
        return OrderSide(str(side).lower())
    except ValueError:
        raise ValidationError("an order is an ask (sell) or a bid (buy)") from None


def parse_price(value: object) -> Decimal:
    return parse_amount(value, quantum=CASH_QUANTUM, field="price")


def parse_quantity(value: object) -> Decimal:
    return parse_amount(value, quantum=TOKEN_QUANTUM, field="quantity")


def _is_halted(session: Session) -> bool:
    state = session.get(PlatformRiskState, 1)
    return bool(state is not None and state.halted)


def check_tradable(session: Session, token: StrategyToken) -> None:
    """Orders only for active tokens while trading is not halted."""
    if token.status is not TokenStatus.ACTIVE:
        raise TokenNotTradable(
            f"{token.symbol} is {token.status.value}; only active tokens trade on the exchange"
        )
    if _is_halted(session):
        raise TradingHalted(
            "trading is halted (circuit breaker); the exchange takes no orders until it resumes"
        )


def check_band(token: StrategyToken, price: Decimal) -> None:
    band = get_settings().exchange_price_band
    nav = token.nav_per_token
    if nav <= 0 or band_distance(price, nav) > band:
        raise OutsidePriceBand(
            f"{fmt_nav(price)} is more than {percent(band, 0)} away from {token.symbol}'s NAV "
            f"{fmt_nav(nav)}; choose a price between {fmt_nav(nav * (1 - band))} and "
            f"{fmt_nav(nav * (1 + band))}"
        )


def _trading_wallet(session: Session, wallet_id: int) -> int:
    """The wallet's organisation id; refuses the house wallet and unknown wallets."""
    row = session.execute(
        select(AIWallet.organisation_id, AIWallet.is_house).where(AIWallet.id == wallet_id)
    ).first()
    if row is None:
        raise NotFound(f"wallet {wallet_id} does not exist")
    if row.is_house or row.organisation_id is None:
        raise ValidationError("the platform's house wallet does not trade on the exchange")
    return int(row.organisation_id)


def _crossing_book(
    session: Session, token_id: int, side: OrderSide, limit: Decimal, now: datetime
) -> tuple[list[Resting], dict[int, OrderState]]:
    """Unexpired open orders on the other side that cross ``limit``, best price then oldest first.

    Filtered and sorted in Python: SQLite stores amounts as exact decimal text, which SQL would
    compare as strings. A token's book is small; the index narrows it to its open orders.
    """
    other = OrderSide.ASK if side is OrderSide.BID else OrderSide.BID
    rows = (
        session.connection()
        .execute(
            select(*_BOOK_COLUMNS).where(
                ORDERS.c.token_id == token_id,
                ORDERS.c.status == OrderStatus.OPEN,
                ORDERS.c.side == other,
                ORDERS.c.expires_at > now,
            )
        )
        .all()
    )
    if side is OrderSide.BID:
        rows = sorted((r for r in rows if r.price <= limit), key=lambda r: (r.price, r.id))
    else:
        rows = sorted((r for r in rows if r.price >= limit), key=lambda r: (-r.price, r.id))
    book = [Resting(r.id, r.wallet_id, r.organisation_id, r.price, r.remaining) for r in rows]
    states = {
        r.id: OrderState(
            r.id, r.wallet_id, other, r.price, r.remaining, r.cash_reserved, r.fee_rate, maker=True
        )
        for r in rows
    }
    return book, states


def _lock_wallets(
    session: Session, wallet_ids: Iterable[int], positions: Positions
) -> dict[int, OrgStatus | None]:
    """Lock wallets in ascending id (after the token: the ledger's lock order) and track their cash."""
    ids = sorted(set(wallet_ids))
    lock_wallets(session, ids)
    statuses: dict[int, OrgStatus | None] = {}
    for wallet_id in ids:
        wallet, status = lock_wallet_and_org(session, wallet_id)  # held: returned from memory
        positions.add_wallet(wallet)
        statuses[wallet_id] = status
    return statuses


@dataclass(frozen=True, slots=True)
class NewOrder:
    wallet_id: int
    side: OrderSide
    symbol: str
    quantity: Decimal
    price: Decimal
    days: int | None = None
    idempotency_key: str | None = None
    user_id: int | None = None


def _check_request(order: NewOrder) -> int:
    settings = get_settings()
    days = settings.exchange_order_days if order.days is None else order.days
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"an order lasts 1 to {MAX_DAYS} days")
    # The configured minimum never goes below the platform's cent (a bid's cash value is money a
    # person asks to move, like a buy).
    minimum = max(settings.exchange_min_order_cash, MIN_CASH_AMOUNT)
    if fill_cash(order.quantity, order.price) < minimum:
        raise InvalidAmount(
            f"an order must be worth at least {fmt_cash(minimum)} "
            f"(quantity x price); this one is worth {fmt_cash(fill_cash(order.quantity, order.price))}"
        )
    return days


def _check_funds(positions: Positions, order: NewOrder, token: StrategyToken, fee_rate: Decimal) -> None:
    if order.side is OrderSide.BID:
        need = cost_bound(order.quantity, order.price, fee_rate)
        cash = positions.cash_of(order.wallet_id)
        if cash.free < need:
            held = (
                f" ({fmt_cash(cash.reserved)} more is reserved by your open bids)"
                if cash.reserved > 0
                else ""
            )
            raise InsufficientCash(
                f"a bid for {fmt_qty(order.quantity)} {token.symbol} at {fmt_nav(order.price)} needs "
                f"{fmt_cash(need)}; your wallet has {fmt_cash(cash.free)} free cash{held}"
            )
        return
    holding = positions.holding(order.wallet_id)
    if holding.free < order.quantity:
        held = (
            f" ({fmt_qty(holding.reserved)} more are reserved by your open asks)"
            if holding.reserved > 0
            else ""
        )
        raise InsufficientTokens(
            f"cannot offer {fmt_qty(order.quantity)} {token.symbol}: your wallet has "
            f"{fmt_qty(holding.free)} free{held}"
        )


def place_order_in(session: Session, now: datetime, order: NewOrder) -> OrderResult:
    """Place a limit order and match it at once against the book, inside the caller's transaction."""
    days = _check_request(order)
    token = lock_token(session, order.symbol)
    check_tradable(session, token)
    check_band(token, order.price)
    organisation_id = _trading_wallet(session, order.wallet_id)
    book, makers = _crossing_book(session, token.id, order.side, order.price, now)
    plan = plan_match(order.side, order.quantity, order.price, organisation_id, book)
    positions = Positions(session, token.id)
    involved = [order.wallet_id, *(f.maker.wallet_id for f in plan.fills)]
    statuses = _lock_wallets(session, involved, positions)
    if plan.fills:  # every fill moves units between two holdings: read them all in one statement
        positions.preload(involved)
    if statuses[order.wallet_id] is not OrgStatus.VERIFIED:
        raise OrganisationNotVerified("your organisation must be verified before it trades on the exchange")
    require_current_agreement(session, organisation_id)  # a new agreement version pauses trading
    if order.side is OrderSide.BID:  # the bidder's plan: distinct tokens held or bid for
        bidder = session.get(AIWallet, order.wallet_id)  # locked above: from the identity map
        assert bidder is not None
        check_new_token(session, bidder, token)
    fee_rate = get_settings().exchange_fee_rate
    _check_funds(positions, order, token, fee_rate)
    rest_reserve = (
        cost_bound(plan.remaining, order.price, fee_rate)
        if plan.rests and order.side is OrderSide.BID
        else ZERO
    )
    status = OrderStatus.OPEN if plan.rests else OrderStatus.FILLED
    reason = (
        None
        if plan.rests
        else ("filled" if plan.remaining == 0 else "filled; the rest was too small to trade")
    )
    expires = now + timedelta(days=days)
    order_id = (
        session.connection()
        .execute(
            _INSERT_ORDER,
            {
                "token_id": token.id,
                "wallet_id": order.wallet_id,
                "organisation_id": organisation_id,
                "side": order.side,
                "price": order.price,
                "quantity": order.quantity,
                "remaining": plan.remaining if plan.rests else ZERO,
                "cash_reserved": rest_reserve,
                "fee_rate": fee_rate,
                "status": status,
                "created_at": now,
                "expires_at": expires,
                "closed_at": None if plan.rests else now,
                "close_reason": reason,
                "idempotency_key": order.idempotency_key,
                "placed_by_user_id": order.user_id,
            },
        )
        .scalar_one()
    )
    taker = OrderState(
        order_id, order.wallet_id, order.side, order.price, order.quantity, ZERO, fee_rate, maker=False
    )
    writer = LedgerWriter(session, now)
    ctx = FillContext(session, now, writer, token, positions)
    fills = [settle_fill(ctx, taker, makers[f.maker.order_id], f) for f in plan.fills]
    if plan.rests:
        _reserve(ctx, taker, plan.remaining, rest_reserve)
    writer.flush()
    positions.write(now)
    _write_makers(session, now, [makers[f.maker.order_id] for f in plan.fills])
    return OrderResult(
        order_id,
        order.wallet_id,
        order.side.value,
        token.symbol,
        order.price,
        order.quantity,
        plan.remaining if plan.rests else ZERO,
        status.value,
        rest_reserve,
        expires.isoformat(),
        reason,
        fills,
    )


def _reserve(ctx: FillContext, order: OrderState, units: Decimal, cash: Decimal) -> None:
    s, now, token = ctx.session, ctx.now, ctx.token
    if order.side is OrderSide.BID:
        legs = [
            Leg(accounts.free_cash(s, order.wallet_id, now), -cash),
            Leg(accounts.reserved_cash(s, order.wallet_id, now), cash),
        ]
        ctx.positions.cash_of(order.wallet_id).reserved += cash
    else:
        legs = [
            Leg(accounts.free_units(s, order.wallet_id, token, now), -units),
            Leg(accounts.reserved_units(s, order.wallet_id, token, now), units),
        ]
        ctx.positions.holding(order.wallet_id).reserved += units
    ctx.writer.post(
        "exchange.reserve",
        legs,
        wallet_id=order.wallet_id,
        token_id=token.id,
        details={"order": order.order_id},
    )


def _write_makers(session: Session, now: datetime, makers: Sequence[OrderState]) -> None:
    if not makers:
        return
    session.connection().execute(
        _UPDATE_ORDER,
        [
            {
                "b_id": m.order_id,
                "b_remaining": m.remaining,
                "b_reserved": m.cash_reserved,
                "b_status": OrderStatus.FILLED if m.done else OrderStatus.OPEN,
                "b_closed": now if m.done else None,
                "b_reason": "filled" if m.done else None,
            }
            for m in {m.order_id: m for m in makers}.values()
        ],
    )


# --- closing: cancel, expire, wind-down ----------------------------------------------------------


def close_orders_in(
    session: Session,
    now: datetime,
    token: StrategyToken,
    orders: Sequence[ExchangeOrder],
    status: OrderStatus,
    reason: str,
    *,
    writer: LedgerWriter | None = None,
) -> list[OrderClosed]:
    """Close open orders of ``token`` (its row locked by the caller) and release what they lock.

    The orders' wallets are locked here unless the caller holds them already (a caller that locks
    more — a wind-down, the sweep — locks every wallet up front, in one ascending order). With a
    caller's ``writer`` the balances wait for the caller's single flush.
    """
    positions = Positions(session, token.id)
    _lock_wallets(session, [o.wallet_id for o in orders], positions)
    own_writer = writer is None
    writer = writer or LedgerWriter(session, now)
    ctx = FillContext(session, now, writer, token, positions)
    closed = []
    for order in orders:
        if order.status is not OrderStatus.OPEN:
            continue
        state = OrderState(
            order.id,
            order.wallet_id,
            order.side,
            order.price,
            order.remaining,
            order.cash_reserved,
            order.fee_rate,
            maker=True,
        )
        units, cash = (state.remaining, ZERO) if order.side is OrderSide.ASK else (ZERO, state.cash_reserved)
        legs = release_legs(ctx, state)
        writer.post(
            f"exchange.{status.value}",
            legs,
            wallet_id=order.wallet_id,
            token_id=token.id,
            details={"order": order.id, "reason": reason[:200]},
        )
        order.status, order.closed_at, order.close_reason = status, now, reason[:200]
        order.cash_reserved = ZERO
        closed.append(
            OrderClosed(
                order.id, order.wallet_id, token.symbol, order.side.value, status.value, cash, units, False
            )
        )
    if own_writer:
        writer.flush()
    positions.write(now)
    session.flush()
    return closed


def order_wallets(session: Session, token_ids: Iterable[int]) -> list[int]:
    """Wallets with open orders on ``token_ids``: a wind-down locks them with the holders, up front."""
    ids = list(token_ids)
    return sorted(
        set(
            session.scalars(
                select(ExchangeOrder.wallet_id).where(
                    ExchangeOrder.token_id.in_(ids), ExchangeOrder.status == OrderStatus.OPEN
                )
            )
        )
    )


def open_orders_of_token(session: Session, token_id: int) -> list[ExchangeOrder]:
    return list(
        session.scalars(
            select(ExchangeOrder)
            .where(ExchangeOrder.token_id == token_id, ExchangeOrder.status == OrderStatus.OPEN)
            .order_by(ExchangeOrder.id)
            .execution_options(populate_existing=True)
        )
    )


def cancel_order_in(
    session: Session, now: datetime, order_id: int, *, wallet_ids: set[int] | None
) -> OrderClosed:
    """Cancel one order. ``wallet_ids``: the wallets the caller may act for (None: the platform)."""
    found = session.get(ExchangeOrder, order_id)
    if found is None or (wallet_ids is not None and found.wallet_id not in wallet_ids):
        raise NotFound(f"you have no order #{order_id}; /orders lists yours")
    symbol = session.scalar(select(StrategyToken.symbol).where(StrategyToken.id == found.token_id))
    token = lock_token(session, symbol or "")
    order = session.scalars(
        select(ExchangeOrder).where(ExchangeOrder.id == order_id).execution_options(populate_existing=True)
    ).one()
    if order.status is not OrderStatus.OPEN:
        return OrderClosed(
            order.id, order.wallet_id, token.symbol, order.side.value, order.status.value, ZERO, ZERO, True
        )
    return close_orders_in(session, now, token, [order], OrderStatus.CANCELLED, "cancelled by its owner")[0]


def require_owner_wallets(session: Session, user_id: int) -> set[int]:
    from core.models import WalletOwner

    ids = set(session.scalars(select(WalletOwner.wallet_id).where(WalletOwner.user_id == user_id)))
    if not ids:
        raise PermissionDenied("only a wallet's owners can manage its orders")
    return ids
