"""Hybrid mode: proposals that a wallet owner approves or rejects.

A proposal stores the decision (its snapshot) and the planned trades with reasons; it expires after
``proposal_ttl_hours`` and its owners are told. It is posted to every owner with Approve / Reject
buttons (:mod:`core.wallets.proposal_text`); its id is the one id people see everywhere. Approval is
idempotent (the same press delivered twice returns the stored reply; any later press of a decided
proposal says it was already decided and trades nothing) and atomic (all trades in one unit of work,
re-planned against current prices to the proposal's target weights). Only the wallet's owners may
decide, and to anyone else a proposal reads exactly like a missing one (ids cannot be probed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.plans import check_ai
from core.clock import ensure_utc
from core.commands.types import Reply
from core.db import UnitOfWork
from core.errors import NotFound, PermissionDenied
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import lock_wallet, lock_wallets
from core.models import AIWallet, AllocationSnapshot, AuditLog, WalletOwner
from core.models.wallets_ext import RebalanceProposal
from core.notify import Notifier
from core.optimizer import Decision
from core.optimizer import Tier as OptTier
from core.wallets.config import DEFAULT_WALLET_CONFIG, WalletConfig
from core.wallets.execution import (
    execute_in,
    lock_for_rebalance,
    plan_for,
    snapshot_target,
    store_snapshot,
)
from core.wallets.notices import tell_owners
from core.wallets.proposal_text import executed_text, proposal_card
from core.wallets.universe import DecisionCache, profile_of


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


def not_found(proposal_id: int) -> NotFound:
    """The one answer for a proposal that does not exist *or* is not the caller's."""
    return NotFound(f"There is no proposal #{proposal_id} for a wallet you own; /proposals lists "
                    "yours.")


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
                       notifier: Notifier | None = None,
                       exclude_user_id: int | None = None) -> RebalanceProposal:
    """Store a pending proposal and post its card to the owners (but ``exclude_user_id``, who
    gets it as the reply to their own command)."""
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
    card = proposal_card(proposal, snapshot, wallet.name)
    tell_owners(session, notifier, wallet.id, card.text, card.buttons, exclude_user_id=exclude_user_id)
    return proposal


def propose_now(uow: UnitOfWork, wallet_id: int, *, user_id: int, trigger: str,
                notifier: Notifier | None = None,
                config: WalletConfig = DEFAULT_WALLET_CONFIG) -> Reply:
    """An owner of a hybrid wallet asks for a decision now: a proposal, returned as its card
    (the other owners get it pushed)."""
    with uow:
        session, now = uow.session, uow.clock.now()
        wallet = lock_wallet(session, wallet_id)
        require_owner(session, wallet.id, user_id)
        decision = DecisionCache(config.optimizer).decision(
            session, now, OptTier(wallet.tier.value), profile_of(wallet.risk_profile))
        snapshot = store_snapshot(session, now, wallet, decision, trigger=trigger, drift_before=None)
        proposal = create_proposal_in(session, now, wallet, snapshot, decision, trigger=trigger,
                                      config=config, notifier=notifier, exclude_user_id=user_id)
        card = proposal_card(proposal, snapshot, wallet.name)
        uow.commit()
    return card


def pending_cards(session: Session, wallet_id: int) -> list[Reply]:
    """The card (with buttons) of every proposal awaiting a decision, oldest first."""
    wallet = session.get(AIWallet, wallet_id)
    rows = session.scalars(select(RebalanceProposal).where(
        RebalanceProposal.wallet_id == wallet_id, RebalanceProposal.status == "pending")
        .order_by(RebalanceProposal.id)).all()
    cards = []
    for proposal in rows:
        snapshot = session.get(AllocationSnapshot, proposal.snapshot_id)
        if snapshot is not None and wallet is not None:
            cards.append(proposal_card(proposal, snapshot, wallet.name))
    return cards


