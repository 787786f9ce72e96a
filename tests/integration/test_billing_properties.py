"""Billing invariants under random sequences of plan changes, deposits and billing runs over a few
months (Hypothesis, real SQLite file): a month is never charged more than the price of the highest
plan the wallet held in it, never below zero, each charge is one balanced ledger transaction, and
``arena ledger check`` holds after every sequence. ``ARENA_DEEP_TESTS=1`` runs more examples."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import ledger
from core.billing.charges import change_plan_in
from core.billing.cycle import run_billing
from core.billing.plans import PLANS, rank
from core.clock import SimulatedClock
from core.errors import ArenaError
from core.models import AIWallet, Tier
from core.models.billing import PlanCharge
from tests.conftest import make_sqlite_db
from tests.support.ledger_world import key, make_org, make_user, make_wallet, violations

DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"
STEP = st.tuples(st.integers(0, 9),  # days to move on
                 st.sampled_from(["free", "basic", "premium", "bill", "bill", "deposit"]))


@settings(max_examples=60 if DEEP else 8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=3, max_size=25), cash=st.sampled_from(["0", "40", "120", "1000"]))
def test_charges_never_exceed_the_plans_held(_sqlite_template: Path, tmp_path: Path,
                                             steps: list[tuple[int, str]], cash: str) -> None:
    clock = SimulatedClock(datetime(2025, 1, 20, 9, tzinfo=UTC))
    db = make_sqlite_db(_sqlite_template, tmp_path, clock)
    try:
        org = make_org(db)
        wallet = make_wallet(db, org, cash=cash if cash != "0" else None,
                             owner_user_ids=[make_user(db, 1001, org)])
        highest: dict[str, Tier] = defaultdict(lambda: Tier.FREE)  # per month: the best plan held

        def held() -> None:
            with db.uow(read_only=True) as uow:
                w = uow.session.get(AIWallet, wallet)
                assert w is not None
                month = f"{clock.now():%Y-%m}"
                if rank(w.tier) > rank(highest[month]):
                    highest[month] = w.tier

        for days, action in steps:
            clock.advance(timedelta(days=days, hours=1))
            held()
            if action == "bill":
                run_billing(db.uow())
            elif action == "deposit":
                ledger.deposit(db.uow(), wallet, "60", idempotency_key=key("d"))
            else:
                try:
                    with db.uow() as uow:
                        change_plan_in(uow.session, uow.clock.now(), wallet, action, actor="test")
                        uow.commit()
                except ArenaError:
                    pass  # not enough cash, or unpaid: refused and nothing written (checked below)
            held()
        with db.uow(read_only=True) as uow:
            charges = uow.session.scalars(select(PlanCharge).where(PlanCharge.wallet_id == wallet)).all()
            per_month: dict[str, Decimal] = defaultdict(Decimal)
            for charge in charges:
                assert charge.amount >= 0
                per_month[charge.period] += charge.amount
        for month, total in per_month.items():
            assert total <= PLANS[highest[month]].price, (month, total, highest[month])
        assert violations(db) == []
    finally:
        db.dispose()
