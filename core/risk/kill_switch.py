"""Kill switch: a token whose NAV falls more than 20 % below its peak NAV is retired and wound
down (holders redeemed at NAV, allocations removed, holders told).

Drawdown = 1 - NAV / peak NAV, with ``peak_nav`` maintained by every NAV mark (USD per token).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.exchange import order_wallets
from core.ledger.fees import nav_of
from core.ledger.locks import lock_tokens, lock_wallets
from core.ledger.postings import LedgerWriter
from core.models import StrategyToken, TokenHolding, TokenStatus
from core.money import div
from core.notify import Notifier
from core.tokens.lifecycle import WindDown, retire_in

ZERO = Decimal(0)


def drawdown(token: StrategyToken) -> Decimal:
    if token.peak_nav <= 0:
        return ZERO
    return max(ZERO, 1 - div(nav_of(token), token.peak_nav))


def check_kill_switch(session: Session, now: datetime, *, notifier: Notifier | None = None,
                      threshold: Decimal | None = None) -> list[WindDown]:
    """Retire and wind down every active token past the drawdown threshold.

    Lock order: every firing token (by id), then every holder of any of them (by id), then one
    flush of the accounts; the drawdown is re-checked under the token locks.
    """
    limit = threshold if threshold is not None else get_settings().kill_switch_drawdown
    active = session.scalars(
        select(StrategyToken).where(StrategyToken.status == TokenStatus.ACTIVE)
    ).all()
    firing = [t.symbol for t in active if drawdown(t) > limit]
    if not firing:
        return []
    tokens = lock_tokens(session, firing)
    holders = session.scalars(select(TokenHolding.wallet_id).where(
        TokenHolding.token_id.in_([t.id for t in tokens.values()]), TokenHolding.quantity > 0)).all()
    token_ids = [t.id for t in tokens.values()]
    lock_wallets(session, [*holders, *order_wallets(session, token_ids)])  # exchange orders are cancelled
    writer = LedgerWriter(session, now)
    fired: list[WindDown] = []
    for token in sorted(tokens.values(), key=lambda t: t.id):
        dd = drawdown(token)  # re-validated: a NAV mark may have landed before our lock
        if token.status is not TokenStatus.ACTIVE or dd <= limit:
            continue
        reason = f"kill switch: NAV {dd:.1%} below its peak (limit {limit:.0%})"
        fired.append(retire_in(session, now, token.symbol, reason, notifier=notifier, writer=writer))
    writer.flush()
    return fired
