"""Wallet services: mode switches, manual suggestions and the rebalance cycle.

Modes: ``full_ai`` executes its decisions; ``hybrid`` turns each decision into a proposal an owner
approves or rejects (:mod:`core.wallets.proposals`); ``manual`` never trades by itself but may ask
for a suggestion. A mode switch is audited and takes effect at the wallet's next decision (pending
proposals are superseded when a wallet leaves hybrid). A wallet is due when it never rebalanced,
its weekly interval passed, or its drift from the last executed target exceeds the threshold
(half L1 distance, cash included). Every decision is an ``allocation_snapshots`` row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.billing.plans import check_mode, plan_of
from core.db import UnitOfWork
from core.errors import ArenaError, ValidationError
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import lock_tokens, lock_wallet
from core.ledger.postings import LedgerWriter
from core.models import AIWallet, AllocationSnapshot, AuditLog, StrategyToken, TokenHolding, WalletMode
from core.models.wallets_ext import RebalanceProposal
from core.notify import Notifier
from core.optimizer import Decision
from core.optimizer import Tier as OptTier
from core.risk.circuit import is_halted
from core.wallets.config import DEFAULT_WALLET_CONFIG, WalletConfig
from core.wallets.execution import (
    execute_in,
    plan_for,
    snapshot_target,
    store_snapshot,
    wallet_drift,
)
from core.wallets.proposals import create_proposal_in, expire_proposals_in, require_owner
from core.wallets.proposals import supersede_pending as _supersede
from core.wallets.universe import DecisionCache, active_tokens, profile_of

log = logging.getLogger(__name__)


def set_mode(uow: UnitOfWork, wallet_id: int, mode: str, *, user_id: int,
             idempotency_key: str) -> dict[str, object]:
    """An owner switches the wallet's mode; effective at the next decision; audited."""
    try:
        new_mode = WalletMode(mode)
    except ValueError:
        raise ValidationError("mode must be full_ai, hybrid or manual") from None

    def effect(session: Session) -> dict[str, object]:
        now = uow.clock.now()
        wallet = lock_wallet(session, wallet_id)
        require_owner(session, wallet.id, user_id)
        check_mode(wallet.tier, new_mode)
        old = wallet.mode
        wallet.mode = new_mode
        superseded = 0
        if old is WalletMode.HYBRID and new_mode is not WalletMode.HYBRID:
            superseded = _supersede(session, now, wallet.id, f"wallet switched to {new_mode.value}")
        session.add(AuditLog(at=now, actor=f"user:{user_id}", action="wallet.mode",
                             subject=f"wallet:{wallet.id}",
                             details={"from": old.value, "to": new_mode.value}))
        return {"wallet_id": wallet.id, "from": old.value, "to": new_mode.value,
                "superseded_proposals": superseded,
                "message": f"Mode is now {new_mode.value}; it applies from the next decision."}

    return run_idempotent(uow, idempotency_key, "wallet.mode",
                          {"wallet": wallet_id, "mode": new_mode.value, "user": user_id}, effect,
                          dict)


@dataclass
class Suggestion:
    snapshot_id: int
    summary: str
    reasons: dict[str, str]
    trades: list[dict[str, str]]


def suggest_for_wallet(uow: UnitOfWork, wallet_id: int, *, user_id: int,
                       config: WalletConfig = DEFAULT_WALLET_CONFIG) -> Suggestion:
    """A suggestion for any wallet (manual ones included): stored, never executed."""
    with uow:
        now = uow.clock.now()
        wallet = lock_wallet(uow.session, wallet_id)
        require_owner(uow.session, wallet.id, user_id)
        decision = DecisionCache(config.optimizer).decision(
            uow.session, now, OptTier(wallet.tier.value), profile_of(wallet.risk_profile))
        snapshot = store_snapshot(uow.session, now, wallet, decision, trigger="suggestion",
                                  drift_before=None)
        trades, notes = plan_for(uow.session, now, wallet, dict(decision.weights), config)
        result = Suggestion(snapshot.id, decision.summary, dict(decision.reasons),
                            [t.as_dict() for t in trades] + [{"note": n} for n in notes])
        uow.commit()
    return result


