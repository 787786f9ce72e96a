"""The one lock order (tokens, wallets, accounts — each by id), enforced by ``core.ledger.locks``.

* The reported PostgreSQL deadlock, reproduced deterministically: a buy holds the token's lock
  and is paused there (an engine event in the child) while the risk job's queue release starts on
  the same wallet and token; once PostgreSQL shows the release *waiting on a lock*, the buy goes
  on. With the old order (wallet, then token) the release already held the wallet and the two
  deadlocked — the control test re-creates that order in raw SQL and sees ``DeadlockDetected``.
  With the one order both finish and the ledger checks out.
* Out-of-order requests raise :class:`LockOrderViolation` on every dialect (so every writer test
  on SQLite is a lock-order test too); a rolled-back savepoint forgets the rows it locked.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.ledger.locks import (
    LockOrderViolation,
    held,
    lock_in_order,
    lock_token,
    lock_wallet,
)
from core.ledger.postings import LedgerWriter, Leg, ensure_account, system_account, wallet_cash_code
from core.models import CASH_ASSET, AccountKind, StrategyToken
from core.models.wallets_ext import RedemptionRequest
from core.risk import redeem_or_queue
from tests.support.ledger_workers import SPAWN
from tests.support.ledger_world import (
    holding_of,
    key,
    make_org,
    make_token,
    make_wallet,
    violations,
    wallet_cash,
)
from tests.support.lock_workers import buy_pausing_after_token_lock, lock_wallet_then_token, release_queue

SYM = "STRAT-MOMENTUM-BTC-001"
OTHER = "STRAT-TREND-ETH-002"


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _queued_world(db: Database, clock: SimulatedClock) -> tuple[int, int]:
    """A wallet holding SYM with a redemption queued for tomorrow; the clock moved to tomorrow."""
    wallet = make_wallet(db, make_org(db), cash="50000")
    make_token(db, SYM, supply="10000000")
    ledger.buy(db.uow(), wallet, SYM, "20000", idempotency_key=key())
    out = redeem_or_queue(db.uow(), wallet, SYM, "12000", idempotency_key=key())
    assert out.queued > 0  # above today's 10 % limit: the rest waits in the queue
    clock.advance(timedelta(days=1))
    with db.uow(read_only=True) as uow:
        token_id = uow.session.scalars(select(StrategyToken.id).where(StrategyToken.symbol == SYM)).one()
    return wallet, token_id


class _Child:
    def __init__(self, target: Any, *args: Any) -> None:
        self.results = SPAWN.Queue()
        self.proc = SPAWN.Process(target=_run, args=(self.results, target, args), daemon=True)
        self.proc.start()

    def result(self, timeout: float = 120) -> dict[str, Any]:
        found: dict[str, Any] = self.results.get(timeout=timeout)
        self.proc.join(timeout=30)
        return found


def _run(results: Any, target: Any, args: tuple[Any, ...]) -> None:
    results.put(target(*args))


def _wait_for_lock_wait(db: Database, timeout: float = 60) -> None:
    """Until some backend of this database waits on a lock (a condition, polled; not a sleep)."""
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if conn.execute(query).scalar_one() > 0:
                return
        time.sleep(0.05)
    raise AssertionError("the second transaction never waited on the first one's lock")


def _interleave(db: Database, clock: SimulatedClock, wallet: int, second: Any, *args: Any
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Buy holds the token lock; ``second`` starts and blocks on a lock; then the buy goes on."""
    holds, go = SPAWN.Event(), SPAWN.Event()
    buyer = _Child(buy_pausing_after_token_lock, _url(db), wallet, SYM, "100", key("regress"),
                   clock.now().isoformat(), holds, go)
    assert holds.wait(120), "the buy never reached its token lock"
    other = _Child(second, *args)
    _wait_for_lock_wait(db)
    go.set()
    return buyer.result(), other.result()


@pytest.mark.postgres
def test_queue_release_beside_a_buy_cannot_deadlock(pg_db: Database, clock: SimulatedClock) -> None:
    wallet, _token_id = _queued_world(pg_db, clock)
    cash_before, (units_before, _) = wallet_cash(pg_db, wallet), holding_of(pg_db, wallet, SYM)
    bought, released = _interleave(pg_db, clock, wallet, release_queue, _url(pg_db), clock.now().isoformat())
    assert "error" not in bought, bought
    assert "error" not in released, released
    assert len(released["ok"]) == 1  # the queued request was paid (in part: today's limit)
    paid = released["ok"][0]
    paid_cash, paid_units = Decimal(paid["cash_now"]), Decimal(paid["redeemed_now"])
    assert paid_cash > 0
    assert wallet_cash(pg_db, wallet) == cash_before - Decimal(bought["ok"]["cash"]) + paid_cash
    assert holding_of(pg_db, wallet, SYM)[0] == units_before + Decimal(bought["ok"]["tokens"]) - paid_units
    with pg_db.uow(read_only=True) as uow:
        request = uow.session.scalars(select(RedemptionRequest)).one()
        assert request.cash_out == paid_cash
    assert violations(pg_db) == []


