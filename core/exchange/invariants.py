"""Exchange invariants, part of ``arena ledger check``: what open orders lock equals what the
reserved ledger accounts hold, and no token's book is crossed.

* per wallet: the reserved-cash account = the sum of its open bids' ``cash_reserved``;
* per wallet and token: the reserved-units account = the sum of its open asks' ``remaining``;
* closed orders lock nothing; an open order has something left;
* per token: no open bid at or above an open ask that was live when the later of the two was
  placed (an order that would meet its own organisation's is refused, and every other crossing
  order trades at once; an expired order awaiting the sweep no longer counts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.postings import wallet_cash_reserved_code, wallet_tokens_reserved_code
from core.models import LedgerAccount
from core.models.exchange import ExchangeOrder, OrderSide, OrderStatus
from core.models.ledger import AccountKind

ZERO = Decimal(0)


def reservation_violations(session: Session, balance: Callable[[str], Decimal]) -> list[str]:
    out: list[str] = []
    cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
    units: dict[str, Decimal] = defaultdict(lambda: ZERO)
    books: dict[int, list[ExchangeOrder]] = defaultdict(list)
    for order in session.scalars(select(ExchangeOrder).order_by(ExchangeOrder.id)):
        if order.status is not OrderStatus.OPEN:
            if order.cash_reserved != 0:
                out.append(
                    f"order #{order.id} is {order.status.value} but still reserves {order.cash_reserved} USD"
                )
            continue
        if order.remaining <= 0 or order.remaining > order.quantity:
            out.append(f"open order #{order.id} has remaining {order.remaining} of {order.quantity}")
        if order.side is OrderSide.BID:
            cash[wallet_cash_reserved_code(order.wallet_id)] += order.cash_reserved
        else:
            units[wallet_tokens_reserved_code(order.wallet_id, order.token_id)] += order.remaining
        books[order.token_id].append(order)
    reserved_accounts = session.scalars(
        select(LedgerAccount.code).where(
            LedgerAccount.kind.in_([AccountKind.WALLET_CASH_RESERVED, AccountKind.WALLET_TOKENS_RESERVED])
        )
    )
    for code in set(reserved_accounts) | set(cash) | set(units):
        locked = cash.get(code, units.get(code, ZERO))
        if balance(code) != locked:
            out.append(f"account {code} holds {balance(code)} but open orders lock {locked}")
    for orders in books.values():
        out.extend(_crossed(orders))
    return out


def _crossed(orders: list[ExchangeOrder]) -> list[str]:
    bids = [o for o in orders if o.side is OrderSide.BID]
    asks = [o for o in orders if o.side is OrderSide.ASK]
    out = []
    for bid in bids:
        for ask in asks:
            earlier, later = (bid, ask) if bid.id < ask.id else (ask, bid)
            if bid.price >= ask.price and later.created_at < earlier.expires_at:
                out.append(f"book crossed: bid #{bid.id} at {bid.price} >= ask #{ask.id} at {ask.price}")
    return out
