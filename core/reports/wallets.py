"""Wallet pages: holdings with value, the last allocation target against the current weights,
drift (half the L1 distance, cash included — ``core.wallets.planning.drift``), and proposals with
their planned and executed trades. Weights are fractions of wallet value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.ledger import queries
from core.models import AIWallet, AllocationSnapshot, Organisation
from core.models.wallets_ext import RebalanceExecution, RebalanceProposal
from core.wallets.execution import positions_of, snapshot_target
from core.wallets.planning import current_weights, drift
from core.wallets.proposal_text import executed_text, trade_lines

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ProposalView:
    id: int
    status: str
    trigger: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    summary: str
    planned: list[str]
    executed: list[str]


@dataclass(slots=True)
class WalletView:
    summary: queries.WalletSummary
    current: dict[str, Decimal]
    target: dict[str, Decimal] | None
    target_cash: Decimal | None
    drift: Decimal | None
    organisation_name: str | None = None
    proposals: list[ProposalView] = field(default_factory=list)
    executions: list[tuple[datetime, str, Decimal, list[str]]] = field(default_factory=list)

    @property
    def cash_weight(self) -> Decimal:
        value = self.summary.value
        return self.summary.cash / value if value > 0 else ZERO


def _lines(lines: list[str]) -> list[str]:
    return [line.removeprefix("- ") for line in lines]


def executed_lines(trades: list[dict[str, Any]]) -> list[str]:
    """Each executed trade as the chat's approval reply words it (``bought 2.5 STRAT-X for $10.00``)."""
    if not any("side" in t for t in trades):
        return []
    return _lines(executed_text(0, trades, ZERO).splitlines()[1:-1])


def _proposal(p: RebalanceProposal) -> ProposalView:
    executed = list((p.result or {}).get("trades") or [])
    return ProposalView(p.id, p.status, p.trigger, p.created_at, p.expires_at, p.decided_at, p.summary,
                        _lines(trade_lines(p.trades or [])), executed_lines(executed))


def wallet_view(session: Session, wallet: AIWallet, *, proposals: int = 20) -> WalletView:
    positions = positions_of(session, wallet.id)
    snapshot = session.scalar(select(AllocationSnapshot).where(AllocationSnapshot.wallet_id == wallet.id)
                              .order_by(AllocationSnapshot.id.desc()))
    target = target_cash = gap = None
    if snapshot is not None:
        target, target_cash = snapshot_target(snapshot)
        gap = drift(wallet.cash, positions, target, target_cash)
    org = session.get(Organisation, wallet.organisation_id) if wallet.organisation_id is not None else None
    view = WalletView(queries.wallet_summary(session, wallet), current_weights(wallet.cash, positions),
                      target, target_cash, gap, org.name if org is not None else None)
    view.proposals = [_proposal(p) for p in session.scalars(
        select(RebalanceProposal).where(RebalanceProposal.wallet_id == wallet.id)
        .order_by(RebalanceProposal.id.desc()).limit(proposals))]
    view.executions = [
        (e.executed_at, e.trigger, e.trading_costs, executed_lines(list(e.trades or [])))
        for e in session.scalars(select(RebalanceExecution).where(RebalanceExecution.wallet_id == wallet.id)
                                 .order_by(RebalanceExecution.id.desc()).limit(10))
    ]
    return view


def organisation_wallet(session: Session, organisation_id: int) -> AIWallet:
    wallet = session.scalar(select(AIWallet).where(AIWallet.organisation_id == organisation_id,
                                                   AIWallet.is_house.is_(False)).order_by(AIWallet.id))
    if wallet is None:
        raise NotFound("Your organisation has no wallet yet; it opens when the organisation is verified.")
    return wallet


def all_wallets(session: Session) -> list[WalletView]:
    return [wallet_view(session, w, proposals=5) for w in session.scalars(
        select(AIWallet).where(AIWallet.is_house.is_(False)).order_by(AIWallet.id))]
