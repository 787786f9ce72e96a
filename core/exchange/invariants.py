"""Exchange invariants, part of ``arena ledger check``: what open orders lock equals what the
reserved ledger accounts hold, and no token's book is crossed.

* per wallet: the reserved-cash account = the sum of its open bids' ``cash_reserved``;
* per wallet and token: the reserved-units account = the sum of its open asks' ``remaining``;
* closed orders lock nothing; an open order has something left;
* per token: the best open bid is below the best open ask (an order that would meet its own
  organisation's is refused, and every other crossing order trades at once).
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
    best_bid: dict[int, Decimal] = {}
    best_ask: dict[int, Decimal] = {}
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
            best_bid[order.token_id] = max(best_bid.get(order.token_id, order.price), order.price)
        else:
            units[wallet_tokens_reserved_code(order.wallet_id, order.token_id)] += order.remaining
            best_ask[order.token_id] = min(best_ask.get(order.token_id, order.price), order.price)
    reserved_accounts = session.scalars(
        select(LedgerAccount.code).where(
            LedgerAccount.kind.in_([AccountKind.WALLET_CASH_RESERVED, AccountKind.WALLET_TOKENS_RESERVED])
        )
    )
    for code in set(reserved_accounts) | set(cash) | set(units):
        locked = cash.get(code, units.get(code, ZERO))
        if balance(code) != locked:
            out.append(f"account {code} holds {balance(code)} but open orders lock {locked}")
    for token_id, bid in best_bid.items():
        ask = best_ask.get(token_id)
        if ask is not None and bid >= ask:
            out.append(f"token {token_id}: the book is crossed (best bid {bid} >= best ask {ask})")
    return out
