"""A small market for exchange tests: three verified organisations (A, B, C) with funded wallets and
one token sold out among them (house seed 100, A 300, C 200: supply 600), all bought at NAV 1.00."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from core import ledger
from core.db import Database
from core.models import AIWallet, TokenHolding
from tests.support.ledger_world import account_balance, key, make_org, make_token, make_wallet

SYM = "STRAT-MOMENTUM-BTC-001"
D = Decimal


@dataclass(frozen=True)
class Market:
    db: Database
    a: int
    b: int
    c: int
    org_a: int


def sold_out_market(db: Database) -> Market:
    org_a, org_b, org_c = make_org(db, "Grace Chapel"), make_org(db, "St Mark"), make_org(db, "Hope Trust")
    a, b, c = make_wallet(db, org_a), make_wallet(db, org_b), make_wallet(db, org_c)
    make_token(db, SYM, supply="600")
    ledger.buy(db.uow(), a, SYM, "300", idempotency_key=key())
    ledger.buy(db.uow(), c, SYM, "200", idempotency_key=key())
    return Market(db, a, b, c, org_a)


@dataclass(frozen=True)
class WalletState:
    cash: Decimal
    cash_reserved: Decimal
    units: Decimal
    units_reserved: Decimal
    avg_cost: Decimal
    realized: Decimal
    free_cash_account: Decimal
    reserved_cash_account: Decimal
    free_units_account: Decimal
    reserved_units_account: Decimal


def state(db: Database, wallet_id: int, token_id: int = 1) -> WalletState:
    with db.uow(read_only=True) as uow:
        w = uow.session.get(AIWallet, wallet_id)
        assert w is not None
        h = uow.session.scalar(
            select(TokenHolding).where(TokenHolding.wallet_id == wallet_id, TokenHolding.token_id == token_id)
        )
        cash, cash_reserved = w.cash, w.cash_reserved
        units, reserved = (h.quantity, h.reserved) if h else (D(0), D(0))
        avg, realized = (h.avg_cost_basis, h.realized_pnl) if h else (D(0), D(0))
    return WalletState(
        cash,
        cash_reserved,
        units,
        reserved,
        avg,
        realized,
        account_balance(db, f"wallet:{wallet_id}:cash"),
        account_balance(db, f"wallet:{wallet_id}:cash:reserved"),
        account_balance(db, f"wallet:{wallet_id}:token:{token_id}"),
        account_balance(db, f"wallet:{wallet_id}:token:{token_id}:reserved"),
    )
