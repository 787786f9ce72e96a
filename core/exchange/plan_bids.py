"""A plan downgrade and the wallet's open exchange bids.

Rule: a wallet's plan caps its distinct tokens (Free 3, Basic 10); a bid counts as a token the
wallet will hold once it fills. When a wallet moves to a plan with a lower cap, open bids for tokens
it does not hold are kept, oldest first, only while there is room under the new cap (tokens held
always count, and adding to a held token is always allowed); every other such bid is cancelled at
the downgrade through the exchange's own close path, which releases its reserved cash, and the
treasurer is told. So no fill after the downgrade can take the wallet past its plan.

Lock order (the ledger's one order): the tokens of the wallet's open bids (by id), then the wallet —
:func:`lock_for_plan_change` takes both before a plan changes. A bid placed on another token between
that read and the wallet lock is found under the lock and answered with
:class:`~core.ledger.locks.ConcurrentChange` (nothing written; try again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.plans import Plan
from core.exchange.orders import close_orders_in
from core.exchange.results import OrderClosed
from core.formatting import cash as fmt_cash
from core.formatting import counted
from core.ledger.locks import ConcurrentChange, held_tokens, lock_tokens, lock_wallet
from core.ledger.postings import LedgerWriter
from core.models import AIWallet, StrategyToken, TokenHolding
from core.models.exchange import ExchangeOrder, OrderSide, OrderStatus


def _open_bids(session: Session, wallet_id: int) -> list[ExchangeOrder]:
    return list(
        session.scalars(
            select(ExchangeOrder)
            .where(
                ExchangeOrder.wallet_id == wallet_id,
                ExchangeOrder.side == OrderSide.BID,
                ExchangeOrder.status == OrderStatus.OPEN,
            )
            .order_by(ExchangeOrder.id)
            .execution_options(populate_existing=True)
        )
    )


def lock_for_plan_change(session: Session, wallet_id: int) -> AIWallet:
    """Lock the tokens of the wallet's open bids, then the wallet (see the module's lock order)."""
    symbols = session.scalars(
        select(StrategyToken.symbol)
        .join(ExchangeOrder, ExchangeOrder.token_id == StrategyToken.id)
        .where(
            ExchangeOrder.wallet_id == wallet_id,
            ExchangeOrder.side == OrderSide.BID,
            ExchangeOrder.status == OrderStatus.OPEN,
        )
    ).all()
    lock_tokens(session, symbols)
    return lock_wallet(session, wallet_id)


def bids_over_plan(session: Session, wallet: AIWallet, plan: Plan) -> list[ExchangeOrder]:
    """Open bids of ``wallet`` that ``plan``'s token cap leaves no room for (see the module's rule)."""
    if wallet.is_house or plan.max_tokens is None:
        return []
    held = set(session.scalars(select(TokenHolding.token_id).where(
        TokenHolding.wallet_id == wallet.id, TokenHolding.quantity > 0)))
    room = max(plan.max_tokens - len(held), 0)
    kept: set[int] = set()
    over = []
    for bid in _open_bids(session, wallet.id):
        if bid.token_id in held or bid.token_id in kept:
            continue
        if len(kept) < room:
            kept.add(bid.token_id)
        else:
            over.append(bid)
    return over


def cancel_bids_over_plan_in(
    session: Session, now: datetime, wallet: AIWallet, plan: Plan, *, writer: LedgerWriter | None = None
) -> list[OrderClosed]:
    """Cancel the bids ``plan`` leaves no room for (their tokens locked by
    :func:`lock_for_plan_change`); returns what was closed. With a caller's ``writer`` the ledger
    balances wait for the caller's flush."""
    over = bids_over_plan(session, wallet, plan)
    if not over:
        return []
    by_token: dict[int, list[ExchangeOrder]] = {}
    for bid in over:
        by_token.setdefault(bid.token_id, []).append(bid)
    symbols = {int(r.id): str(r.symbol) for r in session.execute(
        select(StrategyToken.id, StrategyToken.symbol).where(StrategyToken.id.in_(by_token)))}
    tokens = held_tokens(session, symbols.values())
    if tokens is None:
        raise ConcurrentChange(
            f"wallet {wallet.id} placed an exchange bid while its plan was changing; nothing was "
            "changed, try again"
        )
    reason = f"the wallet moved to the {plan.name} plan, which holds at most {plan.max_tokens} tokens"
    closed: list[OrderClosed] = []
    for token_id in sorted(by_token):
        token = tokens[symbols[token_id]]
        closed += close_orders_in(
            session, now, token, by_token[token_id], OrderStatus.CANCELLED, reason, writer=writer
        )
    return closed


def cancelled_text(closed: Sequence[OrderClosed], plan: Plan) -> str:
    """One sentence for the treasurer: which bids the downgrade cancelled and the cash released."""
    if not closed:
        return ""
    released = sum((c.released_cash for c in closed), Decimal(0))
    listed = ", ".join(f"#{c.order_id} ({c.symbol})" for c in closed)
    return (
        f" {counted(len(closed), 'open exchange bid')} for tokens beyond the {plan.name} plan's "
        f"{plan.max_tokens} {'was' if len(closed) == 1 else 'were'} cancelled: {listed}; "
        f"{fmt_cash(released)} of reserved cash is free again."
    )


__all__ = ["bids_over_plan", "cancel_bids_over_plan_in", "cancelled_text", "lock_for_plan_change"]
