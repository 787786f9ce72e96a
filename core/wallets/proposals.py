"""Hybrid mode: proposals that a wallet owner approves or rejects.

A proposal stores the decision (its snapshot) and the planned trades with reasons; it expires after
``proposal_ttl_hours``. Approval is idempotent (the same button press returns the stored reply; a
second approval of an executed proposal reports it, trades nothing) and atomic (all trades in one
unit of work, re-planned against current prices to the proposal's target weights). Only the
wallet's owners may decide; an expired, rejected or superseded proposal cannot be approved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.commands.types import Button
from core.db import UnitOfWork
from core.errors import NotFound, PermissionDenied
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import lock_wallet, lock_wallets
from core.models import AIWallet, AllocationSnapshot, AuditLog, WalletOwner
from core.models.wallets_ext import RebalanceProposal
from core.notify import Notifier
from core.optimizer import Decision
from core.wallets.config import DEFAULT_WALLET_CONFIG, WalletConfig
from core.wallets.execution import execute_in, lock_for_rebalance, plan_for, snapshot_target
from core.wallets.notices import tell_owners


@dataclass(frozen=True)
class ProposalOutcome:
    proposal_id: int
    status: str  # executed / rejected / expired / superseded / failed / pending
    message: str
    trades: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"proposal_id": self.proposal_id, "status": self.status, "message": self.message,
                "trades": self.trades}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> ProposalOutcome:
        trades = d.get("trades", 0)
        pid = d["proposal_id"]
        return cls(pid if isinstance(pid, int) else int(str(pid)), str(d["status"]),
                   str(d["message"]), trades if isinstance(trades, int) else 0)


def require_owner(session: Session, wallet_id: int, user_id: int) -> None:
    owner = session.scalar(select(WalletOwner.id).where(WalletOwner.wallet_id == wallet_id,
                                                        WalletOwner.user_id == user_id))
    if owner is None:
        raise PermissionDenied("only this wallet's owners can do that")


def supersede_pending(session: Session, now: datetime, wallet_id: int, why: str) -> int:
    pending = session.scalars(select(RebalanceProposal).where(
        RebalanceProposal.wallet_id == wallet_id, RebalanceProposal.status == "pending")).all()
    for proposal in pending:
        proposal.status = "superseded"
        proposal.decided_at = now
        proposal.result = {"reason": why}
    return len(pending)


def create_proposal_in(session: Session, now: datetime, wallet: AIWallet,
                       snapshot: AllocationSnapshot, decision: Decision, *, trigger: str,
                       config: WalletConfig = DEFAULT_WALLET_CONFIG,
                       notifier: Notifier | None = None) -> RebalanceProposal:
    supersede_pending(session, now, wallet.id, "a newer proposal replaced it")
    target = {s: w for s, w in decision.weights.items()}
    trades, notes = plan_for(session, now, wallet, target, config)
    proposal = RebalanceProposal(
        wallet_id=wallet.id, snapshot_id=snapshot.id, status="pending", trigger=trigger,
        trades=[t.as_dict() for t in trades] + [{"note": n} for n in notes],
        summary=decision.summary, created_at=now,
        expires_at=now + timedelta(hours=config.proposal_ttl_hours),
    )
    session.add(proposal)
    session.flush()
    lines = [f"Proposed rebalance #{proposal.id} for {wallet.name} ({trigger}):", decision.summary]
    lines += [f"- {t.side} {t.symbol}: {t.cash} USD — {t.reason}" for t in trades]
    lines.append(f"Expires {proposal.expires_at:%Y-%m-%d %H:%M} UTC.")
    tell_owners(session, notifier, wallet.id, "\n".join(lines), [[
        Button("Approve", f"proposal approve {proposal.id}"),
        Button("Reject", f"proposal reject {proposal.id}"),
    ]])
    return proposal


def _locked_proposal(session: Session, proposal_id: int, lock_rows: Callable[[int], object]
                     ) -> RebalanceProposal:
    """Read the proposal, take ``lock_rows(wallet_id)`` (tokens, then the wallet: the global order),
    then lock the proposal itself — a child of its wallet — and read it again (re-validation)."""
    wallet_id = session.scalar(select(RebalanceProposal.wallet_id).where(
        RebalanceProposal.id == proposal_id))
    if wallet_id is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    lock_rows(wallet_id)
    proposal = session.scalars(
        select(RebalanceProposal).where(RebalanceProposal.id == proposal_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).one()
    return proposal


def _closed(proposal: RebalanceProposal, now: datetime) -> ProposalOutcome | None:
    if proposal.status == "pending" and now >= proposal.expires_at:
        proposal.status = "expired"
        proposal.decided_at = now
    if proposal.status == "executed":
        return ProposalOutcome(proposal.id, "executed",
                               f"Proposal #{proposal.id} was already approved and executed.")
    if proposal.status != "pending":
        return ProposalOutcome(proposal.id, proposal.status,
                               f"Proposal #{proposal.id} is {proposal.status}; nothing was traded. "
                               "The next decision will make a new one.")
    return None


def approve_proposal(uow: UnitOfWork, proposal_id: int, *, user_id: int, idempotency_key: str,
                     config: WalletConfig = DEFAULT_WALLET_CONFIG) -> ProposalOutcome:
    """An owner approves: the trades run atomically now (or the reply says why not)."""

    def effect(session: Session) -> dict[str, object]:
        now = uow.clock.now()

        def lock_rows(wallet_id: int) -> None:
            snapshot_id = session.scalar(select(RebalanceProposal.snapshot_id).where(
                RebalanceProposal.id == proposal_id))
            snapshot = session.get(AllocationSnapshot, snapshot_id)
            assert snapshot is not None
            lock_for_rebalance(session, wallet_id, snapshot_target(snapshot)[0])

        proposal = _locked_proposal(session, proposal_id, lock_rows)
        require_owner(session, proposal.wallet_id, user_id)
        closed = _closed(proposal, now)
        if closed is not None:
            return closed.to_dict()
        snapshot = session.get(AllocationSnapshot, proposal.snapshot_id)
        assert snapshot is not None
        execution = execute_in(session, now, proposal.wallet_id, snapshot, config=config,
                               trigger=f"approved:{proposal.trigger}", proposal_id=proposal.id)
        proposal.status = "executed"
        proposal.decided_at = now
        proposal.decided_by_user_id = user_id
        proposal.result = {"execution_id": execution.id, "trades": execution.trades}
        session.add(AuditLog(at=now, actor=f"user:{user_id}", action="proposal.approve",
                             subject=f"proposal:{proposal.id}",
                             details={"wallet": proposal.wallet_id}))
        n = sum(1 for t in execution.trades if "side" in t)
        return ProposalOutcome(proposal.id, "executed",
                               f"Approved: {n} trade(s) executed for proposal #{proposal.id}.",
                               n).to_dict()

    return run_idempotent(uow, idempotency_key, "proposal.approve",
                          {"proposal": proposal_id, "user": user_id}, effect,
                          ProposalOutcome.from_dict)


def reject_proposal(uow: UnitOfWork, proposal_id: int, *, user_id: int,
                    idempotency_key: str) -> ProposalOutcome:
    def effect(session: Session) -> dict[str, object]:
        now = uow.clock.now()
        proposal = _locked_proposal(session, proposal_id, lambda w: lock_wallet(session, w))
        require_owner(session, proposal.wallet_id, user_id)
        closed = _closed(proposal, now)
        if closed is not None:
            return closed.to_dict()
        proposal.status = "rejected"
        proposal.decided_at = now
        proposal.decided_by_user_id = user_id
        session.add(AuditLog(at=now, actor=f"user:{user_id}", action="proposal.reject",
                             subject=f"proposal:{proposal.id}",
                             details={"wallet": proposal.wallet_id}))
        return ProposalOutcome(proposal.id, "rejected",
                               f"Rejected proposal #{proposal.id}; nothing was traded.").to_dict()

    return run_idempotent(uow, idempotency_key, "proposal.reject",
                          {"proposal": proposal_id, "user": user_id}, effect,
                          ProposalOutcome.from_dict)


def expire_proposals_in(session: Session, now: datetime) -> int:
    """Mark every pending proposal past its expiry as expired; returns how many. Proposals are
    children of their wallet: the wallets are locked first (by id), then the proposals re-read."""
    stale_wallets = session.scalars(select(RebalanceProposal.wallet_id).where(
        RebalanceProposal.status == "pending", RebalanceProposal.expires_at <= now)).all()
    if not stale_wallets:
        return 0
    lock_wallets(session, stale_wallets)
    stale = session.scalars(select(RebalanceProposal).where(
        RebalanceProposal.status == "pending", RebalanceProposal.expires_at <= now,
        RebalanceProposal.wallet_id.in_(set(stale_wallets)))
        .execution_options(populate_existing=True)).all()
    for proposal in stale:
        proposal.status = "expired"
        proposal.decided_at = now
    session.flush()
    return len(stale)
