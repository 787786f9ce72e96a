"""Idempotency keys on SQLite and PostgreSQL: same key + same request -> the stored reply and one
effect; same key + different request -> IdempotencyConflict; a rejected request consumes no key;
NAV marks are idempotent per (token, day)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import IdempotencyConflict, InsufficientCash
from core.models import IdempotencyKey, LedgerTransaction, NavMark
from tests.support.ledger_world import (
    holding_of,
    key,
    key_exists,
    make_org,
    make_token,
    make_wallet,
    snapshot,
    token_state,
    violations,
    wallet_cash,
)

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-MOMENTUM-BTC-001"


def _count(db: Database, model: type) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def wallet(any_db: Database) -> int:
    w = make_wallet(any_db, make_org(any_db))
    make_token(any_db, SYM)
    return w


def test_replayed_buy_returns_stored_reply_with_one_effect(
    any_db: Database, wallet: int, clock: SimulatedClock
) -> None:
    k = key("buy")
    first = ledger.buy(any_db.uow(), wallet, SYM, "250.5", idempotency_key=k)
    after_first = snapshot(any_db)
    clock.advance(timedelta(days=10))  # a real second buy would now also settle fees
    again = ledger.buy(any_db.uow(), wallet, SYM, "250.500000", idempotency_key=k)  # same request
    also = ledger.buy(any_db.uow(), wallet, SYM.lower(), Decimal("250.5"), idempotency_key=k)
    assert again == first and also == first
    assert snapshot(any_db) == after_first  # no second effect, nothing written at all
    assert wallet_cash(any_db, wallet) == Decimal("9749.5")
    assert holding_of(any_db, wallet, SYM)[0] == first.tokens


def test_replay_returns_the_original_reply_not_current_state(any_db: Database, wallet: int) -> None:
    k = key("buy")
    first = ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=k)
    ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    replay = ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=k)
    assert replay.cash_balance == first.cash_balance == Decimal(9900)
    assert wallet_cash(any_db, wallet) == Decimal(9800)


@pytest.mark.parametrize("service", ["deposit", "withdraw", "redeem", "wallet", "token"])
def test_every_service_replays(any_db: Database, wallet: int, service: str) -> None:
    ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    org = make_org(any_db, "Second Church")
    k = key(service)
    calls = {
        "deposit": lambda: ledger.deposit(any_db.uow(), wallet, "5", idempotency_key=k),
        "withdraw": lambda: ledger.withdraw(any_db.uow(), wallet, "5", idempotency_key=k),
        "redeem": lambda: ledger.redeem(any_db.uow(), wallet, SYM, "7", idempotency_key=k),
        "wallet": lambda: ledger.create_wallet(
            any_db.uow(), organisation_id=org, name="B", idempotency_key=k
        ),
        "token": lambda: ledger.tokenize(
            any_db.uow(), agent_id=None, symbol="STRAT-NEW-1", total_supply="1000", idempotency_key=k
        ),
    }
    first = calls[service]()
    txns = _count(any_db, LedgerTransaction)
    state = snapshot(any_db)
    assert calls[service]() == first
    assert _count(any_db, LedgerTransaction) == txns
    assert snapshot(any_db) == state


@pytest.mark.parametrize(
    "different",
    [
        lambda db, w, k: ledger.buy(db.uow(), w, SYM, "100.000001", idempotency_key=k),  # other amount
        lambda db, w, k: ledger.buy(db.uow(), w + 1, SYM, "100", idempotency_key=k),  # other wallet
        lambda db, w, k: ledger.redeem(db.uow(), w, SYM, "100", idempotency_key=k),  # other operation
        lambda db, w, k: ledger.deposit(db.uow(), w, "100", idempotency_key=k),
    ],
    ids=["amount", "wallet", "operation", "deposit"],
)
def test_same_key_different_request_conflicts(any_db: Database, wallet: int, different: object) -> None:
    make_wallet(any_db, make_org(any_db, "Other"))  # wallet + 1 exists
    k = key("buy")
    ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=k)
    state = snapshot(any_db)
    with pytest.raises(IdempotencyConflict, match="already used for a different request"):
        different(any_db, wallet, k)  # type: ignore[operator]
    assert snapshot(any_db) == state


def test_rejected_request_consumes_no_key(any_db: Database, wallet: int) -> None:
    k = key("buy")
    with pytest.raises(InsufficientCash):
        ledger.buy(any_db.uow(), wallet, SYM, "20000", idempotency_key=k)
    assert not key_exists(any_db, k)
    # The same key may later carry the same request (now valid) ...
    ledger.deposit(any_db.uow(), wallet, "10000", idempotency_key=key())
    trade = ledger.buy(any_db.uow(), wallet, SYM, "20000", idempotency_key=k)
    assert trade.cash == Decimal(20000)
    # ... or, for another key, a different valid request.
    k2 = key("buy")
    with pytest.raises(InsufficientCash):
        ledger.buy(any_db.uow(), wallet, SYM, "1", idempotency_key=k2)
    ledger.deposit(any_db.uow(), wallet, "3", idempotency_key=k2)
    assert wallet_cash(any_db, wallet) == Decimal(3)
    assert violations(any_db) == []


def test_mark_nav_is_idempotent_per_day(any_db: Database, wallet: int, clock: SimulatedClock) -> None:
    ledger.buy(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())
    today = clock.now().date()
    first = ledger.mark_nav(any_db.uow(), SYM, today, "0.02")
    assert not first.already_marked
    state = snapshot(any_db)
    again = ledger.mark_nav(any_db.uow(), SYM, today, "0.020")  # the default key is per day
    assert again == first
    # Another return for the same day under the default key is a conflict ...
    with pytest.raises(IdempotencyConflict):
        ledger.mark_nav(any_db.uow(), SYM, today, "0.05")
    # ... and under a fresh key it is a no-op that reports the stored mark.
    other = ledger.mark_nav(any_db.uow(), SYM, today, "0.05", idempotency_key=key("mark"))
    assert other.already_marked and other.nav_per_token == first.nav_per_token
    assert _count(any_db, NavMark) == 1
    assert token_state(any_db, SYM)["nav"] == first.nav_per_token
    after = snapshot(any_db)
    # Only the new key row was written.
    assert {t: rows for t, rows in after.items() if t != "idempotency_keys"} == {
        t: rows for t, rows in state.items() if t != "idempotency_keys"
    }
    assert _count(any_db, IdempotencyKey) == len(state["idempotency_keys"]) + 1
    # The next day marks again.
    clock.advance(timedelta(days=1))
    nxt = ledger.mark_nav(any_db.uow(), SYM, clock.now().date(), "0.01")
    assert not nxt.already_marked and nxt.nav_per_token > first.nav_per_token
    assert violations(any_db) == []
