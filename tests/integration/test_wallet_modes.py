"""Wallet modes, rebalancing and hybrid proposal flows on real databases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import ledger
from core.clock import SimulatedClock
from core.commands.types import OutboundMessage
from core.db import Database
from core.errors import NotFound, PermissionDenied
from core.models import AllocationSnapshot, AuditLog, TokenHolding
from core.models.wallets_ext import RebalanceExecution, RebalanceProposal
from core.notify import CollectingNotifier
from core.wallets import (
    approve_proposal,
    reject_proposal,
    run_rebalance_cycle,
    set_mode,
    suggest_for_wallet,
)
from tests.support.ledger_world import key, violations, wallet_cash
from tests.wallet_fixtures import ai_wallet, platform


def _count(db: Database, model: type, **where: object) -> int:
    with db.uow(read_only=True) as uow:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(uow.session.scalar(query) or 0)


def _holdings(db: Database, wallet_id: int) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(TokenHolding).where(
            TokenHolding.wallet_id == wallet_id, TokenHolding.quantity > 0)) or 0)


def test_full_ai_executes_and_manual_never_trades(any_db: Database, clock: SimulatedClock) -> None:
    world = platform(any_db, clock)
    org, owner = int(world["org"]), int(world["owner"])  # type: ignore[call-overload]
    full = ai_wallet(any_db, org, owner, "full_ai")
    manual = ai_wallet(any_db, org, owner, "manual", tier="free")
    report = run_rebalance_cycle(any_db.uow())
    assert report.executed == 1 and not report.failed
    assert _holdings(any_db, full) >= 5
    assert _holdings(any_db, manual) == 0
    assert wallet_cash(any_db, full) >= 0
    assert _count(any_db, AllocationSnapshot, wallet_id=full, executed=True) == 1
    # Costs were charged and the ledger is consistent.
    with any_db.uow(read_only=True) as uow:
        execution = uow.session.scalars(select(RebalanceExecution)).one()
        assert execution.trading_costs > 0
    assert violations(any_db) == []
    # A manual wallet can ask for a suggestion: stored, not executed.
    suggestion = suggest_for_wallet(any_db.uow(), manual, user_id=owner)
    assert suggestion.trades and len([t for t in suggestion.trades if t.get("side")]) <= 3
    assert _holdings(any_db, manual) == 0
    # Not due again the next day (weekly, no drift): nothing happens.
    clock.advance(timedelta(days=1))
    again = run_rebalance_cycle(any_db.uow())
    assert again.executed == 0


def _hybrid(db: Database, clock: SimulatedClock) -> tuple[int, int, int, int, CollectingNotifier]:
    world = platform(db, clock)
    org, owner, stranger = int(world["org"]), int(world["owner"]), int(world["stranger"])  # type: ignore[call-overload]
    wallet = ai_wallet(db, org, owner, "hybrid")
    notifier = CollectingNotifier()
    report = run_rebalance_cycle(db.uow(), notifier=notifier)
    assert report.proposed == 1 and report.executed == 0
    with db.uow(read_only=True) as uow:
        proposal_id = uow.session.scalars(select(RebalanceProposal.id)).one()
    return wallet, owner, stranger, proposal_id, notifier


def test_hybrid_approve_is_atomic_and_idempotent(any_db: Database, clock: SimulatedClock) -> None:
    wallet, owner, _stranger, proposal_id, notifier = _hybrid(any_db, clock)
    assert _holdings(any_db, wallet) == 0
    message: OutboundMessage = notifier.messages[0]
    assert message.chat_id == 1001
    assert [b.action for b in message.reply.all_buttons()] == [
        f"proposal approve {proposal_id}", f"proposal reject {proposal_id}"]
    press = key("press")
    first = approve_proposal(any_db.uow(), proposal_id, user_id=owner, idempotency_key=press)
    assert first.status == "executed" and first.trades >= 5
    held = _holdings(any_db, wallet)
    cash = wallet_cash(any_db, wallet)
    # Same button press delivered twice: the stored reply, no second effect.
    assert approve_proposal(any_db.uow(), proposal_id, user_id=owner,
                            idempotency_key=press) == first
    # A second, different press: reported as already executed, nothing traded.
    second = approve_proposal(any_db.uow(), proposal_id, user_id=owner,
                              idempotency_key=key("press"))
    assert second.status == "executed" and "already" in second.message
    assert _holdings(any_db, wallet) == held and wallet_cash(any_db, wallet) == cash
    assert _count(any_db, RebalanceExecution) == 1
    assert violations(any_db) == []


def test_hybrid_reject_then_approve_refused(any_db: Database, clock: SimulatedClock) -> None:
    wallet, owner, _s, proposal_id, _n = _hybrid(any_db, clock)
    out = reject_proposal(any_db.uow(), proposal_id, user_id=owner, idempotency_key=key())
    assert out.status == "rejected"
    late = approve_proposal(any_db.uow(), proposal_id, user_id=owner, idempotency_key=key())
    assert late.status == "rejected" and _holdings(any_db, wallet) == 0


def test_hybrid_expiry_and_approve_after_expiry(any_db: Database, clock: SimulatedClock) -> None:
    wallet, owner, _s, proposal_id, _n = _hybrid(any_db, clock)
    clock.advance(timedelta(hours=25))
    out = approve_proposal(any_db.uow(), proposal_id, user_id=owner, idempotency_key=key())
    assert out.status == "expired" and "nothing was traded" in out.message
    assert _holdings(any_db, wallet) == 0
    assert _count(any_db, RebalanceProposal, status="expired") == 1


def test_hybrid_cycle_expires_stale_proposals(any_db: Database, clock: SimulatedClock) -> None:
    _wallet, _owner, _s, _pid, _n = _hybrid(any_db, clock)
    clock.advance(timedelta(hours=25))
    report = run_rebalance_cycle(any_db.uow())
    assert report.expired_proposals == 1


def test_hybrid_non_owner_refused(any_db: Database, clock: SimulatedClock) -> None:
    wallet, _owner, stranger, proposal_id, _n = _hybrid(any_db, clock)
    press = key("press")
    # Not yours reads exactly like not there: proposal ids cannot be probed.
    with pytest.raises(NotFound) as missing:
        approve_proposal(any_db.uow(), proposal_id + 1000, user_id=stranger, idempotency_key=key())
    with pytest.raises(NotFound) as refused:
        approve_proposal(any_db.uow(), proposal_id, user_id=stranger, idempotency_key=press)
    assert refused.value.message == missing.value.message.replace(
        f"#{proposal_id + 1000}", f"#{proposal_id}")
    with pytest.raises(NotFound):
        reject_proposal(any_db.uow(), proposal_id, user_id=stranger, idempotency_key=key())
    assert _holdings(any_db, wallet) == 0
    assert _count(any_db, RebalanceProposal, status="pending") == 1


def test_mode_switch_is_audited_and_applies_next_decision(any_db: Database,
                                                          clock: SimulatedClock) -> None:
    wallet, owner, stranger, _pid, _n = _hybrid(any_db, clock)
    with pytest.raises(PermissionDenied):
        set_mode(any_db.uow(), wallet, "full_ai", user_id=stranger, idempotency_key=key())
    out = set_mode(any_db.uow(), wallet, "full_ai", user_id=owner, idempotency_key=key())
    assert out["superseded_proposals"] == 1
    assert _count(any_db, AuditLog, action="wallet.mode") == 1
    assert _holdings(any_db, wallet) == 0  # nothing traded at the switch itself
    clock.advance(timedelta(days=7))
    report = run_rebalance_cycle(any_db.uow())
    assert report.executed == 1
    assert _holdings(any_db, wallet) >= 5


def test_drift_triggers_rebalance_before_the_week(any_db: Database, clock: SimulatedClock) -> None:
    world = platform(any_db, clock)
    org, owner = int(world["org"]), int(world["owner"])  # type: ignore[call-overload]
    symbols: list[str] = world["symbols"]  # type: ignore[assignment]
    wallet = ai_wallet(any_db, org, owner, "full_ai")
    run_rebalance_cycle(any_db.uow())
    # A big deposit: the wallet is suddenly mostly cash, far from its target.
    ledger.deposit(any_db.uow(), wallet, "100000", idempotency_key=key())
    clock.advance(timedelta(days=1))
    for s in symbols:
        ledger.mark_nav(any_db.uow(), s, clock.now().date(), "0.001")
    report = run_rebalance_cycle(any_db.uow())
    assert report.executed == 1
    assert report.drifts_at_rebalance and report.drifts_at_rebalance[0] > Decimal("0.10")
    assert violations(any_db) == []
