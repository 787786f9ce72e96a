"""Row locks in the one global order: tokens (by id), then wallets (by id), then ledger accounts.

On PostgreSQL these are ``SELECT ... FOR UPDATE``; on SQLite the write transaction already holds
the database lock (``BEGIN IMMEDIATE``), so ``FOR UPDATE`` is simply omitted by the dialect.
``populate_existing`` makes sure we read the locked, current row and not a stale identity-map copy.

A row locked once in a transaction stays locked until it ends, so a second lock of the same row in
the same (innermost) transaction returns the object already loaded instead of selecting it again —
a rebalance locks its tokens and wallet up front and then trades several times. The ledger writes
these rows with Core ``UPDATE``\\ s and keeps the ORM objects in sync (see ``issuance``), so the
loaded object is the current row. The memo is keyed by the innermost session transaction: a
savepoint rolled back (which may release its locks on PostgreSQL) or a new transaction starts over.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.errors import NotFound, UnknownToken, ValidationError
from core.models import AIWallet, Organisation, OrgStatus, StrategyToken

SYMBOL_MAX = 64
_LOCKED = "arena_locked_rows"


_LOCK_TOKEN = (
    select(StrategyToken)
    .where(StrategyToken.symbol == bindparam("symbol"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_ORG_STATUS = (
    select(Organisation.status).where(Organisation.id == AIWallet.organisation_id).scalar_subquery()
)
_LOCK_WALLET = (
    select(AIWallet, _ORG_STATUS)
    .where(AIWallet.id == bindparam("wallet_id"))
    .with_for_update(of=AIWallet)
    .execution_options(populate_existing=True)
)


def normalise_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValidationError("a token symbol is required, e.g. STRAT-MOMENTUM-BTC-001")
    cleaned = symbol.strip().upper()
    if len(cleaned) > SYMBOL_MAX:
        raise ValidationError(f"token symbol longer than {SYMBOL_MAX} characters")
    return cleaned


def _locked(session: Session) -> dict[Any, Any]:
    """Rows locked in the session's innermost transaction: ``("token", symbol)`` -> token,
    ``("wallet", id)`` -> (wallet, organisation status)."""
    txn = session.get_nested_transaction() or session.get_transaction()
    memo = session.info.get(_LOCKED)
    if memo is None or memo[0] is not txn or txn is None:
        memo = session.info[_LOCKED] = (txn, {})
    locked: dict[Any, Any] = memo[1]
    return locked


def _still_loaded(session: Session, obj: object) -> bool:
    return obj in session and obj not in session.deleted


def lock_token(session: Session, symbol: str) -> StrategyToken:
    cleaned = normalise_symbol(symbol)
    locked = _locked(session)
    token = locked.get(("token", cleaned))
    if token is not None and _still_loaded(session, token):
        return token
    token = session.scalars(_LOCK_TOKEN, {"symbol": cleaned}).one_or_none()
    if token is None:
        raise UnknownToken(f"unknown token {cleaned}; /tokens lists the available ones")
    locked = _locked(session)  # the SELECT may have begun the transaction
    locked[("token", cleaned)] = token
    return token


def _check_wallet_id(wallet_id: int) -> None:
    if isinstance(wallet_id, bool) or not isinstance(wallet_id, int) or wallet_id <= 0:
        raise ValidationError(f"wallet id must be a positive integer, got {wallet_id!r}")


def lock_wallet_and_org(session: Session, wallet_id: int) -> tuple[AIWallet, OrgStatus | None]:
    """Lock the wallet row and read its organisation's status in the same statement
    (``None`` for the house wallet or a wallet whose organisation is missing)."""
    _check_wallet_id(wallet_id)
    locked = _locked(session)
    hit = locked.get(("wallet", wallet_id))
    if hit is not None and _still_loaded(session, hit[0]):
        return hit
    row = session.execute(_LOCK_WALLET, {"wallet_id": wallet_id}).one_or_none()
    if row is None:
        raise NotFound(f"wallet {wallet_id} does not exist")
    result = (row[0], row[1])
    _locked(session)[("wallet", wallet_id)] = result
    return result


def lock_wallet(session: Session, wallet_id: int) -> AIWallet:
    return lock_wallet_and_org(session, wallet_id)[0]
