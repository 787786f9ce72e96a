"""Ledger history for statements: balances and NAV at any moment, movements over a period.

Everything here is read from the postings themselves, never from cached balances, so a statement
reconciles with the ledger by construction: the balance of an account at time ``t`` is the sum of
its postings in transactions created before ``t``. A token's NAV at ``t`` is its pool (USD) over its
circulating units (``total_supply`` minus the unissued account), rounded down to ``NAV_QUANTUM``
like :func:`core.ledger.fees.refresh_nav`. Amounts are summed in Python (SQLite stores them as text).

A wallet's holdings are its free and reserved accounts together (``cash`` = free + reserved cash,
units = free + reserved units), as everywhere else in the platform; moving cash or units between
a wallet's free and reserved accounts is therefore not a movement.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AccountKind, LedgerAccount, LedgerTransaction, Posting, StrategyToken
from core.money import NAV_QUANTUM, ZERO, div, round_down

CASH_KINDS = (AccountKind.WALLET_CASH, AccountKind.WALLET_CASH_RESERVED)
UNIT_KINDS = (AccountKind.WALLET_TOKENS, AccountKind.WALLET_TOKENS_RESERVED)


@dataclass(slots=True)
class Position:
    """A set of wallets' cash (USD) and units per token id at one moment."""

    cash: Decimal = ZERO
    units: dict[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger transaction as the wallets saw it: their cash change and unit changes."""

    txn_id: int
    kind: str
    at: datetime
    cash: Decimal  # USD into the wallets (negative: out of them)
    units: dict[int, Decimal]  # token id -> units into the wallets
    counterparties: dict[AccountKind, Decimal]  # other accounts' USD legs, by kind
    token_id: int | None
    details: dict[str, object] | None


def wallet_postings(
    session: Session, wallet_ids: list[int], before: datetime
) -> list[tuple[int, str, datetime, AccountKind, int | None, Decimal, dict[str, object] | None, int | None]]:
    """Every posting on the wallets' own accounts in transactions created before ``before``,
    oldest first: (txn id, kind, at, account kind, token id, amount, details, txn token id)."""
    rows = session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.kind,
            LedgerTransaction.created_at,
            LedgerAccount.kind,
            LedgerAccount.token_id,
            Posting.amount,
            LedgerTransaction.details,
            LedgerTransaction.token_id,
        )
        .join(Posting, Posting.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(
            LedgerAccount.wallet_id.in_(wallet_ids),
            LedgerAccount.kind.in_(CASH_KINDS + UNIT_KINDS),
            LedgerTransaction.created_at < before,
        )
        .order_by(LedgerTransaction.id, Posting.id)
    ).all()
    return [(r[0], r[1], r[2], AccountKind(r[3]), r[4], r[5], r[6], r[7]) for r in rows]


def position_at(session: Session, wallet_ids: list[int], at: datetime) -> Position:
    """The wallets' cash and units (free + reserved) just before ``at``."""
    pos = Position()
    units: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for _, _, _, kind, token_id, amount, _, _ in wallet_postings(session, wallet_ids, at):
        if kind in CASH_KINDS:
            pos.cash += amount
        elif token_id is not None:
            units[token_id] += amount
    pos.units = {t: q for t, q in units.items() if q != 0}
    return pos


@dataclass(slots=True)
class _Builder:
    kind: str
    at: datetime
    token_id: int | None
    details: dict[str, object] | None
    cash: Decimal = ZERO
    units: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))


def movements(session: Session, wallet_ids: list[int], start: datetime, end: datetime) -> list[Movement]:
    """The wallets' ledger transactions created in ``[start, end)``, oldest first; transactions that
    only move value between a wallet's free and reserved accounts are left out."""
    per_txn: dict[int, _Builder] = {}
    for txn_id, kind, at, acct_kind, token_id, amount, details, txn_token in wallet_postings(
        session, wallet_ids, end
    ):
        if at < start:
            continue
        entry = per_txn.setdefault(txn_id, _Builder(kind, at, txn_token, details))
        if acct_kind in CASH_KINDS:
            entry.cash += amount
        elif token_id is not None:
            entry.units[token_id] += amount
    others = _counterparties(session, wallet_ids, list(per_txn))
    out: list[Movement] = []
    for txn_id, e in per_txn.items():
        units = {t: q for t, q in e.units.items() if q != 0}
        if e.cash == 0 and not units:
            continue
        out.append(
            Movement(txn_id, e.kind, e.at, e.cash, units, others.get(txn_id, {}), e.token_id, e.details)
        )
    return out


def _counterparties(
    session: Session, wallet_ids: list[int], txn_ids: list[int]
) -> dict[int, dict[AccountKind, Decimal]]:
    """For each transaction, the USD legs on accounts that are not the wallets' own, by kind."""
    out: dict[int, dict[AccountKind, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    if not txn_ids:
        return {}
    own = CASH_KINDS
    for i in range(0, len(txn_ids), 500):
        rows = session.execute(
            select(Posting.transaction_id, LedgerAccount.kind, LedgerAccount.wallet_id, Posting.amount)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(Posting.transaction_id.in_(txn_ids[i : i + 500]), Posting.asset == "USD")
        ).all()
        for txn_id, kind, wallet_id, amount in rows:
            if AccountKind(kind) in own and wallet_id in wallet_ids:
                continue
            out[txn_id][AccountKind(kind)] += amount
    return {k: dict(v) for k, v in out.items()}


def _balances_at(session: Session, account_ids: list[int], at: datetime) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if not account_ids:
        return totals
    rows = session.execute(
        select(Posting.account_id, Posting.amount)
        .join(LedgerTransaction, LedgerTransaction.id == Posting.transaction_id)
        .where(Posting.account_id.in_(account_ids), LedgerTransaction.created_at < at)
    )
    for account_id, amount in rows:
        totals[account_id] += amount
    return totals


@dataclass(frozen=True, slots=True)
class TokenState:
    """A token's pool (USD), circulating units and NAV (USD per unit) at one moment."""

    token_id: int
    symbol: str
    pool: Decimal
    circulating: Decimal

    @property
    def nav(self) -> Decimal | None:
        """NAV per unit, rounded down to ``NAV_QUANTUM``; None when nothing circulates."""
        if self.circulating <= 0:
            return None
        return round_down(div(self.pool, self.circulating), NAV_QUANTUM)


def token_states_at(session: Session, token_ids: list[int], at: datetime) -> dict[int, TokenState]:
    """Each token's pool, circulating supply and NAV just before ``at`` (from its postings)."""
    if not token_ids:
        return {}
    accounts = session.execute(
        select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.token_id).where(
            LedgerAccount.token_id.in_(token_ids),
            LedgerAccount.kind.in_((AccountKind.TOKEN_POOL, AccountKind.TOKEN_UNISSUED)),
        )
    ).all()
    balances = _balances_at(session, [a[0] for a in accounts], at)
    pool: dict[int, Decimal] = defaultdict(lambda: ZERO)
    unissued: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for account_id, kind, token_id in accounts:
        target = pool if AccountKind(kind) is AccountKind.TOKEN_POOL else unissued
        if token_id is not None:
            target[token_id] += balances[account_id]
    tokens = session.execute(
        select(
            StrategyToken.id, StrategyToken.symbol, StrategyToken.total_supply, StrategyToken.created_at
        ).where(StrategyToken.id.in_(token_ids))
    ).all()
    return {
        tid: TokenState(tid, symbol, pool[tid], supply - unissued[tid] if created < at else ZERO)
        for tid, symbol, supply, created in tokens
    }
