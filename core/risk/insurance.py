"""The insurance fund: 5 % of every fee, held in the ``platform:insurance`` ledger account (USD)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from core.ledger.postings import get_account


def insurance_fund_balance(session: Session) -> Decimal:
    account = get_account(session, "platform:insurance")
    return account.balance if account is not None else Decimal(0)
