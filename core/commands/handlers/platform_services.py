"""The one place where chat commands reach other teams' services (wallets, tokens, risk).

Each function takes the command context and returns reply text. Where a service has not landed in
this build, the function raises :class:`ServiceNotAvailable` with a clear message, so the command
answers politely and the gap is visible in one file.
"""

from __future__ import annotations

from core.commands.context import Ctx
from core.errors import ArenaError
from core.models.wallets import AIWallet


class ServiceNotAvailable(ArenaError):
    code = "not_available"


def _missing(what: str) -> ServiceNotAvailable:
    return ServiceNotAvailable(f"{what} is not available in this build yet.")


def retire_token(ctx: Ctx, symbol: str) -> str:
    raise _missing("Token retirement")


def halt_trading(ctx: Ctx, reason: str) -> str:
    raise _missing("The trading halt")


def resume_trading(ctx: Ctx) -> str:
    raise _missing("Resuming trading")


def set_mode(ctx: Ctx, wallet: AIWallet, mode: str, key: str) -> str:
    raise _missing("Switching the wallet mode")


def suggest(ctx: Ctx, wallet: AIWallet) -> str:
    raise _missing("Allocation suggestions")


def rebalance(ctx: Ctx, wallet_id: int, key: str) -> str:
    raise _missing("Rebalancing")


def decide_proposal(ctx: Ctx, proposal_id: int, approve: bool, key: str) -> str:
    raise _missing("Hybrid approvals")


def pending_proposals(ctx: Ctx, wallet: AIWallet) -> list[str]:
    """One line per proposal awaiting approval (empty until the wallet service lands)."""
    return []
