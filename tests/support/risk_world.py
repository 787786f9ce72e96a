"""A platform-risk world with fees switched off: one token seeded with 100 house units at NAV 1,
a Basic wallet that buys 10,000 units for $10,000 (AUM 10,100), and helpers to mark and release."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.models.wallets_ext import RedemptionRequest
from core.risk import process_queue_in
from core.risk.redemption import RedemptionOutcome
from tests.support.ledger_world import key, make_org, make_token, make_user, make_wallet

SYM = "STRAT-TEST-EXACT-001"
OTHER = "STRAT-TEST-OTHER-001"


@pytest.fixture(autouse=True)
def no_fees(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    monkeypatch.setenv("ARENA_PERFORMANCE_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def world(db: Database, buy: str = "10000") -> tuple[int, int]:
    org = make_org(db)
    owner = make_user(db, 777, org)
    make_token(db, SYM, supply="10000000")
    wallet = make_wallet(db, org, cash="20000", owner_user_ids=[owner], tier="basic")
    ledger.buy(db.uow(), wallet, SYM, buy, idempotency_key=key())
    return org, wallet


def mark(db: Database, clock: SimulatedClock, returns: dict[str, str]) -> None:
    """Advance one day and mark each token's return for it."""
    clock.advance(timedelta(days=1))
    for symbol, r in returns.items():
        ledger.mark_nav(db.uow(), symbol, clock.now().date(), r)


def queued_request(db: Database) -> RedemptionRequest:
    with db.uow(read_only=True) as uow:
        request = uow.session.scalars(select(RedemptionRequest)).one()
        uow.session.expunge(request)
        return request


def release(db: Database, clock: SimulatedClock) -> list[RedemptionOutcome]:
    with db.uow() as uow:
        out = process_queue_in(uow.session, clock.now())
        uow.commit()
    return out
