"""Distributions while holders trade, from several processes, on one SQLite file and on PostgreSQL:
no deadlock (the distribution locks token, then its holders' wallets, then accounts: the one lock
order), no lost update, every distribution's payments match its ledger transaction, and the
wallet's cash is exactly what its trades and distribution payments say."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core import distributions, ledger
from core.db import Database
from core.models.money import DistributionPayment
from tests.integration.test_distributions import LEND, lending_token
from tests.support.ledger_workers import decimal_sum, run_parallel
from tests.support.ledger_world import key, make_org, make_wallet, violations, wallet_cash
from tests.support.money_workers import dispatch

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pure_ledger")]


def test_distributions_while_trading(any_db: Database) -> None:
    db = any_db
    lending_token(db)
    wallet = make_wallet(db, make_org(db), cash="100000")
    distributions.set_policy(db.uow(), LEND, "distribute", idempotency_key=key("p"))
    ledger.buy(db.uow(), wallet, LEND, "1000", idempotency_key=key())
    cash0 = wallet_cash(db, wallet)
    url = db.engine.url.render_as_string(hide_password=False)
    trade_args = [(url, wallet, LEND, 6, "10.000001", "5.5", f"t{i}") for i in range(2)]
    out = run_parallel(dispatch, [("trade", a) for a in trade_args] + [("money", (url, LEND, 6))])
    trades = [t for r in out[:2] for t in r["trades"]]
    assert [e for r in out for e in r["errors"]] == []
    paid = out[2]["paid"]
    # The first month may pay nothing: the workers' wall clock settles ~2 years of management fee
    # (the world was built on the test clock's 2025-01-01) before it, so the first +1 % stays under the base.
    assert len(paid) == 6 and sum(Decimal(p["amount"]) > 0 for p in paid) >= 5
    bought = decimal_sum([t["cash"] for t in trades if t["side"] == "buy"])
    redeemed = decimal_sum([t["cash"] for t in trades if t["side"] == "redeem"])
    with db.uow(read_only=True) as uow:
        received = sum(
            uow.session.scalars(
                select(DistributionPayment.amount).where(DistributionPayment.wallet_id == wallet)
            ),
            Decimal(0),
        )
    assert received > 0
    assert wallet_cash(db, wallet) == cash0 - bought + redeemed + received
    assert violations(db) == []