def _locked_proposal(session: Session, proposal_id: int, lock_rows: Callable[[int], object]
                     ) -> RebalanceProposal:
    """Read the proposal, take ``lock_rows(wallet_id)`` (tokens, then the wallet: the global order),
    then lock the proposal itself — a child of its wallet — and read it again (re-validation)."""
    wallet_id = session.scalar(select(RebalanceProposal.wallet_id).where(
        RebalanceProposal.id == proposal_id))
    if wallet_id is None:
        raise not_found(proposal_id)
    lock_rows(wallet_id)
    proposal = session.scalars(
        select(RebalanceProposal).where(RebalanceProposal.id == proposal_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).one()
    return proposal


def _require_decider(session: Session, proposal: RebalanceProposal, user_id: int) -> None:
    """Only the wallet's owners decide; to anyone else the proposal reads as missing."""
    owner = session.scalar(select(WalletOwner.id).where(WalletOwner.wallet_id == proposal.wallet_id,
                                                        WalletOwner.user_id == user_id))
    if owner is None:
        raise not_found(proposal.id)


CLOSED = {
    "executed": "was already approved and its trades ran once; nothing more was traded",
    "rejected": "was already rejected; nothing was traded",
    "expired": "expired without a decision; nothing was traded",
    "superseded": "was replaced by a newer proposal; nothing was traded",
    "failed": "could not be carried out; nothing was traded",
}


def _closed(proposal: RebalanceProposal, now: datetime) -> ProposalOutcome | None:
    if proposal.status == "pending" and now >= ensure_utc(proposal.expires_at):
        proposal.status = "expired"
        proposal.decided_at = now
    if proposal.status == "pending":
        return None
    why = CLOSED.get(proposal.status, f"is {proposal.status}; nothing was traded")
    hint = "" if proposal.status == "executed" else " Send /suggest for a fresh one."
    return ProposalOutcome(proposal.id, proposal.status,
                           f"Already done: proposal #{proposal.id} {why}.{hint}")


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
        _require_decider(session, proposal, user_id)
        closed = _closed(proposal, now)
        if closed is not None:
            return closed.to_dict()
        wallet = session.get(AIWallet, proposal.wallet_id)  # locked with the proposal
        assert wallet is not None
        check_ai(wallet, "approving an AI proposal")  # e.g. moved to Free after a missed payment
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
        text = executed_text(proposal.id, list(execution.trades), execution.trading_costs)
        return ProposalOutcome(proposal.id, "executed", text, n).to_dict()

    return run_idempotent(uow, idempotency_key, "proposal.approve",
                          {"proposal": proposal_id, "user": user_id}, effect,
                          ProposalOutcome.from_dict)


def reject_proposal(uow: UnitOfWork, proposal_id: int, *, user_id: int,
                    idempotency_key: str) -> ProposalOutcome:
    def effect(session: Session) -> dict[str, object]:
        now = uow.clock.now()
        proposal = _locked_proposal(session, proposal_id, lambda w: lock_wallet(session, w))
        _require_decider(session, proposal, user_id)
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
                               f"Rejected proposal #{proposal.id}; nothing was traded. The next "
                               "rebalance will propose again, or send /suggest.").to_dict()

    return run_idempotent(uow, idempotency_key, "proposal.reject",
                          {"proposal": proposal_id, "user": user_id}, effect,
                          ProposalOutcome.from_dict)


def expire_proposals_in(session: Session, now: datetime, notifier: Notifier | None = None) -> int:
    """Mark every pending proposal past its expiry as expired and tell its owners; returns how many.
    Proposals are children of their wallet: the wallets are locked first (by id), then the proposals
    re-read."""
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
        tell_owners(session, notifier, proposal.wallet_id,
                    f"Proposal #{proposal.id} expired without a decision; nothing was traded. "
                    "The next rebalance will propose again, or send /suggest for a fresh one.")
    session.flush()
    return len(stale)
