"""The posting engine: balanced transactions, append-only postings, locked balance updates.

Every change to money goes through :class:`LedgerWriter`. A transaction's postings must sum to zero
per asset (checked before anything is written). Balances of the touched accounts are updated at
:meth:`LedgerWriter.flush`, after locking all of them at once in ascending id order through
:func:`core.ledger.locks.lock_accounts` — the last step of the global lock order (tokens, wallets,
accounts), so concurrent writers on PostgreSQL cannot deadlock. One writer per transaction, one
flush at its end: several trades (a rebalance, a queue release, a wind-down) share one writer.
Each transaction joins the ledger's hash chain (:mod:`core.audit.chain`): encoded when posted,
hashed onto the chain head just before the session commits — the head is the very last lock.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.audit import chain
from core.errors import ArenaError
from core.ledger.locks import lock_accounts
from core.models import (
    CASH_ASSET,
    AccountKind,
    LedgerAccount,
    LedgerTransaction,
    Posting,
)
from core.models.ledger import NEGATIVE_ALLOWED
from core.money import ledger_context

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


def wallet_cash_reserved_code(wallet_id: int) -> str:
    """Cash locked by the wallet's open exchange bids (its free cash is ``wallet_cash_code``)."""
    return f"wallet:{wallet_id}:cash:reserved"


def wallet_tokens_reserved_code(wallet_id: int, token_id: int) -> str:
    """Units locked by the wallet's open exchange asks (its free units are ``wallet_tokens_code``)."""
    return f"wallet:{wallet_id}:token:{token_id}:reserved"


SYSTEM_ACCOUNTS: dict[str, AccountKind] = {
    "external:cash": AccountKind.EXTERNAL,
    "platform:fees": AccountKind.FEE_INCOME,
    "platform:plan_revenue": AccountKind.FEE_INCOME,  # subscription plan charges (core.billing)
    "platform:insurance": AccountKind.INSURANCE_FUND,
    "platform:seed": AccountKind.PLATFORM_SEED,
    "platform:trading_costs": AccountKind.TRADING_COSTS,
    "market:strategy_pnl": AccountKind.STRATEGY_PNL,
}


def get_account(session: Session, code: str) -> LedgerAccount | None:
    """The ORM row (with its balance) for reports and checks; trades use :func:`ensure_account`."""
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one_or_none()


@dataclass(frozen=True, slots=True)
class AccountRef:
    """What a posting needs to know about an account; immutable once the account exists."""

    id: int
    code: str
    kind: AccountKind
    asset: str


# Account ids never change and accounts are never deleted, so (engine, code) -> id is cached for
# the process. Only accounts *found* (hence committed by someone) are cached; one created by the
# current transaction is not, because that transaction may still roll back.
_ACCOUNT_CACHE: weakref.WeakKeyDictionary[Engine, dict[str, AccountRef]] = weakref.WeakKeyDictionary()
_CREATED_KEY = "arena_created_accounts"
ACCOUNTS = cast(Table, LedgerAccount.__table__)
TRANSACTIONS = cast(Table, LedgerTransaction.__table__)
POSTINGS = cast(Table, Posting.__table__)


# Built once: constructing a statement (and its cache key) per call was a visible share of a
# trade's CPU. Parameters are passed at execution.
_TXN_INSERT = insert(TRANSACTIONS).returning(TRANSACTIONS.c.id)
_POSTINGS_INSERT = insert(POSTINGS)
_FIND_ACCOUNT = select(ACCOUNTS.c.id, ACCOUNTS.c.kind, ACCOUNTS.c.asset).where(
    ACCOUNTS.c.code == bindparam("code")
)
_CREATE_ACCOUNT_PG = (
    pg_insert(ACCOUNTS)
    .on_conflict_do_nothing(index_elements=["code"])
    .returning(ACCOUNTS.c.id, ACCOUNTS.c.kind, ACCOUNTS.c.asset)
)
_CREATE_ACCOUNT_SQLITE = (
    sqlite_insert(ACCOUNTS)
    .on_conflict_do_nothing(index_elements=["code"])
    .returning(ACCOUNTS.c.id, ACCOUNTS.c.kind, ACCOUNTS.c.asset)
)
_SET_BALANCE = (
    update(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("account_id")).values(balance=bindparam("new_balance"))
)


def _cache_for(session: Session) -> dict[str, AccountRef]:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    cache = _ACCOUNT_CACHE.get(engine)
    if cache is None:
        cache = _ACCOUNT_CACHE[engine] = {}
    return cache


def ensure_account(
    session: Session,
    code: str,
    *,
    kind: AccountKind,
    asset: str,
    now: datetime,
    wallet_id: int | None = None,
    token_id: int | None = None,
    likely_new: bool = False,
) -> AccountRef:
    """Return the account with ``code``, creating it (balance 0) if it does not exist yet.

    Creation is ``INSERT ... ON CONFLICT DO NOTHING`` so two transactions creating the same account
    (e.g. a system account on first use) do not fail each other. ``likely_new`` (a hint, e.g. the
    wallet has no holding of the token yet) tries the insert before looking the code up.
    """
    cache = _cache_for(session)
    ref = cache.get(code)
    if ref is not None:
        return ref
    conn = session.connection()
    created: set[str] = session.info.setdefault(_CREATED_KEY, set())
    row = None if likely_new else conn.execute(_FIND_ACCOUNT, {"code": code}).first()
    if row is None:
        create = _CREATE_ACCOUNT_PG if conn.dialect.name == "postgresql" else _CREATE_ACCOUNT_SQLITE
        row = conn.execute(
            create,
            {
                "code": code,
                "kind": kind,
                "asset": asset,
                "wallet_id": wallet_id,
                "token_id": token_id,
                "balance": ZERO,
                "created_at": now,
            },
        ).first()
        if row is not None:
            created.add(code)
        else:  # it exists (a concurrent transaction committed it first): RETURNING gives no row
            row = conn.execute(_FIND_ACCOUNT, {"code": code}).one()
    ref = AccountRef(row.id, code, AccountKind(row.kind), row.asset)
    if code not in created:
        cache[code] = ref
    return ref