@pytest.mark.postgres
def test_control_the_old_order_does_deadlock(pg_db: Database, clock: SimulatedClock) -> None:
    """Proves the harness bites: wallet-then-token beside a buy is a real deadlock."""
    wallet, token_id = _queued_world(pg_db, clock)
    bought, reversed_ = _interleave(pg_db, clock, wallet, lock_wallet_then_token, _url(pg_db), wallet,
                                    token_id)
    errors = {r.get("error") for r in (bought, reversed_)} - {None}
    assert errors, (bought, reversed_)
    assert any("deadlock" in r.get("message", "").lower() for r in (bought, reversed_))


# --- the order is enforced (every dialect) ---------------------------------------------------------


def _two_tokens(db: Database) -> tuple[int, int]:
    wallet = make_wallet(db, make_org(db), cash="1000")
    make_token(db, SYM)
    make_token(db, OTHER)
    return wallet, make_wallet(db, make_org(db, "Hope Church"), cash="1000")


def test_token_after_wallet_is_refused(any_db: Database) -> None:
    wallet, _ = _two_tokens(any_db)
    with any_db.uow() as uow:
        lock_wallet(uow.session, wallet)
        with pytest.raises(LockOrderViolation, match=r"token .* requested after wallet"):
            lock_token(uow.session, SYM)


def test_lower_wallet_after_higher_is_refused_but_relocking_is_fine(any_db: Database) -> None:
    first, second = _two_tokens(any_db)
    with any_db.uow() as uow:
        lock_in_order(uow.session, tokens=[OTHER, SYM], wallets=[second, first])
        assert [kind for kind, _ in held(uow.session)] == ["token", "token", "wallet", "wallet"]
        assert lock_token(uow.session, SYM).symbol == SYM  # already held: returned, not refused
        assert lock_wallet(uow.session, first).id == first
    with any_db.uow() as uow:
        lock_wallet(uow.session, second)
        with pytest.raises(LockOrderViolation, match=f"wallet {first} requested after wallet {second}"):
            lock_wallet(uow.session, first)


def test_later_token_after_earlier_is_fine_earlier_after_later_is_not(any_db: Database) -> None:
    _two_tokens(any_db)
    with any_db.uow() as uow:
        lock_token(uow.session, SYM)
        lock_token(uow.session, OTHER)  # created second: the higher id
    with any_db.uow() as uow:
        lock_token(uow.session, OTHER)
        with pytest.raises(LockOrderViolation):
            lock_token(uow.session, SYM)


def test_a_second_flush_below_the_held_accounts_is_refused(any_db: Database, clock: SimulatedClock) -> None:
    first, second = _two_tokens(any_db)
    with any_db.uow() as uow:
        s, now = uow.session, clock.now()
        external = system_account(s, "external:cash", now)

        def cash(wallet_id: int) -> Any:
            return ensure_account(s, wallet_cash_code(wallet_id), kind=AccountKind.WALLET_CASH,
                                  asset=CASH_ASSET, now=now)

        writer = LedgerWriter(s, now)
        writer.post("test", [Leg(cash(second), Decimal(1)), Leg(external, Decimal(-1))])
        writer.flush()
        writer.post("test", [Leg(cash(second), Decimal(1)), Leg(external, Decimal(-1))])
        writer.flush()  # the same accounts again: already held, fine
        writer.post("test", [Leg(cash(first), Decimal(1)), Leg(external, Decimal(-1))])
        with pytest.raises(LockOrderViolation, match="account"):
            writer.flush()  # the first wallet's cash account has a lower id than the held ones


def test_savepoint_rollback_forgets_its_locks(any_db: Database) -> None:
    first, second = _two_tokens(any_db)
    with any_db.uow() as uow:
        s = uow.session
        savepoint = s.begin_nested()
        lock_wallet(s, second)
        savepoint.rollback()
        assert held(s) == []
        assert lock_wallet(s, first).id == first  # in order again: the savepoint's lock is gone
