"""Keeping the book honest over time: expiry, and closing orders of tokens that stop trading.

:func:`sweep_in` (the scheduler's ``exchange_sweep`` job, every 15 minutes) expires orders past
their deadline and cancels every open order of a token that is no longer active (retired, winding
down) or of every token while trading is halted (circuit breaker); reservations are released and
owners told. Expired orders never fill even before the sweep runs (matching skips them).
:func:`cancel_token_orders_in` is what a wind-down calls before it redeems holders.

Lock order: every token with open orders (by id), then every wallet with an order to close (by id),
then one flush of the accounts — the ledger's one order (:mod:`core.ledger.locks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.exchange.notices import tell_closed
from core.exchange.orders import _is_halted, close_orders_in, open_orders_of_token
from core.exchange.results import OrderClosed
from core.ledger.locks import lock_tokens, lock_wallets
from core.ledger.postings import LedgerWriter
from core.models import StrategyToken, TokenStatus
from core.models.exchange import ExchangeOrder, OrderStatus
from core.notify import Notifier


@dataclass
class SweepReport:
    expired: int = 0
    cancelled: int = 0
    notified: int = 0
    tokens: list[str] = field(default_factory=list)


def cancel_token_orders_in(
    session: Session,
    now: datetime,
    token: StrategyToken,
    reason: str,
    *,
    notifier: Notifier | None = None,
    writer: LedgerWriter | None = None,
) -> list[OrderClosed]:
    """Cancel every open order of ``token`` (locked by the caller, with the orders' wallets when it
    locks more wallets), release the reservations and tell the owners."""
    orders = open_orders_of_token(session, token.id)
    if not orders:
        return []
    closed = close_orders_in(session, now, token, orders, OrderStatus.CANCELLED, reason, writer=writer)
    tell_closed(session, notifier, closed, reason)
    return closed


def sweep_in(session: Session, now: datetime, notifier: Notifier | None = None) -> SweepReport:
    report = SweepReport()
    symbols = session.scalars(
        select(StrategyToken.symbol)
        .join(ExchangeOrder, ExchangeOrder.token_id == StrategyToken.id)
        .where(ExchangeOrder.status == OrderStatus.OPEN)
    )
    tokens = sorted(lock_tokens(session, set(symbols)).values(), key=lambda t: t.id)
    halted = _is_halted(session)
    plan: list[tuple[StrategyToken, list[ExchangeOrder], OrderStatus, str]] = []
    for token in tokens:  # re-read under the token locks
        orders = open_orders_of_token(session, token.id)
        if token.status is not TokenStatus.ACTIVE or halted:
            reason = (
                f"{token.symbol} is {token.status.value}"
                if token.status is not TokenStatus.ACTIVE
                else "trading is halted (circuit breaker)"
            )
            plan.append((token, orders, OrderStatus.CANCELLED, reason))
        else:
            due = [o for o in orders if o.expires_at <= now]
            if due:
                plan.append((token, due, OrderStatus.EXPIRED, "its expiry date passed"))
    lock_wallets(session, [o.wallet_id for _, orders, _, _ in plan for o in orders])
    writer = LedgerWriter(session, now)
    for token, orders, status, reason in plan:
        closed = close_orders_in(session, now, token, orders, status, reason, writer=writer)
        report.notified += tell_closed(session, notifier, closed, reason)
        if status is OrderStatus.EXPIRED:
            report.expired += len(closed)
        else:
            report.cancelled += len(closed)
        report.tokens.append(token.symbol)
    writer.flush()
    return report