@dataclass
class CycleReport:
    halted: bool = False
    checked: int = 0
    executed: int = 0
    proposed: int = 0
    expired_proposals: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    drifts_at_rebalance: list[Decimal] = field(default_factory=list)
    solves: int = 0


def _last_targets(session: Session, wallet_ids: list[int]) -> dict[int, AllocationSnapshot]:
    latest = (select(AllocationSnapshot.wallet_id, func.max(AllocationSnapshot.id).label("sid"))
              .where(AllocationSnapshot.executed.is_(True),
                     AllocationSnapshot.wallet_id.in_(wallet_ids))
              .group_by(AllocationSnapshot.wallet_id).subquery())
    rows = session.scalars(select(AllocationSnapshot).join(
        latest, AllocationSnapshot.id == latest.c.sid)).all()
    return {s.wallet_id: s for s in rows}


def due_reason(wallet: AIWallet, now: datetime, drift_now: Decimal | None,
               config: WalletConfig) -> str | None:
    if wallet.last_rebalanced_at is None:
        return "initial"
    if now - wallet.last_rebalanced_at >= timedelta(days=wallet.rebalance_interval_days):
        return "weekly"
    if drift_now is not None and drift_now > config.drift_threshold:
        return "drift"
    return None


def run_rebalance_cycle(uow: UnitOfWork, *, notifier: Notifier | None = None,
                        config: WalletConfig = DEFAULT_WALLET_CONFIG,
                        batch: int = 200) -> CycleReport:
    """Check every AI wallet; execute (full AI) or propose (hybrid) where due.

    One decision per distinct (universe, tier, profile) for the whole cycle. Premium wallets are
    handled first (the plan's priority), in batches of their own. Wallets are handled in
    batches of ``batch`` per unit of work (the bulk path): the batch locks every token it may trade
    up front (by id), then each due wallet in id order inside its own savepoint, and all trades of
    the batch share one ledger writer, so each pool and system account gets one balance update per
    batch. A wallet whose rebalance is refused is rolled back alone, logged, and reported in
    ``failed`` with its error.
    """
    report = CycleReport()
    cache = DecisionCache(config.optimizer)
    with uow:
        now = uow.clock.now()
        report.expired_proposals = expire_proposals_in(uow.session, now, notifier)
        if is_halted(uow.session):
            report.halted = True
            uow.commit()
            return report
        rows = uow.session.execute(
            select(AIWallet.id, AIWallet.tier).where(
                AIWallet.mode.in_([WalletMode.FULL_AI, WalletMode.HYBRID]),
                AIWallet.is_house.is_(False)).order_by(AIWallet.id)).all()
        uow.commit()
    # Premium's priority: its wallets go in batches of their own before everyone else's (each
    # batch still locks its wallets in ascending id, the ledger's lock order).
    first = [r.id for r in rows if plan_of(r.tier).priority]
    rest = [r.id for r in rows if not plan_of(r.tier).priority]
    for ids in (first, rest):
        for start in range(0, len(ids), batch):
            _run_batch(uow, ids[start:start + batch], cache, config, notifier, report)
    report.solves = cache.solves
    return report


@dataclass(frozen=True, slots=True)
class _Due:
    wallet_id: int
    mode: WalletMode
    trigger: str
    drift_now: Decimal | None
    decision: Decision


