"""Keeping the book honest over time: expiry, and closing orders of tokens that stop trading.

:func:`sweep_in` (the scheduler's ``exchange_sweep`` job, every 15 minutes) expires orders past
their deadline and cancels every open order of a token that is no longer active (retired, winding
down) or of every token while trading is halted (circuit breaker); reservations are released and
owners told. Expired orders never fill even before the sweep runs (matching skips them).
:func:`cancel_token_orders_in` is what a wind-down calls before it redeems holders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.exchange.notices import tell_closed
from core.exchange.orders import _is_halted, close_orders_in, open_orders_of_token
from core.exchange.results import OrderClosed
from core.ledger.locks import lock_token
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
    also_lock: Iterable[int] = (),
) -> list[OrderClosed]:
    """Cancel every open order of ``token`` (locked by the caller), release, tell the owners."""
    orders = open_orders_of_token(session, token.id)
    if not orders and not also_lock:
        return []
    closed = close_orders_in(session, now, token, orders, OrderStatus.CANCELLED, reason, also_lock=also_lock)
    tell_closed(session, notifier, closed, reason)
    return closed


def sweep_in(session: Session, now: datetime, notifier: Notifier | None = None) -> SweepReport:
    report = SweepReport()
    token_ids = sorted(
        set(session.scalars(select(ExchangeOrder.token_id).where(ExchangeOrder.status == OrderStatus.OPEN)))
    )
    halted = _is_halted(session)
    for token_id in token_ids:
        symbol = session.scalar(select(StrategyToken.symbol).where(StrategyToken.id == token_id))
        token = lock_token(session, symbol or "")
        if token.status is not TokenStatus.ACTIVE or halted:
            reason = (
                f"{token.symbol} is {token.status.value}"
                if token.status is not TokenStatus.ACTIVE
                else "trading is halted (circuit breaker)"
            )
            closed = cancel_token_orders_in(session, now, token, reason, notifier=notifier)
            report.cancelled += len(closed)
        else:
            due = [o for o in open_orders_of_token(session, token.id) if o.expires_at <= now]
            if not due:
                continue
            closed = close_orders_in(session, now, token, due, OrderStatus.EXPIRED, "its expiry date passed")
            report.notified += tell_closed(session, notifier, closed, "its expiry date passed")
            report.expired += len(closed)
        report.tokens.append(token.symbol)
    return report
