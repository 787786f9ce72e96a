"""What the exchange tells wallet owners in chat: fills (both sides) and orders closed by the
platform (expiry, a halted or retired token). Every number goes through :mod:`core.formatting`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.exchange.results import FillResult, OrderClosed
from core.formatting import cash, nav, quantity
from core.notify import Notifier


def fill_text(fill: FillResult, *, seller: bool) -> str:
    if seller:
        return (
            f"Exchange fill: you sold {quantity(fill.quantity)} {fill.symbol} at {nav(fill.price)} "
            f"for {cash(fill.cash)} (ask #{fill.ask_order_id}). The cash is in your wallet."
        )
    fee = f" plus a {cash(fill.fee)} fee" if fill.fee > 0 else ""
    return (
        f"Exchange fill: you bought {quantity(fill.quantity)} {fill.symbol} at {nav(fill.price)} "
        f"for {cash(fill.cash)}{fee} (bid #{fill.bid_order_id}). The tokens are in your wallet."
    )


def closed_text(closed: OrderClosed, reason: str) -> str:
    released = (
        f"{cash(closed.released_cash)} released"
        if closed.side == "bid"
        else f"{quantity(closed.released_units)} {closed.symbol} released"
    )
    return (
        f"Your {closed.side} #{closed.order_id} on {closed.symbol} was {closed.status}: {reason}. {released}."
    )


def tell_fills(session: Session, notifier: Notifier | None, fills: list[FillResult]) -> int:
    """Push each fill to the owners of both wallets; returns how many messages were queued."""
    from core.wallets.notices import tell_owners  # core.wallets builds on the exchange, not vice versa

    sent = 0
    for fill in fills:
        sent += tell_owners(session, notifier, fill.seller_wallet_id, fill_text(fill, seller=True))
        sent += tell_owners(session, notifier, fill.buyer_wallet_id, fill_text(fill, seller=False))
    return sent


def tell_closed(session: Session, notifier: Notifier | None, closed: list[OrderClosed], reason: str) -> int:
    from core.wallets.notices import tell_owners

    return sum(tell_owners(session, notifier, c.wallet_id, closed_text(c, reason)) for c in closed)
