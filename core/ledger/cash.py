"""Wallets and cash: create a wallet for an organisation, deposit and withdraw USD.

Amounts are USD with at most 6 decimals (see :mod:`core.money`). Deposits come from the
``external:cash`` account (the outside world), withdrawals return there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.billing.plans import check_mode
from core.db import UnitOfWork
from core.errors import InsufficientCash, NotFound, ValidationError
from core.formatting import cash as fmt_cash
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import lock_wallet
from core.ledger.postings import (
    AccountRef,
    LedgerWriter,
    Leg,
    ensure_account,
    system_account,
    wallet_cash_code,
)
from core.ledger.results import CashMoved, WalletCreated
from core.models import (
    CASH_ASSET,
    AccountKind,
    AIWallet,
    AuditLog,
    Organisation,
    Tier,
    User,
    WalletMode,
    WalletOwner,
)
from core.money import parse_cash

HOUSE_WALLET_NAME = "Treasury Arena house wallet (token seeds)"
#: Fixed key of the advisory lock that makes the house wallet's creation single (PostgreSQL).
HOUSE_WALLET_LOCK = 4_152_883_114_002


E = TypeVar("E", WalletMode, Tier)


def _parse_enum(cls: type[E], value: str | E, what: str) -> E:
    try:
        return cls(value)
    except ValueError:
        options = ", ".join(m.value for m in cls)
        raise ValidationError(f"unknown {what} {value!r}; choose one of: {options}") from None


def wallet_cash_account(session: Session, wallet: AIWallet, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        wallet_cash_code(wallet.id),
        kind=AccountKind.WALLET_CASH,
        asset=CASH_ASSET,
        wallet_id=wallet.id,
        now=now,
    )


def create_wallet_in(
    session: Session,
    now: datetime,
    *,
    organisation_id: int | None,
    name: str,
    mode: str | WalletMode = WalletMode.MANUAL,
    tier: str | Tier = Tier.FREE,
    owner_user_ids: list[int] | None = None,
    is_house: bool = False,
) -> AIWallet:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 200:
        raise ValidationError("wallet name must be 1-200 characters")
    wallet_mode = _parse_enum(WalletMode, mode, "wallet mode")
    wallet_tier = _parse_enum(Tier, tier, "tier")
    check_mode(wallet_tier, wallet_mode)
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id} does not exist")
    if organisation_id is None and not is_house:
        raise ValidationError("a wallet belongs to an organisation; register one first (/org)")
    wallet = AIWallet(
        organisation_id=organisation_id,
        name=cleaned,
        mode=wallet_mode,
        tier=wallet_tier,
        cash=Decimal(0),
        is_house=is_house,
        created_at=now,
    )
    session.add(wallet)
    session.flush()
    for user_id in sorted(set(owner_user_ids or [])):
        if session.get(User, user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        session.add(WalletOwner(wallet_id=wallet.id, user_id=user_id))
    wallet_cash_account(session, wallet, now)
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="wallet.create",
            subject=f"wallet:{wallet.id}",
            details={"mode": wallet_mode.value, "tier": wallet_tier.value},
        )
    )
    return wallet


def house_wallet(session: Session, now: datetime) -> AIWallet:
    """The platform's own wallet that holds each token's seed units (created on first use)."""
    query = select(AIWallet).where(AIWallet.is_house.is_(True)).order_by(AIWallet.id)
    wallet = session.scalars(query).first()
    if wallet is None and session.get_bind().dialect.name == "postgresql":
        # No unique key makes it single: two first tokenizations at once both created one. The
        # first creator takes this transaction-scoped lock; the second waits, then finds its
        # wallet (SQLite's write lock serialises them already). Only ever taken on first use.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": HOUSE_WALLET_LOCK})
        wallet = session.scalars(query.execution_options(populate_existing=True)).first()
    if wallet is None:
        wallet = create_wallet_in(session, now, organisation_id=None, name=HOUSE_WALLET_NAME, is_house=True)
    return wallet


def create_wallet(
    uow: UnitOfWork,
    *,
    organisation_id: int,
    name: str,
    idempotency_key: str,
    mode: str = "manual",
    tier: str = "free",
    owner_user_ids: list[int] | None = None,
) -> WalletCreated:
    """Create a wallet (with its cash account) for an organisation."""
    request = {
        "organisation_id": organisation_id,
        "name": name,
        "mode": str(mode),
        "tier": str(tier),
        "owners": sorted(owner_user_ids or []),
    }

    def effect(session: Session) -> dict[str, object]:
        wallet = create_wallet_in(
            session,
            uow.clock.now(),
            organisation_id=organisation_id,
            name=name,
            mode=mode,
            tier=tier,
            owner_user_ids=owner_user_ids,
        )
        return WalletCreated(
            wallet.id, wallet.organisation_id, wallet.name, wallet.mode.value, wallet.tier.value
        ).to_dict()

    return run_idempotent(uow, idempotency_key, "wallet.create", request, effect, WalletCreated.from_dict)


def deposit_in(
    session: Session,
    now: datetime,
    wallet_id: int,
    amount: Decimal,
    idempotency_key: str | None = None,
    *,
    writer: LedgerWriter | None = None,
) -> CashMoved:
    """Deposit inside the caller's transaction; with a caller's ``writer`` (several deposits, their
    wallets locked up front) the balances wait for the caller's flush."""
    wallet = lock_wallet(session, wallet_id)
    own_writer = writer is None
    writer = writer or LedgerWriter(session, now)
    txn = writer.post(
        "deposit",
        [
            Leg(wallet_cash_account(session, wallet, now), amount),
            Leg(system_account(session, "external:cash", now), -amount),
        ],
        idempotency_key=idempotency_key,
        wallet_id=wallet.id,
    )
    if own_writer:
        writer.flush()
    wallet.cash += amount
    return CashMoved(wallet.id, amount, wallet.cash, txn.id)


