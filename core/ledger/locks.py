"""Row locks in the one global order: tokens (by id), then wallets (by id), then ledger accounts.

On PostgreSQL these are ``SELECT ... FOR UPDATE``; on SQLite the write transaction already holds
the database lock (``BEGIN IMMEDIATE``), so ``FOR UPDATE`` is simply omitted by the dialect.
``populate_existing`` makes sure we read the locked, current row and not a stale identity-map copy.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, UnknownToken, ValidationError
from core.models import AIWallet, StrategyToken

SYMBOL_MAX = 64


def normalise_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValidationError("a token symbol is required, e.g. STRAT-MOMENTUM-BTC-001")
    cleaned = symbol.strip().upper()
    if len(cleaned) > SYMBOL_MAX:
        raise ValidationError(f"token symbol longer than {SYMBOL_MAX} characters")
    return cleaned


def lock_token(session: Session, symbol: str) -> StrategyToken:
    cleaned = normalise_symbol(symbol)
    token = session.scalars(
        select(StrategyToken)
        .where(StrategyToken.symbol == cleaned)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if token is None:
        raise UnknownToken(f"unknown token {cleaned}; /tokens lists the available ones")
    return token


def lock_wallet(session: Session, wallet_id: int) -> AIWallet:
    if isinstance(wallet_id, bool) or not isinstance(wallet_id, int) or wallet_id <= 0:
        raise ValidationError(f"wallet id must be a positive integer, got {wallet_id!r}")
    wallet = session.scalars(
        select(AIWallet)
        .where(AIWallet.id == wallet_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if wallet is None:
        raise NotFound(f"wallet {wallet_id} does not exist")
    return wallet