def _due_wallets(session: Session, now: datetime, chunk: list[int], cache: DecisionCache,
                 config: WalletConfig, report: CycleReport) -> list[_Due]:
    """The chunk's wallets that are due, read without locks (re-validated under them later)."""
    wallets = {w.id: w for w in session.scalars(select(AIWallet).where(AIWallet.id.in_(chunk)))}
    targets = _last_targets(session, chunk)
    pending = set(session.scalars(select(RebalanceProposal.wallet_id).where(
        RebalanceProposal.wallet_id.in_(chunk), RebalanceProposal.status == "pending")))
    due: list[_Due] = []
    for wallet_id in chunk:
        wallet = wallets[wallet_id]
        report.checked += 1
        last = targets.get(wallet_id)
        drift_now = None
        if last is not None:
            weights, cash_w = snapshot_target(last)
            drift_now = wallet_drift(session, wallet, weights, cash_w)
        trigger = due_reason(wallet, now, drift_now, config)
        if trigger is None:
            continue
        if wallet.cash <= 0 and drift_now is None:
            continue  # nothing to allocate yet
        if wallet.mode is WalletMode.HYBRID and wallet_id in pending:
            continue  # the owner has not answered the last proposal yet
        decision = cache.decision(session, now, OptTier(wallet.tier.value),
                                  profile_of(wallet.risk_profile))
        due.append(_Due(wallet_id, wallet.mode, trigger, drift_now, decision))
    return due


def _run_batch(uow: UnitOfWork, chunk: list[int], cache: DecisionCache, config: WalletConfig,
               notifier: Notifier | None, report: CycleReport) -> None:
    with uow:
        session = uow.session
        now = uow.clock.now()
        due = _due_wallets(session, now, chunk, cache, config, report)
        if not due:
            return
        held = session.scalars(select(StrategyToken.symbol).join(
            TokenHolding, TokenHolding.token_id == StrategyToken.id).where(
            TokenHolding.wallet_id.in_([d.wallet_id for d in due]), TokenHolding.quantity > 0)).all()
        # The lock order: every token any of these wallets may trade, by id, before any wallet.
        lock_tokens(session, {t.symbol for t in active_tokens(session)} | set(held))
        writer = LedgerWriter(session, now)
        for item in due:  # ascending wallet id: the wallets are locked in order too
            _rebalance_one(session, now, item, writer, config, notifier, report)
        writer.flush()
        uow.commit()


def _rebalance_one(session: Session, now: datetime, item: _Due, writer: LedgerWriter,
                   config: WalletConfig, notifier: Notifier | None, report: CycleReport) -> None:
    """One wallet's decision in a savepoint: executed (full AI) or proposed (hybrid)."""
    savepoint = session.begin_nested()
    mark = writer.checkpoint()
    try:
        wallet = lock_wallet(session, item.wallet_id)
        if wallet.mode is not item.mode:  # re-validated under the lock: the owner switched
            savepoint.rollback()
            writer.restore(mark)
            return
        snapshot = store_snapshot(session, now, wallet, item.decision, trigger=item.trigger,
                                  drift_before=item.drift_now)
        if item.mode is WalletMode.FULL_AI:
            execute_in(session, now, wallet.id, snapshot, config=config, trigger=item.trigger,
                       drift_before=item.drift_now, writer=writer, expect_mode=WalletMode.FULL_AI)
            report.executed += 1
            if item.drift_now is not None:
                report.drifts_at_rebalance.append(item.drift_now)
        else:
            create_proposal_in(session, now, wallet, snapshot, item.decision,
                               trigger=item.trigger, config=config, notifier=notifier)
            wallet.last_rebalanced_at = now  # the weekly clock restarts on a proposal
            report.proposed += 1
        savepoint.commit()
    except ArenaError as exc:  # an expected refusal (halt, limit, sold out): this wallet only
        savepoint.rollback()
        writer.restore(mark)
        report.failed[item.wallet_id] = f"{type(exc).__name__}: {exc}"
        log.warning("rebalance of wallet %s refused: %s", item.wallet_id, report.failed[item.wallet_id])
    except Exception as exc:  # a bug or a database error: this wallet only, with its traceback
        savepoint.rollback()
        writer.restore(mark)
        report.failed[item.wallet_id] = f"{type(exc).__name__}: {exc}"
        log.exception("rebalance of wallet %s failed", item.wallet_id)