def deposit(uow: UnitOfWork, wallet_id: int, amount: object, *, idempotency_key: str) -> CashMoved:
    """Add USD to a wallet from outside the platform."""
    value = parse_cash(amount)

    def effect(session: Session) -> dict[str, object]:
        return deposit_in(session, uow.clock.now(), wallet_id, value, idempotency_key).to_dict()

    return run_idempotent(
        uow,
        idempotency_key,
        "cash.deposit",
        {"wallet": wallet_id, "amount": value},
        effect,
        CashMoved.from_dict,
    )


def withdraw_in(
    session: Session, now: datetime, wallet_id: int, amount: Decimal, idempotency_key: str | None = None
) -> CashMoved:
    wallet = lock_wallet(session, wallet_id)
    if wallet.cash - wallet.cash_reserved < amount:  # cash reserved by open exchange bids stays put
        raise InsufficientCash(
            f"cannot withdraw {fmt_cash(amount)}: wallet {wallet.id} has "
            f"{fmt_cash(wallet.cash - wallet.cash_reserved)} cash"
            + (" free (the rest is reserved by open orders)" if wallet.cash_reserved else "")
        )
    writer = LedgerWriter(session, now)
    txn = writer.post(
        "withdraw",
        [
            Leg(wallet_cash_account(session, wallet, now), -amount),
            Leg(system_account(session, "external:cash", now), amount),
        ],
        idempotency_key=idempotency_key,
        wallet_id=wallet.id,
    )
    writer.flush()
    wallet.cash -= amount
    return CashMoved(wallet.id, amount, wallet.cash, txn.id)


def withdraw(uow: UnitOfWork, wallet_id: int, amount: object, *, idempotency_key: str) -> CashMoved:
    """Send USD out of a wallet; refused when the wallet does not hold enough cash."""
    value = parse_cash(amount)

    def effect(session: Session) -> dict[str, object]:
        return withdraw_in(session, uow.clock.now(), wallet_id, value, idempotency_key).to_dict()

    return run_idempotent(
        uow,
        idempotency_key,
        "cash.withdraw",
        {"wallet": wallet_id, "amount": value},
        effect,
        CashMoved.from_dict,
    )
