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
from core.ledger.fees import nav_of
from core.models import StrategyToken, TokenStatus
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
    """Retire and wind down every active token past the drawdown threshold."""
    limit = threshold if threshold is not None else get_settings().kill_switch_drawdown
    fired: list[WindDown] = []
    active = session.scalars(
        select(StrategyToken).where(StrategyToken.status == TokenStatus.ACTIVE)
        .order_by(StrategyToken.id)
    ).all()
    for token in active:
        dd = drawdown(token)
        if dd > limit:
            reason = f"kill switch: NAV {dd:.1%} below its peak (limit {limit:.0%})"
            fired.append(retire_in(session, now, token.symbol, reason, notifier=notifier))
    return fired
