"""A downgrade and open exchange bids (core.exchange.plan_bids): bids for tokens the new plan leaves
no room for are cancelled at the downgrade, their reserved cash released through the exchange's own
close path, the treasurer told; so no later fill takes the wallet past its plan. On a real SQLite
file and on real PostgreSQL; the ledger invariants hold throughout.

The world: five tokens seeded at NAV 1.00; the wallet holds tokens 0 and 1 and bids 10 units at
1.00 (a $10.00 reservation each, no exchange fee) for tokens 2, 3, 4 (in that order) and for token
0. Free allows 3 distinct tokens: 2 held leave room for one more, so the oldest bid for a new token
(token 2) and the bid for held token 0 stay; the bids for tokens 3 and 4 ($20.00) are cancelled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from core import exchange, ledger
from core.billing.charges import change_plan_in
from core.billing.cycle import run_billing
from core.clock import SimulatedClock
from core.db import Database
from core.models import AIWallet, AuditLog, Tier
from core.models.exchange import ExchangeOrder, OrderStatus
from core.notify import CollectingNotifier
from tests.support.ledger_world import key, make_org, make_token, make_user, make_wallet, violations

SYMBOLS = [f"STRAT-DOWN{i}-USDC-001" for i in range(5)]


def _world(db: Database, tier: str) -> tuple[int, list[int]]:
    """The wallet (on ``tier``) and its bid ids for tokens 2, 3, 4 and 0, in that order."""
    wallet = _holder(db, tier)
    return wallet, _bids(db, wallet)


def _holder(db: Database, tier: str) -> int:
    for symbol in SYMBOLS:
        make_token(db, symbol)
    org = make_org(db)
    wallet = make_wallet(db, org, cash="1000", tier=tier, owner_user_ids=[make_user(db, 1001, org)])
    for symbol in SYMBOLS[:2]:
        ledger.buy(db.uow(), wallet, symbol, "100", idempotency_key=key("b"))
    return wallet


def _bids(db: Database, wallet: int) -> list[int]:
    placed = [exchange.place_order(db.uow(), wallet, "bid", SYMBOLS[i], "10", "1.00",
                                   idempotency_key=key("o")) for i in (2, 3, 4, 0)]
    return [order.order_id for order in placed]


def _orders(db: Database, wallet: int) -> dict[int, tuple[OrderStatus, str | None, Decimal]]:
    with db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(ExchangeOrder).where(ExchangeOrder.wallet_id == wallet)).all()
        return {o.id: (o.status, o.close_reason, o.cash_reserved) for o in rows}


def _wallet(db: Database, wallet: int) -> tuple[Tier, Decimal, Decimal]:
    with db.uow(read_only=True) as uow:
        w = uow.session.get(AIWallet, wallet)
        assert w is not None
        return w.tier, w.cash, w.cash_reserved


def _check_cancelled(db: Database, wallet: int, bids: list[int]) -> None:
    kept2, cut3, cut4, kept0 = bids
    orders = _orders(db, wallet)
    reason = "the wallet moved to the Free plan, which holds at most 3 tokens"
    assert orders[cut3] == (OrderStatus.CANCELLED, reason, Decimal(0))
    assert orders[cut4] == (OrderStatus.CANCELLED, reason, Decimal(0))
    assert orders[kept2] == (OrderStatus.OPEN, None, Decimal(10))
    assert orders[kept0] == (OrderStatus.OPEN, None, Decimal(10))
    # Cash: 1,000 - 200 bought; reserved: 4 x $10 before, the two kept bids' $20 after.
    assert _wallet(db, wallet) == (Tier.FREE, Decimal(800), Decimal(20))


def _a_seller_cannot_fill_the_cancelled_bid(db: Database, wallet: int) -> None:
    seller_org = make_org(db, "St Mark")
    seller = make_wallet(db, seller_org, cash="1000")
    ledger.buy(db.uow(), seller, SYMBOLS[3], "50", idempotency_key=key("b"))
    ask = exchange.place_order(db.uow(), seller, "ask", SYMBOLS[3], "10", "1.00", idempotency_key=key("o"))
    assert ask.status == "open" and ask.fills == []  # nothing to fill against: it rests
    assert violations(db) == []


def test_an_immediate_downgrade_cancels_the_bids_past_the_new_cap(any_db: Database) -> None:
    wallet, bids = _world(any_db, "basic")  # Basic never paid: a downgrade applies at once
    with any_db.uow() as uow:
        text = change_plan_in(uow.session, uow.clock.now(), wallet, "free", actor="test")
        uow.commit()
    _check_cancelled(any_db, wallet, bids)
    assert (
        f"2 open exchange bids for tokens beyond the Free plan's 3 were cancelled: #{bids[1]} "
        f"({SYMBOLS[3]}), #{bids[2]} ({SYMBOLS[4]}); $20.00 of reserved cash is free again."
    ) in text
    with any_db.uow(read_only=True) as uow:
        audit = uow.session.scalars(select(AuditLog).where(AuditLog.action == "plan.change")).one()
        assert audit.details["cancelled_bids"] == [bids[1], bids[2]]
    _a_seller_cannot_fill_the_cancelled_bid(any_db, wallet)


def test_a_scheduled_downgrade_warns_then_cancels_and_tells_the_owners(
    any_db: Database, clock: SimulatedClock
) -> None:
    clock.set(datetime(2025, 3, 1, 1, tzinfo=UTC))
    wallet = _holder(any_db, "free")
    with any_db.uow() as uow:
        change_plan_in(uow.session, uow.clock.now(), wallet, "basic", actor="test")  # $50 for March
        uow.commit()
    bids = _bids(any_db, wallet)
    clock.set(datetime(2025, 3, 20, tzinfo=UTC))
    with any_db.uow() as uow:
        text = change_plan_in(uow.session, uow.clock.now(), wallet, "free", actor="test")
        uow.commit()
    assert "Then 2 open exchange bids for tokens beyond its 3 will be cancelled" in text
    assert all(status is OrderStatus.OPEN for status, _, _ in _orders(any_db, wallet).values())
    clock.set(datetime(2025, 4, 1, tzinfo=UTC))
    notifier = CollectingNotifier()
    report = run_billing(any_db.uow(), notifier=notifier)
    assert report.changed == [wallet] and report.failed == {}
    # Cash: 1,000 - 200 bought - 50 for March.
    orders = _orders(any_db, wallet)
    assert [orders[b][0] for b in bids] == [OrderStatus.OPEN, OrderStatus.CANCELLED,
                                           OrderStatus.CANCELLED, OrderStatus.OPEN]
    assert _wallet(any_db, wallet) == (Tier.FREE, Decimal(750), Decimal(20))
    told = notifier.messages[-1].reply.text
    assert "now on the Free plan" in told and "$20.00 of reserved cash is free again" in told
    _a_seller_cannot_fill_the_cancelled_bid(any_db, wallet)


def test_an_upgrade_or_a_plan_with_room_cancels_nothing(any_db: Database) -> None:
    wallet, bids = _world(any_db, "basic")
    with any_db.uow() as uow:
        change_plan_in(uow.session, uow.clock.now(), wallet, "premium", actor="test")
        uow.commit()
    assert all(status is OrderStatus.OPEN for status, _, _ in _orders(any_db, wallet).values())
    assert len(bids) == 4 and violations(any_db) == []
