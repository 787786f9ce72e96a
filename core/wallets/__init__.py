"""AI wallets: modes (full_ai / hybrid / manual), rebalancing, proposals, suggestions.

Public API (each service takes a :class:`core.db.UnitOfWork`; ``*_in`` variants work inside the
caller's session): :func:`set_mode`, :func:`suggest_for_wallet`, :func:`run_rebalance_cycle`,
:func:`approve_proposal`, :func:`reject_proposal`, :func:`expire_proposals_in`,
:func:`execute_in`, :class:`WalletConfig`. Cash in USD, quantities in token units, weights as
decimal fractions.
"""

from core.wallets.config import DEFAULT_WALLET_CONFIG, WalletConfig
from core.wallets.execution import execute_in, positions_of, store_snapshot, wallet_drift
from core.wallets.planning import PlannedTrade, Position, drift, plan_trades
from core.wallets.proposals import (
    ProposalOutcome,
    approve_proposal,
    create_proposal_in,
    expire_proposals_in,
    pending_cards,
    propose_now,
    reject_proposal,
)
from core.wallets.service import (
    CycleReport,
    Suggestion,
    run_rebalance_cycle,
    set_mode,
    suggest_for_wallet,
)
from core.wallets.universe import DecisionCache, active_tokens, nav_table

__all__ = [
    "DEFAULT_WALLET_CONFIG",
    "CycleReport",
    "DecisionCache",
    "PlannedTrade",
    "Position",
    "ProposalOutcome",
    "Suggestion",
    "WalletConfig",
    "active_tokens",
    "approve_proposal",
    "create_proposal_in",
    "drift",
    "execute_in",
    "expire_proposals_in",
    "nav_table",
    "pending_cards",
    "plan_trades",
    "positions_of",
    "propose_now",
    "reject_proposal",
    "run_rebalance_cycle",
    "set_mode",
    "store_snapshot",
    "suggest_for_wallet",
    "wallet_drift",
]
