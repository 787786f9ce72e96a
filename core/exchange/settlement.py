"""A fill as one ledger transaction: units seller -> buyer, cash buyer -> seller, the fee to the
platform (5 % of it to the insurance fund, like every fee). Circulating supply does not change.

A maker's side moves out of its reserved account (what its open order locked), a taker's out of
its free account (checked at placement). When the maker order is done its leftover reservation
(a bid's unspent cash, or an ask's dust units) is released in the same transaction. The buyer's
average cost basis includes the fee; the seller's realised result is cash minus units x its basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from core.config import get_settings
from core.exchange import accounts
from core.exchange.positions import Positions
from core.exchange.results import FillResult
from core.exchange.rules import PlannedFill, fill_fee
from core.ledger.postings import LedgerWriter, Leg, system_account
from core.models import FeeAccrual, FeeKind, StrategyToken
from core.models.exchange import ExchangeFill, OrderSide
from core.money import CASH_QUANTUM, NAV_QUANTUM, div, mul, round_down, round_up

FILLS = cast(Table, ExchangeFill.__table__)
_INSERT_FILL = insert(FILLS).returning(FILLS.c.id)
ZERO = Decimal(0)


@dataclass(slots=True)
class OrderState:
    """An order taking part in a placement; written back at the end."""

    order_id: int
    wallet_id: int
    side: OrderSide
    price: Decimal
    remaining: Decimal
    cash_reserved: Decimal
    fee_rate: Decimal
    maker: bool
    done: bool = False


@dataclass(frozen=True, slots=True)
class FillContext:
    session: Session
    now: datetime
    writer: LedgerWriter
    token: StrategyToken
    positions: Positions


def settle_fill(ctx: FillContext, taker: OrderState, maker: OrderState, fill: PlannedFill) -> FillResult:
    s, now, token = ctx.session, ctx.now, ctx.token
    seller, buyer = (maker, taker) if maker.side is OrderSide.ASK else (taker, maker)
    q, cash = fill.quantity, fill.cash
    fee = fill_fee(cash, buyer.fee_rate)
    legs = [
        Leg(
            (accounts.reserved_units if seller.maker else accounts.free_units)(
                s, seller.wallet_id, token, now
            ),
            -q,
        ),
        Leg(accounts.free_units(s, buyer.wallet_id, token, now), q),
        Leg(
            (accounts.reserved_cash if buyer.maker else accounts.free_cash)(s, buyer.wallet_id, now),
            -(cash + fee),
        ),
        Leg(accounts.free_cash(s, seller.wallet_id, now), cash),
    ]
    insurance = round_down(mul(fee, get_settings().insurance_fee_share), CASH_QUANTUM)
    if fee > 0:
        legs += [
            Leg(system_account(s, "platform:fees", now), fee - insurance),
            Leg(system_account(s, "platform:insurance", now), insurance),
        ]
    maker.remaining = fill.maker_remaining
    if maker is buyer:
        maker.cash_reserved -= cash + fee
    if fill.maker_done:
        legs += release_legs(ctx, maker)
    txn = ctx.writer.post(
        "exchange.fill",
        legs,
        wallet_id=buyer.wallet_id,
        token_id=token.id,
        details={
            "ask": seller.order_id,
            "bid": buyer.order_id,
            "price": format(fill.maker.price, "f"),
            "seller_wallet": seller.wallet_id,
        },
    )
    realized = _move_positions(ctx, seller, buyer, q, cash, fee)
    fill_id = (
        s.connection()
        .execute(
            _INSERT_FILL,
            {
                "token_id": token.id,
                "ask_order_id": seller.order_id,
                "bid_order_id": buyer.order_id,
                "maker_side": maker.side,
                "seller_wallet_id": seller.wallet_id,
                "buyer_wallet_id": buyer.wallet_id,
                "price": fill.maker.price,
                "quantity": q,
                "cash": cash,
                "fee": fee,
                "seller_realized": realized,
                "transaction_id": txn.id,
                "created_at": now,
            },
        )
        .scalar_one()
    )
    if fee > 0:
        s.add(
            FeeAccrual(
                token_id=token.id,
                kind=FeeKind.EXCHANGE,
                period_start=now,
                period_end=now,
                base_amount=cash,
                fee_amount=fee,
                insurance_amount=insurance,
                transaction_id=txn.id,
                created_at=now,
            )
        )
    return FillResult(
        fill_id,
        token.symbol,
        fill.maker.price,
        q,
        cash,
        fee,
        seller.order_id,
        buyer.order_id,
        maker.order_id,
        seller.wallet_id,
        buyer.wallet_id,
        txn.id,
    )


def release_legs(ctx: FillContext, order: OrderState) -> list[Leg]:
    """Legs releasing what a finished maker order still locks (and the in-memory bookkeeping)."""
    s, now = ctx.session, ctx.now
    order.done = True
    if order.side is OrderSide.BID:
        left, order.cash_reserved = order.cash_reserved, ZERO
        ctx.positions.cash_of(order.wallet_id).reserved -= left
        return [
            Leg(accounts.reserved_cash(s, order.wallet_id, now), -left),
            Leg(accounts.free_cash(s, order.wallet_id, now), left),
        ]
    left, order.remaining = order.remaining, ZERO
    holding = ctx.positions.holding(order.wallet_id)
    holding.reserved -= left
    return [
        Leg(accounts.reserved_units(s, order.wallet_id, ctx.token, now), -left),
        Leg(accounts.free_units(s, order.wallet_id, ctx.token, now), left),
    ]


def _move_positions(
    ctx: FillContext, seller: OrderState, buyer: OrderState, q: Decimal, cash: Decimal, fee: Decimal
) -> Decimal:
    """Holdings and cash of both sides after the fill; returns the seller's realised result."""
    sold = ctx.positions.holding(seller.wallet_id)
    realized = cash - mul(q, sold.avg_cost_basis)
    sold.realized_pnl += realized
    sold.quantity -= q
    if seller.maker:
        sold.reserved -= q
    if sold.quantity == 0:
        sold.avg_cost_basis = ZERO
    bought = ctx.positions.holding(buyer.wallet_id)
    cost = mul(bought.quantity, bought.avg_cost_basis) + cash + fee
    bought.quantity += q
    bought.avg_cost_basis = round_up(div(cost, bought.quantity), NAV_QUANTUM)
    seller_cash = ctx.positions.cash_of(seller.wallet_id)
    seller_cash.cash += cash
    buyer_cash = ctx.positions.cash_of(buyer.wallet_id)
    buyer_cash.cash -= cash + fee
    if buyer.maker:
        buyer_cash.reserved -= cash + fee
    return realized
