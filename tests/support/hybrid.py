"""A platform ready for hybrid approvals in chat: five active tokens with 40 days of NAV history
(enough for the optimizer to allocate), used by the console, Telegram and Discord hybrid tests."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.clock import SimulatedClock
from core.db import Database
from core.models import AIWallet, TokenHolding
from core.models.wallets_ext import RebalanceExecution
from tests.e2e.chat_support import make_token
from tests.wallet_fixtures import mark_days, random_returns

SYMBOLS = [f"STRAT-TEST-T{i}-001" for i in range(5)]
PROPOSAL_ID = re.compile(r"Proposal #(\d+)")


def tokens_with_history(db: Database) -> list[str]:
    for symbol in SYMBOLS:
        make_token(db, symbol, supply="100000000")
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    mark_days(db, clock, {s: random_returns(i, 40) for i, s in enumerate(SYMBOLS)})
    return SYMBOLS


def proposal_id_in(text: str) -> int:
    found = PROPOSAL_ID.search(text)
    assert found, text
    return int(found.group(1))


def holdings(db: Database, wallet_id: int) -> int:
    with db.uow(read_only=True) as uow:
        return uow.session.scalar(
            select(func.count()).select_from(TokenHolding).where(
                TokenHolding.wallet_id == wallet_id, TokenHolding.quantity > 0)
        ) or 0


def executions(db: Database, wallet_id: int) -> int:
    with db.uow(read_only=True) as uow:
        return uow.session.scalar(
            select(func.count()).select_from(RebalanceExecution).where(
                RebalanceExecution.wallet_id == wallet_id)
        ) or 0


def wallet_of(db: Database, org_id: int) -> int:
    with db.uow(read_only=True) as uow:
        wallet_id = uow.session.scalar(
            select(AIWallet.id).where(AIWallet.organisation_id == org_id, AIWallet.is_house.is_(False)))
    assert wallet_id is not None
    return wallet_id
