"""Wallets and cash (``core.ledger.cash``) on SQLite and PostgreSQL, with the exact one-line refusals
and the exact postings: a deposit moves the amount from ``external:cash`` to the wallet's cash
account, a withdrawal back; a wallet may spend down to exactly zero of its free cash."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, update

from core import ledger
from core.billing.plans import PlanLimit
from core.db import Database
from core.errors import InsufficientCash, NotFound, ValidationError
from core.ledger.cash import create_wallet_in, house_wallet
from core.models import AIWallet, AuditLog, LedgerAccount, LedgerTransaction, Posting, WalletOwner
from tests.support.ledger_world import account_balance, key, make_org, make_user, snapshot, violations

pytestmark = pytest.mark.usefixtures("pure_ledger")


def create(db: Database, org: int, **kwargs: object) -> int:
    created = ledger.create_wallet(db.uow(), organisation_id=org, idempotency_key=key("w"), **kwargs)  # type: ignore[arg-type]
    return created.wallet_id


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "  "}, ValidationError, "wallet name must be 1-200 characters"),
        ({"name": "x" * 201}, ValidationError, "wallet name must be 1-200 characters"),
        ({"name": "Main", "mode": "auto"}, ValidationError,
         "unknown wallet mode 'auto'; choose one of: full_ai, hybrid, manual"),
        ({"name": "Main", "tier": "gold"}, ValidationError,
         "unknown tier 'gold'; choose one of: free, basic, premium"),
        ({"name": "Main", "owner_user_ids": [999]}, NotFound, "user 999 does not exist"),
        ({"name": "Main", "mode": "full_ai"}, PlanLimit, "the Free plan is manual only"),
    ],
)
def test_a_bad_wallet_is_refused_in_one_line_and_writes_nothing(
    any_db: Database, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    org = make_org(any_db)
    before = snapshot(any_db)
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        create(any_db, org, **kwargs)
    assert snapshot(any_db) == before


def test_an_unknown_organisation_is_refused(any_db: Database) -> None:
    with pytest.raises(NotFound, match=r"^organisation 999 does not exist$"):
        create(any_db, 999, name="Main")


def test_a_new_wallet_has_its_owners_its_cash_account_and_an_audit_row(any_db: Database) -> None:
    org = make_org(any_db)
    alice, bob = make_user(any_db, 101, org), make_user(any_db, 102, org)
    created = ledger.create_wallet(
        any_db.uow(), organisation_id=org, name="  Building fund ", idempotency_key=key("w"),
        mode="hybrid", tier="basic", owner_user_ids=[bob, alice, bob],
    )
    assert (created.organisation_id, created.name, created.mode, created.tier) == (
        org, "Building fund", "hybrid", "basic"
    )
    wallet = created.wallet_id
    with any_db.uow(read_only=True) as uow:
        owners = uow.session.scalars(select(WalletOwner.user_id).where(WalletOwner.wallet_id == wallet))
        assert sorted(owners) == [alice, bob]  # the duplicate owner is listed once
        account = uow.session.scalars(
            select(LedgerAccount).where(LedgerAccount.code == f"wallet:{wallet}:cash")
        ).one()
        assert (account.wallet_id, account.asset, account.balance) == (wallet, "USD", 0)
        audit = uow.session.scalars(select(AuditLog).where(AuditLog.action == "wallet.create")).one()
        assert (audit.actor, audit.subject, audit.details) == (
            "system", f"wallet:{wallet}", {"mode": "hybrid", "tier": "basic"}
        )
        stored = uow.session.get(AIWallet, wallet)
        assert stored is not None and (stored.cash, stored.is_house) == (0, False)


def test_a_deposit_and_a_withdrawal_to_the_cent(any_db: Database) -> None:
    wallet = create(any_db, make_org(any_db), name="Main")
    moved = ledger.deposit(any_db.uow(), wallet, "1,000.50", idempotency_key=key())
    assert (moved.wallet_id, moved.amount, moved.cash_balance) == (wallet, D("1000.5"), D("1000.5"))
    out = ledger.withdraw(any_db.uow(), wallet, "250.25", idempotency_key=key())
    assert (out.wallet_id, out.amount, out.cash_balance) == (wallet, D("250.25"), D("750.25"))
    assert account_balance(any_db, f"wallet:{wallet}:cash") == D("750.25")
    assert account_balance(any_db, "external:cash") == D("-750.25")
    with any_db.uow(read_only=True) as uow:
        legs = uow.session.execute(
            select(Posting.transaction_id, Posting.amount).order_by(Posting.id)
        ).all()
    by_txn: dict[int, list[D]] = {}
    for txn, amount in legs:
        by_txn.setdefault(txn, []).append(amount)
    assert sorted(by_txn[moved.transaction_id]) == [D("-1000.5"), D("1000.5")]
    assert sorted(by_txn[out.transaction_id]) == [D("-250.25"), D("250.25")]
    # Everything that is left may leave: exactly zero remains.
    assert ledger.withdraw(any_db.uow(), wallet, "750.25", idempotency_key=key()).cash_balance == 0
    assert violations(any_db) == []


def test_a_withdrawal_beyond_the_cash_is_refused_with_the_balance(any_db: Database) -> None:
    wallet = create(any_db, make_org(any_db), name="Main")
    ledger.deposit(any_db.uow(), wallet, "100", idempotency_key=key())
    before = snapshot(any_db)
    message = f"cannot withdraw $100.01: wallet {wallet} has $100.00 cash"
    with pytest.raises(InsufficientCash, match=f"^{re.escape(message)}$"):
        ledger.withdraw(any_db.uow(), wallet, "100.01", idempotency_key=key())
    assert snapshot(any_db) == before


def test_reserved_cash_cannot_be_withdrawn(any_db: Database) -> None:
    wallet = create(any_db, make_org(any_db), name="Main")
    ledger.deposit(any_db.uow(), wallet, "100", idempotency_key=key())
    with any_db.engine.begin() as conn:  # as if an open bid held $40 (set up behind the exchange)
        conn.execute(update(AIWallet).where(AIWallet.id == wallet).values(cash_reserved=D(40)))
    message = (
        f"cannot withdraw $60.01: wallet {wallet} has $60.00 cash free (the rest is reserved by open orders)"
    )
    with pytest.raises(InsufficientCash, match=f"^{re.escape(message)}$"):
        ledger.withdraw(any_db.uow(), wallet, "60.01", idempotency_key=key())
    assert ledger.withdraw(any_db.uow(), wallet, "60", idempotency_key=key()).cash_balance == D(40)


def test_cash_transactions_are_filed_under_their_kind_wallet_and_key(any_db: Database) -> None:
    wallet = create(any_db, make_org(any_db), name="Main")
    k_in, k_out = key("d"), key("x")
    moved = ledger.deposit(any_db.uow(), wallet, "10", idempotency_key=k_in)
    out = ledger.withdraw(any_db.uow(), wallet, "4", idempotency_key=k_out)
    with any_db.uow(read_only=True) as uow:
        filed = {
            t.id: (t.kind, t.wallet_id, t.idempotency_key)
            for t in uow.session.scalars(
                select(LedgerTransaction).where(
                    LedgerTransaction.id.in_([moved.transaction_id, out.transaction_id])
                )
            )
        }
    assert filed == {
        moved.transaction_id: ("deposit", wallet, k_in),
        out.transaction_id: ("withdraw", wallet, k_out),
    }


def test_names_of_exactly_200_characters_pass_and_an_empty_name_does_not(any_db: Database) -> None:
    org = make_org(any_db)
    created = ledger.create_wallet(any_db.uow(), organisation_id=org, name="n" * 200, idempotency_key=key())
    assert created.name == "n" * 200
    with pytest.raises(ValidationError, match=r"^wallet name must be 1-200 characters$"):
        create(any_db, org, name="")


def test_only_the_house_wallet_may_have_no_organisation(any_db: Database) -> None:
    orphan = r"^a wallet belongs to an organisation; register one first \(/org\)$"
    with any_db.uow() as uow, pytest.raises(ValidationError, match=orphan):
        create_wallet_in(uow.session, uow.clock.now(), organisation_id=None, name="Orphan")
    with any_db.uow() as uow:
        first = house_wallet(uow.session, uow.clock.now())
        assert (first.is_house, first.organisation_id, first.cash) == (True, None, 0)
        uow.commit()
    with any_db.uow() as uow:
        assert house_wallet(uow.session, uow.clock.now()).id == first.id  # created once, then found
        assert uow.session.scalar(select(func.count()).select_from(AIWallet)) == 1
