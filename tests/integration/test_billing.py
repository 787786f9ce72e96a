"""Plan billing on a simulated clock (core.billing.charges / cycle): prorated upgrades computed by
hand, the monthly charge in advance (idempotent per wallet and month), scheduled downgrades, the
7-day grace period with reminders and the move to Free. The ledger invariants hold throughout."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import ledger
from core.billing.charges import change_plan_in, prorate
from core.billing.cycle import run_billing
from core.billing.revenue import revenue_by_plan
from core.clock import SimulatedClock
from core.db import Database
from core.errors import InsufficientCash
from core.ledger.postings import get_account
from core.models import AIWallet, AuditLog, Tier, TokenHolding, WalletMode
from core.models.billing import PlanCharge
from core.notify import CollectingNotifier
from tests.support.ledger_world import (
    key,
    make_org,
    make_token,
    make_user,
    make_wallet,
    violations,
    wallet_cash,
)


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _wallet(db: Database, cash: str = "1000", tier: str = "free") -> tuple[int, int]:
    org = make_org(db)
    owner = make_user(db, 1001, org)
    wallet = make_wallet(db, org, cash=cash, tier=tier, owner_user_ids=[owner])
    return wallet, owner


def _change(db: Database, wallet: int, tier: str) -> str:
    with db.uow() as uow:
        text = change_plan_in(uow.session, uow.clock.now(), wallet, tier, actor="test")
        uow.commit()
    return text


def _charges(db: Database, wallet: int) -> list[tuple[str, str, str, Decimal]]:
    with db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(PlanCharge).where(PlanCharge.wallet_id == wallet)
                                   .order_by(PlanCharge.id)).all()
        return [(c.period, c.tier, c.kind, c.amount) for c in rows]


def _revenue(db: Database) -> Decimal:
    with db.uow(read_only=True) as uow:
        account = get_account(uow.session, "platform:plan_revenue")
        return account.balance if account is not None else Decimal(0)


def _wallet_row(db: Database, wallet: int) -> tuple[Tier, WalletMode]:
    with db.uow(read_only=True) as uow:
        w = uow.session.get(AIWallet, wallet)
        assert w is not None
        return w.tier, w.mode


def test_proration_by_hand() -> None:
    # Basic from 16 January: 16 of 31 days left (16th..31st) -> 50 x 16 / 31 = 25.806... -> $25.81.
    assert prorate(Decimal(50), 16, 31) == Decimal("25.81")
    # Basic -> Premium on 10 February 2025: 19 of 28 days -> 150 x 19 / 28 = 101.7857... -> $101.79.
    assert prorate(Decimal(150), 19, 28) == Decimal("101.79")
    assert prorate(Decimal(50), 31, 31) == Decimal("50.00")


def test_upgrade_mid_month_is_prorated_then_billed_monthly(any_db: Database, clock: SimulatedClock) -> None:
    wallet, _ = _wallet(any_db)
    clock.set(at("2025-01-16", 9))
    text = _change(any_db, wallet, "basic")
    assert "Basic" in text and "$25.81" in text
    assert wallet_cash(any_db, wallet) == Decimal("974.19")  # 1,000 - 25.81
    assert _charges(any_db, wallet) == [("2025-01", "basic", "upgrade", Decimal("25.81"))]
    assert _wallet_row(any_db, wallet)[0] is Tier.BASIC
    # The rest of January is paid: the job charges nothing more this month.
    clock.set(at("2025-01-20", 0))
    assert run_billing(any_db.uow()).charged == {}
    # 1 February: $50 in advance, once, however often the job runs.
    clock.set(at("2025-02-01", 0))
    assert run_billing(any_db.uow()).charged == {wallet: "50"}
    assert run_billing(any_db.uow()).charged == {}
    clock.set(at("2025-02-01", 12))
    assert run_billing(any_db.uow()).charged == {}
    # Premium on 10 February: 19 of 28 days of the $150 difference -> $101.79.
    clock.set(at("2025-02-10", 15))
    assert "$101.79" in _change(any_db, wallet, "premium")
    assert wallet_cash(any_db, wallet) == Decimal("974.19") - Decimal(50) - Decimal("101.79")
    assert _charges(any_db, wallet)[-1] == ("2025-02", "premium", "upgrade", Decimal("101.79"))
    assert _revenue(any_db) == Decimal("25.81") + Decimal(50) + Decimal("101.79")
    assert violations(any_db) == []
    with any_db.uow(read_only=True) as uow:
        plans = revenue_by_plan(uow.session)
    assert plans["Basic"]["charged"] == Decimal("75.81") and plans["Premium"]["charged"] == Decimal("101.79")
    assert plans["Premium"]["wallets"] == 1


def test_upgrade_without_enough_cash_writes_nothing(sqlite_db: Database, clock: SimulatedClock) -> None:
    wallet, _ = _wallet(sqlite_db, cash="10")
    clock.set(at("2025-01-01", 8))
    with pytest.raises(InsufficientCash, match=r"needs \$50\.00 .* has \$10\.00"):
        _change(sqlite_db, wallet, "basic")
    assert _charges(sqlite_db, wallet) == [] and wallet_cash(sqlite_db, wallet) == Decimal(10)
    assert _wallet_row(sqlite_db, wallet)[0] is Tier.FREE


def test_downgrade_waits_for_next_month(sqlite_db: Database, clock: SimulatedClock) -> None:
    wallet, owner = _wallet(sqlite_db)
    clock.set(at("2025-03-01", 1))
    _change(sqlite_db, wallet, "basic")  # a whole month: $50
    assert _charges(sqlite_db, wallet) == [("2025-03", "basic", "upgrade", Decimal("50.00"))]
    from core.wallets import set_mode

    set_mode(sqlite_db.uow(), wallet, "hybrid", user_id=owner, idempotency_key=key("m"))
    clock.set(at("2025-03-20", 10))
    text = _change(sqlite_db, wallet, "free")
    assert "2025-04-01" in text
    assert _wallet_row(sqlite_db, wallet) == (Tier.BASIC, WalletMode.HYBRID)  # paid until then
    clock.set(at("2025-04-01", 0))
    notifier = CollectingNotifier()
    report = run_billing(sqlite_db.uow(), notifier=notifier)
    assert report.changed == [wallet] and report.charged == {}
    assert _wallet_row(sqlite_db, wallet) == (Tier.FREE, WalletMode.MANUAL)
    assert any("Free plan" in m.reply.text for m in notifier.messages)


def test_grace_period_reminders_then_free(any_db: Database, clock: SimulatedClock) -> None:
    """Too little cash on the 1st: 7 days of daily reminders, then Free with AI off and holdings kept."""
    make_token(any_db, "STRAT-MOMENTUM-BTC-001")
    wallet, owner = _wallet(any_db, cash="1000")
    clock.set(at("2025-01-01", 6))
    _change(any_db, wallet, "basic")  # $50 for January
    from core.wallets import set_mode

    set_mode(any_db.uow(), wallet, "full_ai", user_id=owner, idempotency_key=key("m"))
    ledger.buy(any_db.uow(), wallet, "STRAT-MOMENTUM-BTC-001", "940", idempotency_key=key("b"))
    assert wallet_cash(any_db, wallet) == Decimal(10)
    notifier = CollectingNotifier()
    clock.set(at("2025-02-01", 0))
    report = run_billing(any_db.uow(), notifier=notifier)
    assert report.grace_started == [wallet] and report.charged == {}
    assert "could not be paid" in notifier.messages[-1].reply.text
    assert "2025-02-08 00:00 UTC" in notifier.messages[-1].reply.text
    clock.set(at("2025-02-01", 12))
    assert run_billing(any_db.uow(), notifier=notifier).reminded == []  # once a day
    for day in range(2, 8):
        clock.set(at(f"2025-02-0{day}", 0))
        assert run_billing(any_db.uow(), notifier=notifier).reminded == [wallet]
        assert run_billing(any_db.uow(), notifier=notifier).reminded == []
    assert _wallet_row(any_db, wallet) == (Tier.BASIC, WalletMode.FULL_AI)
    clock.set(at("2025-02-08", 0))
    report = run_billing(any_db.uow(), notifier=notifier)
    assert report.downgraded == [wallet]
    assert _wallet_row(any_db, wallet) == (Tier.FREE, WalletMode.MANUAL)
    assert "nothing was sold" in notifier.messages[-1].reply.text
    with any_db.uow(read_only=True) as uow:  # holdings kept, nothing sold, nothing charged
        assert uow.session.scalar(select(func.count()).select_from(TokenHolding).where(
            TokenHolding.wallet_id == wallet, TokenHolding.quantity > 0)) == 1
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "plan.change")) == 2
    assert wallet_cash(any_db, wallet) == Decimal(10)
    assert _charges(any_db, wallet) == [("2025-01", "basic", "upgrade", Decimal("50.00"))]
    assert len(notifier.messages) == 1 + 6 + 1  # started, six reminders, moved to Free
    clock.set(at("2025-03-01", 0))
    assert run_billing(any_db.uow()).charged == {}  # Free costs nothing
    assert violations(any_db) == []


def test_grace_period_paid_after_a_deposit(sqlite_db: Database, clock: SimulatedClock) -> None:
    wallet, _ = _wallet(sqlite_db, cash="60")
    clock.set(at("2025-01-01", 6))
    _change(sqlite_db, wallet, "basic")  # $50 -> $10 left
    clock.set(at("2025-02-01", 0))
    assert run_billing(sqlite_db.uow()).grace_started == [wallet]
    ledger.deposit(sqlite_db.uow(), wallet, "100", idempotency_key=key("d"))
    clock.set(at("2025-02-03", 0))
    notifier = CollectingNotifier()
    assert run_billing(sqlite_db.uow(), notifier=notifier).charged == {wallet: "50"}
    assert "is paid" in notifier.messages[-1].reply.text
    assert wallet_cash(sqlite_db, wallet) == Decimal(60)
    assert _wallet_row(sqlite_db, wallet)[0] is Tier.BASIC
    clock.set(at("2025-02-10", 0))
    assert run_billing(sqlite_db.uow()).downgraded == []
    assert violations(sqlite_db) == []
