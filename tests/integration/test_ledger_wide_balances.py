"""Balances wider than Python's default 28-digit decimal context stay exact.

A token may be issued with up to 1e12 units (``MAX_TOKEN_AMOUNT``) in units of 1e-18, so its unissued
account can carry 31 significant digits. The ledger benchmark (4 PostgreSQL worker processes, each
starting with Python's default context) found the balance update and the invariant check rounding at
28 digits: ``unissued 999899999900.000000000000000200 != postings 999899999900.0000000000000004``.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from sqlalchemy import select

from core import ledger
from core.db import Database
from core.models import LedgerAccount, StrategyToken
from tests.support.ledger_world import key, make_org, make_token, make_wallet, violations

SYM = "STRAT-WIDE-001"
SUPPLY = Decimal("1000000000000")


def test_a_trillion_unit_token_keeps_every_unit_decimal(any_db: Database) -> None:
    make_token(any_db, SYM, supply=str(SUPPLY))
    wallet = make_wallet(any_db, make_org(any_db), cash="100000")
    ledger.buy(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())
    ledger.mark_nav(any_db.uow(), SYM, any_db.clock.now().date(), Decimal("0.0384"))
    with decimal.localcontext(decimal.Context(prec=28)):  # a fresh process's default context
        bought = ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
        redeemed = Decimal(bought.tokens) / 3  # a quantity with all 18 decimals in use
        ledger.redeem(any_db.uow(), wallet, SYM, redeemed.quantize(Decimal("1E-18")), idempotency_key=key())
        found = violations(any_db)
    assert Decimal(bought.tokens) != Decimal(bought.tokens).quantize(Decimal("1E-12"))  # really fractional
    assert found == []
    with any_db.uow(read_only=True) as uow:
        token = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == SYM)).one()
        unissued = uow.session.scalars(
            select(LedgerAccount).where(LedgerAccount.code == f"token:{token.id}:unissued")
        ).one()
        with decimal.localcontext(decimal.Context(prec=60)):
            assert unissued.balance == SUPPLY - token.circulating_supply
        assert len(unissued.balance.as_tuple().digits) > 28  # wider than the default context