def system_account(session: Session, code: str, now: datetime) -> AccountRef:
    return ensure_account(session, code, kind=SYSTEM_ACCOUNTS[code], asset=CASH_ASSET, now=now)


# --- writer --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    account: AccountRef
    amount: Decimal  # signed: + into the account, - out of it


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int


class LedgerWriter:
    """Collects balanced transactions for one unit of work and applies their balance changes.

    Postings go in with one multi-row INSERT per transaction (the transaction id is needed at once:
    fee accruals, NAV marks and trade replies refer to it); balances with one locked SELECT of every
    touched account (ascending id) and one executemany UPDATE at :meth:`flush` (SQLAlchemy Core:
    the ORM's per-object bookkeeping was most of a trade's cost).

    Flush **once per transaction**, at its end: the accounts are the last rows a transaction locks
    (:mod:`core.ledger.locks`), and a second flush touching a lower account id is refused as an
    order violation. Several trades share one writer (``buy_in(..., writer=w)``). Inside a savepoint
    that may roll back, take :meth:`checkpoint` first and :meth:`restore` it after the rollback.

    The hash chain over ledger transactions (:mod:`core.audit.chain`) is sealed at commit, not at
    flush: a transaction may use more than one writer (an order cancelled, then a wind-down), and
    work after a flush (order and holding rows) must not run while the hot chain head is held.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._deltas: dict[int, Decimal] = defaultdict(lambda: ZERO)
        self._accounts: dict[int, AccountRef] = {}
        #: transactions posted since the last flush, oldest first (what :meth:`_seal` chains)
        self.posted: list[PostedRecord] = []

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
    ) -> PostedTransaction:
        """Record one balanced transaction (zero legs are dropped)."""
        legs = [leg for leg in legs if leg.amount != 0]
        _check_balanced(kind, legs)
        conn = self.session.connection()
        txn_id = conn.execute(
            _TXN_INSERT,
            {
                "kind": kind,
                "created_at": self.now,
                "idempotency_key": idempotency_key,
                "wallet_id": wallet_id,
                "token_id": token_id,
                "memo": memo,
                "details": details,
            },
        ).scalar_one()
        if legs:
            conn.execute(
                _POSTINGS_INSERT,
                [
                    {
                        "transaction_id": txn_id,
                        "account_id": leg.account.id,
                        "asset": leg.account.asset,
                        "amount": leg.amount,
                    }
                    for leg in legs
                ],
            )
        deltas = self._deltas
        with localcontext(ledger_context()):  # 60 digits: a balance may exceed Python's default 28
            for leg in legs:
                deltas[leg.account.id] += leg.amount
                self._accounts[leg.account.id] = leg.account
        self.posted.append(PostedRecord(txn_id, kind, tuple(legs)))
        # The hash chain: encoded now, hashed onto the chain head just before commit.
        encoding = chain.canonical_transaction(
            txn_id=txn_id, kind=kind, created_at=self.now, idempotency_key=idempotency_key,
            wallet_id=wallet_id, token_id=token_id, memo=memo, details=details,
            postings=[(leg.account.id, leg.account.code, leg.account.asset, leg.amount) for leg in legs],
        )
        chain.record(self.session, txn_id, encoding, self.now)
        return PostedTransaction(txn_id)

    def checkpoint(self) -> WriterCheckpoint:
        """The pending balance changes now, to :meth:`restore` after a savepoint rollback."""
        return WriterCheckpoint(dict(self._deltas), len(self.posted))

    def restore(self, mark: WriterCheckpoint) -> None:
        """Forget what was posted since ``mark`` (its rows were rolled back with the savepoint)."""
        self._deltas = defaultdict(lambda: ZERO, mark.deltas)
        del self.posted[mark.posted:]

    def flush(self) -> None:
        """Lock touched accounts in id order, apply the deltas, refuse negative balances."""
        ids = sorted(i for i, d in self._deltas.items() if d != 0)
        if ids:
            rows = lock_accounts(self.session, ids)
            updates = []
            for row in rows:
                with localcontext(ledger_context()):  # exact: never rounded at 28 digits
                    new_balance = row.balance + self._deltas[row.id]
                if new_balance < 0 and AccountKind(row.kind) not in NEGATIVE_ALLOWED:
                    raise NegativeBalance(f"account {row.code} would go negative ({new_balance} {row.asset})")
                updates.append({"account_id": row.id, "new_balance": new_balance})
            self.session.connection().execute(_SET_BALANCE, updates)
        self._deltas.clear()
        self.posted = []


@dataclass(frozen=True, slots=True)
class PostedRecord:
    """A transaction posted by a writer and not yet flushed (what the hash chain will cover)."""

    id: int
    kind: str
    legs: tuple[Leg, ...]


@dataclass(frozen=True, slots=True)
class WriterCheckpoint:
    deltas: dict[int, Decimal]
    posted: int


def _check_balanced(kind: str, legs: Iterable[Leg]) -> None:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for leg in legs:
        if not leg.amount.is_finite():
            raise LedgerImbalance(f"{kind}: non-finite posting amount {leg.amount}")
        totals[leg.account.asset] += leg.amount
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        raise LedgerImbalance(f"{kind}: postings do not sum to zero per asset: {unbalanced}")
