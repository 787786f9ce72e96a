"""Append-only tables and tamper detection, on SQLite and PostgreSQL.

Postings, attestations and the audit log refuse UPDATE and DELETE at the database (a trigger), even
from raw SQL. ``check_invariants`` and ``arena --db URL ledger check --json`` detect a database that
was corrupted behind the ledger's back (cached balances edited, trigger dropped and a posting edited).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from core import ledger
from core.db import Database
from core.models import (
    AccountKind,
    AIWallet,
    Attestation,
    AttestationKind,
    LedgerAccount,
    Posting,
    StrategyToken,
    TokenHolding,
)
from core.money import canonical_text
from tests.support.ledger_world import key, make_org, make_token, make_user, make_wallet, violations

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-MOMENTUM-BTC-001"
REPO = Path(__file__).resolve().parents[2]
ARENA = [sys.executable, "-c", "from bot.cli import main; main()"]


@pytest.fixture
def traded(any_db: Database) -> Database:
    """A small ledger with postings, an attestation and audit rows; invariants hold."""
    org = make_org(any_db)
    wallet = make_wallet(any_db, org)
    user = make_user(any_db, 4242, org)
    make_token(any_db, SYM)
    ledger.buy(any_db.uow(), wallet, SYM, "300", idempotency_key=key())
    ledger.redeem(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    with any_db.uow() as uow:
        uow.session.add(
            Attestation(
                user_id=user,
                kind=AttestationKind.RISK,
                disclosure_version="v1",
                text_sha256="0" * 64,
                accepted_at=uow.clock.now(),
            )
        )
        uow.commit()
    assert violations(any_db) == []
    return any_db


@pytest.mark.parametrize("table", ["postings", "attestations", "audit_log"])
@pytest.mark.parametrize(
    "statement", ["UPDATE {t} SET id = id WHERE id = (SELECT min(id) FROM {t})", "DELETE FROM {t}"]
)
def test_append_only_tables_refuse_changes(traded: Database, table: str, statement: str) -> None:
    with traded.engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        assert count > 0
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement.format(t=table)))
        conn.rollback()
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == count


def _raw(db: Database, *statements: str) -> None:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _edit(db: Database, stmt: object) -> None:
    """An ORM-free UPDATE that bypasses every ledger service (the Money type still binds exactly)."""
    with db.engine.begin() as conn:
        conn.execute(stmt)  # type: ignore[call-overload]


def _drop_posting_guard_and_edit(db: Database) -> None:
    if db.engine.dialect.name == "sqlite":
        guard = "DROP TRIGGER postings_no_update"
        edit = (
            "UPDATE postings SET amount = '-301' "
            "WHERE id = (SELECT max(id) FROM postings WHERE amount LIKE '-%')"
        )
    else:
        guard = "ALTER TABLE postings DISABLE TRIGGER postings_append_only"
        edit = (
            "UPDATE postings SET amount = amount - 1 "
            "WHERE id = (SELECT max(id) FROM postings WHERE amount < 0)"
        )
    _raw(db, guard, edit)


CORRUPTIONS: dict[str, tuple[Callable[[Database], None], str]] = {
    "wallet-cash": (
        lambda db: _edit(db, update(AIWallet).where(AIWallet.id == 1).values(cash=Decimal("1000000"))),
        "wallet 1: cash 1000000",
    ),
    "holding": (
        lambda db: _edit(
            db, update(TokenHolding).where(TokenHolding.wallet_id == 1).values(quantity=Decimal("5000"))
        ),
        "quantity 5000",
    ),
    "token-aum": (
        lambda db: _edit(db, update(StrategyToken).values(aum=StrategyToken.aum + Decimal("0.000001"))),
        "aum",
    ),
    "supply-cap": (
        lambda db: _edit(db, update(StrategyToken).values(total_supply=Decimal(150))),
        "outside [0, total_supply",
    ),
    "posting": (_drop_posting_guard_and_edit, "does not balance"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_check_invariants_detects_corruption(traded: Database, corruption: str) -> None:
    corrupt, expected = CORRUPTIONS[corruption]
    corrupt(traded)
    found = violations(traded)
    assert found, "a corrupted ledger passed the check"
    assert any(expected in v for v in found), found


def _arena_check(db: Database) -> tuple[int, dict[str, object]]:
    proc = subprocess.run(
        [*ARENA, "--db", db.engine.url.render_as_string(hide_password=False), "ledger", "check", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    return proc.returncode, json.loads(lines[-1])


def test_arena_ledger_check_cli(traded: Database) -> None:
    code, report = _arena_check(traded)
    assert (code, report) == (0, {"ok": True, "violations": []})
    _drop_posting_guard_and_edit(traded)
    code, report = _arena_check(traded)
    assert code == 1
    assert report["ok"] is False
    found = report["violations"]
    assert isinstance(found, list) and any("does not balance" in v for v in found)
    assert any("!= postings" in v for v in found)  # the account balance no longer matches either


def _plain(message: str) -> str:
    """A violation with its numbers written without trailing zeros (PostgreSQL reads 18 decimals)."""
    number = r"-?\d+(?:\.\d+)?E[-+]?\d+|-?\d+\.\d+"  # SQLite may read a zero back as 0E-18
    return re.sub(number, lambda m: canonical_text(Decimal(m.group())), message)


# The traded world, by hand: wallet 1 deposited 10,000, bought 300 units at NAV 1 and redeemed 100
# (cash 9,800, 200 units); the house wallet holds the token's 100 seed units (300 circulating of
# 1,000,000, so 999,700 unissued; the pool holds $300).
EXACT: dict[str, tuple[object, list[str]]] = {
    "negative-cash": (
        update(AIWallet).where(AIWallet.id == 1).values(cash=Decimal(-5)),
        ["wallet 1: cash -5 != ledger 9800", "wallet 1: negative cash -5"],
    ),
    "reserved-cash": (
        update(AIWallet).where(AIWallet.id == 1).values(cash_reserved=Decimal(7)),
        ["wallet 1: reserved cash 7 != ledger 0"],
    ),
    "negative-holding": (
        update(TokenHolding).where(TokenHolding.wallet_id == 1).values(quantity=Decimal(-1)),
        [
            "holding wallet 1 token 1 is negative",
            "holding wallet 1 token 1: quantity -1 != ledger 200",
            f"{SYM}: circulating 300 != holdings 99",  # 100 house units + (-1)
        ],
    ),
    "reserved-units": (
        update(TokenHolding).where(TokenHolding.wallet_id == 1).values(reserved=Decimal(3)),
        ["holding wallet 1 token 1: reserved 3 != ledger 0"],
    ),
    "circulating": (
        update(StrategyToken).values(circulating_supply=Decimal(301)),
        [f"{SYM}: circulating 301 != holdings 300", f"{SYM}: unissued 999700 != total_supply - circulating"],
    ),
    "over-cap": (
        update(StrategyToken).values(circulating_supply=Decimal(1000001)),
        [
            f"{SYM}: circulating 1000001 != holdings 300",
            f"{SYM}: circulating 1000001 outside [0, total_supply 1000000]",
            f"{SYM}: unissued 999700 != total_supply - circulating",
        ],
    ),
    "negative-circulating": (
        update(StrategyToken).values(circulating_supply=Decimal(-1)),
        [
            f"{SYM}: circulating -1 != holdings 300",
            f"{SYM}: circulating -1 outside [0, total_supply 1000000]",
            f"{SYM}: unissued 999700 != total_supply - circulating",
        ],
    ),
    "negative-aum": (
        update(StrategyToken).values(aum=Decimal(-1)),
        [f"{SYM}: aum -1 != pool account 300", f"{SYM}: negative aum -1"],
    ),
    "aum-under-a-dollar": (  # not negative: only the pool mismatch
        update(StrategyToken).values(aum=Decimal("0.5")),
        [f"{SYM}: aum 0.5 != pool account 300"],
    ),
    "aum-zero": (
        update(StrategyToken).values(aum=Decimal(0)),
        [f"{SYM}: aum 0 != pool account 300"],
    ),
    "holding-zero": (
        update(TokenHolding).where(TokenHolding.wallet_id == 1).values(quantity=Decimal(0)),
        ["holding wallet 1 token 1: quantity 0 != ledger 200", f"{SYM}: circulating 300 != holdings 100"],
    ),
    "holding-half": (
        update(TokenHolding).where(TokenHolding.wallet_id == 1).values(quantity=Decimal("0.5")),
        ["holding wallet 1 token 1: quantity 0.5 != ledger 200", f"{SYM}: circulating 300 != holdings 100.5"],
    ),
    "circulating-zero": (  # 0 is inside [0, total supply]
        update(StrategyToken).values(circulating_supply=Decimal(0)),
        [f"{SYM}: circulating 0 != holdings 300", f"{SYM}: unissued 999700 != total_supply - circulating"],
    ),
    "circulating-at-cap": (  # so is the total supply itself
        update(StrategyToken).values(circulating_supply=Decimal(1000000)),
        [
            f"{SYM}: circulating 1000000 != holdings 300",
            f"{SYM}: unissued 999700 != total_supply - circulating",
        ],
    ),
    "account": (
        update(LedgerAccount).where(LedgerAccount.code == "wallet:1:cash").values(balance=Decimal(-1)),
        [
            "account wallet:1:cash balance -1 != postings 9800",
            "account wallet:1:cash is negative: -1",
            "wallet 1: cash 9800 != ledger -1",
        ],
    ),
    "seed-account-may-be-negative": (
        # The house seed account is a PLATFORM_SEED account: negative is allowed, a mismatch is not.
        update(LedgerAccount)
        .where(LedgerAccount.kind == AccountKind.PLATFORM_SEED)
        .values(balance=Decimal(-7)),
        ["account {seed} balance -7 != postings {posted}"],
    ),
}


@pytest.mark.parametrize("corruption", sorted(EXACT))
def test_each_corruption_is_reported_exactly(traded: Database, corruption: str) -> None:
    edit, expected = EXACT[corruption]
    if corruption == "seed-account-may-be-negative":
        with traded.uow(read_only=True) as uow:
            seeds = uow.session.scalars(
                select(LedgerAccount).where(LedgerAccount.kind == AccountKind.PLATFORM_SEED)
            ).all()
            expected = [
                f"account {a.code} balance -7 != postings {canonical_text(a.balance)}" for a in seeds
            ]
    _edit(traded, edit)
    assert sorted(_plain(v) for v in violations(traded)) == sorted(expected)


def test_open_orders_reservations_keep_the_ledger_consistent(any_db: Database) -> None:
    """A bid reserves cash and an ask reserves units: the wallet's and the holding's reserved columns
    must equal their reserved accounts, and cash / quantity include them (free + reserved)."""
    from core import exchange
    from tests.support.exchange_world import SYM as MARKET
    from tests.support.exchange_world import sold_out_market

    market = sold_out_market(any_db)
    exchange.place_order(any_db.uow(), market.b, "bid", MARKET, "50", "1.00", idempotency_key=key())
    exchange.place_order(any_db.uow(), market.a, "ask", MARKET, "100", "1.05", idempotency_key=key())
    with any_db.uow(read_only=True) as uow:
        bidder = uow.session.get(AIWallet, market.b)
        asker = uow.session.scalars(select(TokenHolding).where(TokenHolding.wallet_id == market.a)).one()
        assert bidder is not None and (bidder.cash, bidder.cash_reserved) == (Decimal(10000), Decimal(50))
        assert (asker.quantity, asker.reserved) == (Decimal(300), Decimal(100))
    assert violations(any_db) == []
    _edit(any_db, update(AIWallet).where(AIWallet.id == market.b).values(cash_reserved=Decimal(49)))
    found = [_plain(v) for v in violations(any_db)]
    assert f"wallet {market.b}: reserved cash 49 != ledger 50" in found


def test_the_insurance_fund_must_equal_the_accrued_shares(traded: Database) -> None:
    """A year's management fee on the $300 pool is $3, of which 5 % ($0.15) goes to the insurance fund."""
    traded.clock.advance(timedelta(days=365))  # type: ignore[attr-defined]
    assert ledger.accrue_fees(traded.uow(), SYM, idempotency_key=key()) == Decimal(3)
    assert violations(traded) == []
    insurance = update(LedgerAccount).where(LedgerAccount.code == "platform:insurance")
    _edit(traded, insurance.values(balance=Decimal(1)))
    assert sorted(_plain(v) for v in violations(traded)) == [
        "account platform:insurance balance 1 != postings 0.15",
        "insurance fund 1 != accrued 0.15",
    ]


def test_a_posting_filed_under_another_asset_is_named(traded: Database) -> None:
    with traded.uow(read_only=True) as uow:
        last = uow.session.scalars(select(Posting).order_by(Posting.id.desc()).limit(1)).one()
        account = uow.session.get(LedgerAccount, last.account_id)
        assert account is not None and account.asset == last.asset == "USD"
        txn, code, amount, posting_id = last.transaction_id, account.code, last.amount, last.id
    edit = f"UPDATE postings SET asset = 'EUR' WHERE id = {posting_id}"
    if traded.engine.dialect.name == "sqlite":
        _raw(traded, "DROP TRIGGER postings_no_update", edit)
    else:
        _raw(traded, "ALTER TABLE postings DISABLE TRIGGER postings_append_only", edit)
    found = [_plain(v) for v in violations(traded)]
    assert f"posting in transaction {txn} has asset EUR but account {code} holds USD" in found
    assert f"transaction {txn} does not balance in EUR: {canonical_text(amount)}" in found
    assert f"transaction {txn} does not balance in USD: {canonical_text(-amount)}" in found
