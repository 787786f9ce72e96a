"""A rebalance cycle where one wallet fails part-way: the others still trade, the failed wallet is
rolled back alone (its postings and its share of the batch's balance updates), and the scheduler's
job run ends ``partial`` with the wallet and its error, logged and told to the platform admins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.clock import SimulatedClock
from core.db import Database
from core.errors import LimitExceeded
from core.ledger import guards
from core.ledger.guards import TradeIntent
from core.models import AllocationSnapshot, TokenHolding
from core.models.chat import JobRun
from core.notify import CollectingNotifier
from scheduler.jobs import JobContext, rebalance_and_drift
from scheduler.runs import run_once
from tests.support.ledger_world import violations, wallet_cash
from tests.wallet_fixtures import ai_wallet, platform


@pytest.fixture
def third_trade_of(request: pytest.FixtureRequest) -> Iterator[dict[str, int]]:
    """A pre-trade check that refuses the third trade of one wallet (set ``target["wallet"]``)."""
    target = {"wallet": 0, "seen": 0}

    def refuse_third(_session: object, intent: TradeIntent) -> None:
        if intent.wallet.id == target["wallet"]:
            target["seen"] += 1
            if target["seen"] == 3:
                raise LimitExceeded("test: the third trade of this wallet is refused")

    guards.register_check("test.third_trade", refuse_third)
    yield target
    guards.unregister_check("test.third_trade")


def test_one_wallet_failing_mid_rebalance_leaves_the_batch_whole(
        any_db: Database, clock: SimulatedClock, third_trade_of: dict[str, int]) -> None:
    world = platform(any_db, clock)
    org, owner = int(world["org"]), int(world["owner"])  # type: ignore[call-overload]
    first = ai_wallet(any_db, org, owner, "full_ai")
    doomed = ai_wallet(any_db, org, owner, "full_ai")
    last = ai_wallet(any_db, org, owner, "full_ai")
    third_trade_of["wallet"] = doomed
    cash_before = wallet_cash(any_db, doomed)
    notifier = CollectingNotifier()
    jc = JobContext(any_db, notifier, admins=frozenset({("telegram", 42)}))
    slot = clock.now().replace(minute=45, second=0, microsecond=0) - timedelta(hours=1)
    assert run_once(any_db, "rebalance_and_drift", slot, lambda s: rebalance_and_drift(jc, s), alert=jc.alert)
    assert third_trade_of["seen"] == 3  # it really failed after two trades had been posted
    with any_db.uow(read_only=True) as uow:
        run = uow.session.scalars(select(JobRun)).one()
        status, detail = run.status, dict(run.detail or {})
        held = {w: int(uow.session.scalar(select(func.count()).select_from(TokenHolding).where(
            TokenHolding.wallet_id == w, TokenHolding.quantity > 0)) or 0) for w in (first, doomed, last)}
        executed = set(uow.session.scalars(select(AllocationSnapshot.wallet_id).where(
            AllocationSnapshot.executed.is_(True))))
    assert status == "partial"
    assert detail["executed"] == 2 and detail["ok_items"] == 2
    assert list(detail["failed_items"]) == [f"wallet:{doomed}"]
    assert "LimitExceeded: test: the third trade" in detail["failed_items"][f"wallet:{doomed}"]
    assert held[first] >= 5 and held[last] >= 5 and held[doomed] == 0
    assert executed == {first, last}
    assert wallet_cash(any_db, doomed) == cash_before
    # The two trades the doomed wallet had posted were taken out of the shared writer too.
    assert violations(any_db) == []
    alerts = [m for m in notifier.messages if m.chat_id == 42]
    assert len(alerts) == 1 and f"wallet:{doomed}" in alerts[0].reply.text
    assert "ended partial" in alerts[0].reply.text
