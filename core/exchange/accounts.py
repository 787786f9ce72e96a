"""The four ledger accounts an exchange order touches for one wallet and token.

Free cash is the wallet's ordinary cash account and free units its ordinary holding account; the
reserved accounts hold what open orders lock (bids: cash, asks: units). Moving funds between free
and reserved is a balanced transaction like any other, so ``arena ledger check`` covers it and a
buy, redeem or withdrawal (which only ever debit the free accounts) can never spend reserved funds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.ledger.postings import (
    AccountRef,
    ensure_account,
    wallet_cash_code,
    wallet_cash_reserved_code,
    wallet_tokens_code,
    wallet_tokens_reserved_code,
)
from core.models import CASH_ASSET, AccountKind, StrategyToken


def free_cash(session: Session, wallet_id: int, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        wallet_cash_code(wallet_id),
        kind=AccountKind.WALLET_CASH,
        asset=CASH_ASSET,
        wallet_id=wallet_id,
        now=now,
    )


def reserved_cash(session: Session, wallet_id: int, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        wallet_cash_reserved_code(wallet_id),
        kind=AccountKind.WALLET_CASH_RESERVED,
        asset=CASH_ASSET,
        wallet_id=wallet_id,
        now=now,
    )


def free_units(session: Session, wallet_id: int, token: StrategyToken, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        wallet_tokens_code(wallet_id, token.id),
        kind=AccountKind.WALLET_TOKENS,
        asset=token.symbol,
        wallet_id=wallet_id,
        token_id=token.id,
        now=now,
    )


def reserved_units(session: Session, wallet_id: int, token: StrategyToken, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        wallet_tokens_reserved_code(wallet_id, token.id),
        kind=AccountKind.WALLET_TOKENS_RESERVED,
        asset=token.symbol,
        wallet_id=wallet_id,
        token_id=token.id,
        now=now,
    )
