"""Pre-trade checks that other core packages plug into the ledger (circuit breaker, limits).

The ledger knows nothing about platform risk; :mod:`core.risk` registers its checks here. A check
raises an :class:`core.errors.ArenaError` to refuse the trade (nothing is written: the unit of
work rolls back). Checks run inside the trade's transaction, after the token and wallet row locks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from core.models import AIWallet, StrategyToken


@dataclass(frozen=True)
class TradeIntent:
    side: str  # "buy" or "redeem"
    token: StrategyToken
    wallet: AIWallet
    cash: Decimal  # cash in (buy) or cash out (redeem) at current NAV
    tokens: Decimal
    system: bool  # True for platform-initiated trades (wind-down, queued redemptions)
    now: datetime  # the trade's time (the unit of work's clock)


PreTradeCheck = Callable[[Session, TradeIntent], None]
_CHECKS: dict[str, PreTradeCheck] = {}


def register_check(name: str, check: PreTradeCheck) -> None:
    """Register (or replace) a named check; idempotent so imports can run it more than once."""
    _CHECKS[name] = check


def unregister_check(name: str) -> None:
    _CHECKS.pop(name, None)


def run_checks(session: Session, intent: TradeIntent) -> None:
    for check in list(_CHECKS.values()):
        check(session, intent)
