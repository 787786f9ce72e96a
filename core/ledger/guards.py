"""Pre-trade checks that other core packages plug into the ledger (circuit breaker, limits).

The ledger knows nothing about platform risk; the composition root of every entry point (the
``arena`` CLI, ``arena serve`` with its chat adapters and scheduler, the API) calls
:func:`core.risk.install`, which registers the circuit breaker and the redemption limit here —
never an import side effect. Safety by construction: until some composition root has configured the
checks, a trade is refused with :class:`ChecksNotInstalled` instead of silently running unchecked.
A process that means to trade without platform risk (a pure-ledger test, a benchmark of the posting
engine alone) says so with :func:`configure_without_checks`.

A check raises an :class:`core.errors.ArenaError` to refuse the trade (nothing is written: the unit
of work rolls back). Checks run inside the trade's transaction, after the token and wallet row locks.
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
_STATE = {"configured": False}


class ChecksNotInstalled(RuntimeError):
    """A trade ran in a process whose composition root never installed the pre-trade checks."""


def register_check(name: str, check: PreTradeCheck) -> None:
    """Register (or replace) a named check; idempotent, so a root may install twice."""
    _CHECKS[name] = check
    _STATE["configured"] = True


def unregister_check(name: str) -> None:
    _CHECKS.pop(name, None)


def configure_without_checks() -> None:
    """Declare that this process trades without any pre-trade check (tests of the bare ledger)."""
    _CHECKS.clear()
    _STATE["configured"] = True


def reset() -> None:
    """Back to the state of a fresh process: no checks, not configured (tests of the roots)."""
    _CHECKS.clear()
    _STATE["configured"] = False


def installed() -> list[str]:
    return sorted(_CHECKS)


def run_checks(session: Session, intent: TradeIntent) -> None:
    if not _STATE["configured"]:
        raise ChecksNotInstalled(
            "pre-trade checks were never installed: the entry point's composition root must call "
            "core.risk.install() before trading (or configure_without_checks() in a bare-ledger test)"
        )
    for check in list(_CHECKS.values()):
        check(session, intent)
