"""The posting engine: balanced transactions, append-only postings, locked balance updates.

Every change to money goes through :class:`LedgerWriter`. A transaction's postings must sum to zero
per asset (checked before anything is written). Balances of the touched accounts are updated at
:meth:`LedgerWriter.flush`, after locking all of them at once in ascending id order — a fixed
global lock order, so concurrent writers on PostgreSQL cannot deadlock on accounts. Entity rows
(tokens, then wallets, each by id) are locked by the services *before* any account row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ArenaError
from core.models import (
    CASH_ASSET,
    AccountKind,
    LedgerAccount,
    LedgerTransaction,
    Posting,
)
from core.models.ledger import NEGATIVE_ALLOWED

ZERO = Decimal(0)


class LedgerImbalance(ArenaError):
    """A transaction whose legs do not sum to zero per asset: a programming error, never user input."""

    code = "ledger_imbalance"


class NegativeBalance(ArenaError):
    code = "negative_balance"


# --- account codes -----------------------------------------------------------------------------


def wallet_cash_code(wallet_id: int) -> str:
    return f"wallet:{wallet_id}:cash"


def wallet_tokens_code(wallet_id: int, token_id: int) -> str:
    return f"wallet:{wallet_id}:token:{token_id}"


def token_pool_code(token_id: int) -> str:
    return f"token:{token_id}:pool"


def token_unissued_code(token_id: int) -> str:
    return f"token:{token_id}:unissued"


SYSTEM_ACCOUNTS: dict[str, AccountKind] = {
    "external:cash": AccountKind.EXTERNAL,
    "platform:fees": AccountKind.FEE_INCOME,
    "platform:insurance": AccountKind.INSURANCE_FUND,
    "platform:seed": AccountKind.PLATFORM_SEED,
    "platform:trading_costs": AccountKind.TRADING_COSTS,
    "market:strategy_pnl": AccountKind.STRATEGY_PNL,
}


def get_account(session: Session, code: str) -> LedgerAccount | None:
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one_or_none()


def ensure_account(
    session: Session,
    code: str,
    *,
    kind: AccountKind,
    asset: str,
    now: datetime,
    wallet_id: int | None = None,
    token_id: int | None = None,
) -> LedgerAccount:
    """Return the account with ``code``, creating it (balance 0) if it does not exist yet."""
    account = get_account(session, code)
    if account is None:
        account = LedgerAccount(
            code=code,
            kind=kind,
            asset=asset,
            wallet_id=wallet_id,
            token_id=token_id,
            balance=ZERO,
            created_at=now,
        )
        session.add(account)
        session.flush()
    return account


def system_account(session: Session, code: str, now: datetime) -> LedgerAccount:
    return ensure_account(session, code, kind=SYSTEM_ACCOUNTS[code], asset=CASH_ASSET, now=now)


# --- writer --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount: Decimal  # signed: + into the account, - out of it


class LedgerWriter:
    """Collects balanced transactions for one unit of work and applies their balance changes."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._deltas: dict[int, Decimal] = defaultdict(lambda: ZERO)
        self._accounts: dict[int, LedgerAccount] = {}

    def post(
        self,
        kind: str,
        legs: Sequence[Leg],
        *,
        idempotency_key: str | None = None,
        wallet_id: int | None = None,
        token_id: int | None = None,
        memo: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> LedgerTransaction:
        """Record one balanced transaction (zero legs are dropped; nothing left = no transaction)."""
        legs = [leg for leg in legs if leg.amount != 0]
        _check_balanced(kind, legs)
        txn = LedgerTransaction(
            kind=kind,
            created_at=self.now,
            idempotency_key=idempotency_key,
            wallet_id=wallet_id,
            token_id=token_id,
            memo=memo,
            details=details,
        )
        self.session.add(txn)
        self.session.flush()
        for leg in legs:
            if leg.account.id is None:
                self.session.flush()
            self.session.add(
                Posting(
                    transaction_id=txn.id,
                    account_id=leg.account.id,
                    asset=leg.account.asset,
                    amount=leg.amount,
                )
            )
            self._deltas[leg.account.id] += leg.amount
            self._accounts[leg.account.id] = leg.account
        return txn

    def flush(self) -> None:
        """Lock touched accounts in id order, apply the deltas, refuse negative balances."""
        ids = sorted(i for i, d in self._deltas.items() if d != 0)
        if not ids:
            self._deltas.clear()
            return
        locked = {
            a.id: a
            for a in self.session.scalars(
                select(LedgerAccount)
                .where(LedgerAccount.id.in_(ids))
                .order_by(LedgerAccount.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        for account_id in ids:
            account = locked[account_id]
            new_balance = account.balance + self._deltas[account_id]
            if new_balance < 0 and account.kind not in NEGATIVE_ALLOWED:
                raise NegativeBalance(
                    f"account {account.code} would go negative ({new_balance} {account.asset})"
                )
            account.balance = new_balance
        self._deltas.clear()
        self.session.flush()


def _check_balanced(kind: str, legs: Iterable[Leg]) -> None:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for leg in legs:
        if not leg.amount.is_finite():
            raise LedgerImbalance(f"{kind}: non-finite posting amount {leg.amount}")
        totals[leg.account.asset] += leg.amount
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        raise LedgerImbalance(f"{kind}: postings do not sum to zero per asset: {unbalanced}")
