"""Crash atomicity: a child process SIGKILLed in the middle of a buy, on SQLite and PostgreSQL.

The child freezes (a test-only SQLAlchemy event installed in the child) either right before COMMIT
reaches the database — every posting, balance and idempotency row already flushed inside the open
transaction — or right after it. The parent kills it with SIGKILL and reopens the database: the
invariants hold and the buy happened whole (after commit) or not at all (before commit).
A third test kills a tight loop of buys at an arbitrary moment.
"""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.models import IdempotencyKey, LedgerTransaction, Posting
from tests.support.ledger_workers import SPAWN, buy_forever, buy_then_freeze
from tests.support.ledger_world import (
    holding_of,
    key_exists,
    make_org,
    make_token,
    make_wallet,
    snapshot,
    token_state,
    violations,
    wallet_cash,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pure_ledger")]
SYM = "STRAT-MOMENTUM-BTC-001"


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _wait_for(path: Path, proc: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.is_alive(), "the child died before reaching the pause point"  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the child never reached the pause point"
        time.sleep(0.05)


def _kill(proc: object) -> None:
    os.kill(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    proc.join(timeout=30)  # type: ignore[attr-defined]
    assert proc.exitcode == -signal.SIGKILL  # type: ignore[attr-defined]


def _reopen(db: Database) -> Database:
    """A brand-new engine on the same database, as after a restart."""
    db.dispose()
    return Database(_url(db), clock=db.clock)


@pytest.fixture
def world(any_db: Database) -> tuple[Database, int]:
    wallet = make_wallet(any_db, make_org(any_db), cash="1000")
    make_token(any_db, SYM)
    return any_db, wallet


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_sigkill_during_buy_is_all_or_nothing(world: tuple[Database, int], tmp_path: Path, when: str) -> None:
    db, wallet = world
    before = snapshot(db)
    cash0 = wallet_cash(db, wallet)
    marker = tmp_path / "paused"
    proc = SPAWN.Process(
        target=buy_then_freeze, args=(_url(db), wallet, SYM, "123.45", "crash-key", str(marker), when)
    )
    proc.start()
    try:
        _wait_for(marker, proc)
        if when == "before_commit":
            # The buy is fully flushed but not committed: nobody else can see any of it.
            assert snapshot(db) == before
    finally:
        _kill(proc)
    db = _reopen(db)
    try:
        assert violations(db) == []
        if when == "before_commit":
            assert snapshot(db) == before  # not at all
            assert not key_exists(db, "crash-key")
            assert wallet_cash(db, wallet) == cash0
        else:
            assert key_exists(db, "crash-key")  # whole: key, postings, balances and holding
            assert wallet_cash(db, wallet) == cash0 - Decimal("123.45")
            assert holding_of(db, wallet, SYM)[0] > 0
            with db.uow(read_only=True) as uow:
                buy = uow.session.scalars(
                    select(LedgerTransaction).where(LedgerTransaction.idempotency_key == "crash-key")
                ).one()
                legs = uow.session.scalar(select(func.count()).where(Posting.transaction_id == buy.id))
            assert legs == 4
        # The database is fully usable afterwards (no stale lock, no half-written row in the way).
        from core import ledger

        ledger.buy(db.uow(), wallet, SYM, "1", idempotency_key="after-restart")
        assert violations(db) == []
    finally:
        db.dispose()


def test_sigkill_at_an_arbitrary_moment(world: tuple[Database, int], tmp_path: Path) -> None:
    db, wallet = world
    cash0 = wallet_cash(db, wallet)
    marker = tmp_path / "running"
    proc = SPAWN.Process(target=buy_forever, args=(_url(db), wallet, SYM, "0.5", str(marker)))
    proc.start()
    try:
        _wait_for(marker, proc)
        time.sleep(0.137)
    finally:
        _kill(proc)
    db = _reopen(db)
    try:
        assert violations(db) == []
        with db.uow(read_only=True) as uow:
            buys = int(
                uow.session.scalar(
                    select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "buy")
                )
                or 0
            )
            keys = int(
                uow.session.scalar(
                    select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key.like("loop-%"))
                )
                or 0
            )
        assert buys >= 5 and keys == buys  # every committed buy has its key, and no key lacks its buy
        assert wallet_cash(db, wallet) == cash0 - Decimal("0.5") * buys
        assert token_state(db, SYM)["aum"] >= Decimal(100)  # seed plus buys, minus fees
    finally:
        db.dispose()
