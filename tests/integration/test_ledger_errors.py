"""Every typed ledger error on a real SQLite file and on PostgreSQL: the error carries a message a
person understands, NOTHING is written (every ledger table is byte-for-byte unchanged, even though
the clock moved so a fee settlement would have been booked) and the idempotency key stays unused,
so retrying the same key with a valid request later succeeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from core import formatting, ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import (
    ArenaError,
    InsufficientCash,
    InsufficientTokens,
    InvalidAmount,
    NotFound,
    OrganisationNotVerified,
    SoldOut,
    TokenNotTradable,
    UnknownToken,
    ValidationError,
)
from tests.support.ledger_world import (
    holding_of,
    key,
    key_exists,
    make_org,
    make_token,
    make_wallet,
    set_token_status,
    snapshot,
    violations,
    wallet_cash,
)

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-MOMENTUM-BTC-001"
SMALL = "STRAT-SMALL-ETH-001"  # total supply 200 = twice the seed: 100 units left to sell


@dataclass
class World:
    db: Database
    clock: SimulatedClock
    wallet: int  # verified organisation, 10,000 USD cash, holds 50 SYM
    pending_wallet: int  # organisation not verified yet, 10,000 USD cash


@pytest.fixture
def world(any_db: Database, clock: SimulatedClock) -> World:
    org = make_org(any_db)
    wallet = make_wallet(any_db, org)
    pending = make_wallet(any_db, make_org(any_db, "Pending Parish", verified=False))
    make_token(any_db, SYM)
    make_token(any_db, SMALL, supply="200")
    ledger.buy(any_db.uow(), wallet, SYM, "50", idempotency_key=key())
    clock.advance(timedelta(days=30))  # any write that escaped the rollback would include a fee
    return World(any_db, clock, wallet, pending)


def _refused(w: World, call: Callable[[str], object], error: type[ArenaError], message: str) -> str:
    """Run ``call(key)``, expect ``error`` whose message contains ``message``, and prove nothing moved."""
    k = key("refused")
    before = snapshot(w.db)
    with pytest.raises(error) as info:
        call(k)
    assert message.lower() in str(info.value).lower()
    assert type(info.value) is error or issubclass(type(info.value), error)
    assert snapshot(w.db) == before, "a refused request wrote to the ledger"
    assert not key_exists(w.db, k), "a refused request consumed its idempotency key"
    assert violations(w.db) == []
    return k


def test_unknown_symbol(world: World) -> None:
    w = world
    _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.wallet, "STRAT-NOPE-1", "10", idempotency_key=k),
        UnknownToken,
        "unknown token STRAT-NOPE-1",
    )
    _refused(
        w,
        lambda k: ledger.redeem(w.db.uow(), w.wallet, "strat-nope-1", "1", idempotency_key=k),
        UnknownToken,
        "unknown token STRAT-NOPE-1",
    )
    _refused(
        w,
        lambda k: ledger.mark_nav(
            w.db.uow(), "STRAT-NOPE-1", w.clock.now().date(), "0.01", idempotency_key=k
        ),
        UnknownToken,
        "unknown token",
    )


def test_token_not_active_or_retired(world: World) -> None:
    w = world
    set_token_status(w.db, SYM, "proving")
    _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.wallet, SYM, "10", idempotency_key=k),
        TokenNotTradable,
        "is proving",
    )
    _refused(
        w,
        lambda k: ledger.redeem(w.db.uow(), w.wallet, SYM, "1", idempotency_key=k),
        TokenNotTradable,
        "is proving",
    )
    set_token_status(w.db, SYM, "retired")
    _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.wallet, SYM, "10", idempotency_key=k),
        TokenNotTradable,
        "is retired",
    )
    # A retired token can still be redeemed (wind-down): holders are never locked in.
    trade = ledger.redeem(w.db.uow(), w.wallet, SYM, "10", idempotency_key=key())
    assert trade.tokens == Decimal(10)


def test_sold_out(world: World) -> None:
    w = world
    small = make_token(w.db, "STRAT-SMALL-SOL-002", supply="200")  # created now: NAV exactly 1.00
    k = _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.wallet, small, "150", idempotency_key=k),
        SoldOut,
        "remain (about $100.00); buy less",
    )
    ledger.buy(w.db.uow(), w.wallet, small, "100", idempotency_key=k)  # the unused key still works
    assert holding_of(w.db, w.wallet, small)[0] == Decimal(100)
    w.clock.advance(timedelta(days=1))
    _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.wallet, small, "0.01", idempotency_key=k),
        SoldOut,
        "is sold out",
    )
    # Redeeming frees supply again.
    ledger.redeem(w.db.uow(), w.wallet, small, "1", idempotency_key=key())
    ledger.buy(w.db.uow(), w.wallet, small, "0.5", idempotency_key=key())


def test_insufficient_cash(world: World) -> None:
    w = world
    cash = wallet_cash(w.db, w.wallet)
    too_much = str(cash + Decimal("0.000001"))
    k = _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.wallet, SYM, too_much, idempotency_key=k),
        InsufficientCash,
        "wallet has $9,950.00 cash",
    )
    _refused(
        w,
        lambda k: ledger.withdraw(w.db.uow(), w.wallet, too_much, idempotency_key=k),
        InsufficientCash,
        "cannot withdraw",
    )
    # After a deposit the same key with the same request goes through.
    ledger.deposit(w.db.uow(), w.wallet, "1", idempotency_key=key())
    trade = ledger.buy(w.db.uow(), w.wallet, SYM, too_much, idempotency_key=k)
    assert trade.cash == Decimal(too_much)
    assert wallet_cash(w.db, w.wallet) == Decimal("0.999999")


def test_insufficient_tokens(world: World) -> None:
    w = world
    held, _ = holding_of(w.db, w.wallet, SYM)
    over = str(held + Decimal("0.000000000000000001"))
    k = _refused(
        w,
        lambda k: ledger.redeem(w.db.uow(), w.wallet, SYM, over, idempotency_key=k),
        InsufficientTokens,
        f"wallet holds {formatting.quantity(held)}",  # what a person reads: at most 6 decimals
    )
    _refused(
        w,
        lambda k: ledger.redeem(w.db.uow(), w.wallet, SMALL, "1", idempotency_key=k),
        InsufficientTokens,
        "wallet holds 0",
    )
    trade = ledger.redeem(w.db.uow(), w.wallet, SYM, str(held), idempotency_key=k)
    assert trade.token_balance == 0


def test_organisation_not_verified(world: World) -> None:
    w = world
    _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), w.pending_wallet, SYM, "10", idempotency_key=k),
        OrganisationNotVerified,
        "not verified",
    )
    _refused(
        w,
        lambda k: ledger.redeem(w.db.uow(), w.pending_wallet, SYM, "1", idempotency_key=k),
        OrganisationNotVerified,
        "not verified",
    )


def test_unknown_wallet(world: World) -> None:
    w = world
    _refused(
        w,
        lambda k: ledger.buy(w.db.uow(), 999_999, SYM, "10", idempotency_key=k),
        NotFound,
        "wallet 999999 does not exist",
    )
    _refused(
        w, lambda k: ledger.deposit(w.db.uow(), 999_999, "10", idempotency_key=k), NotFound, "does not exist"
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than zero"),
        ("-10", "must be positive"),
        ("NaN", "NaN"),
        ("inf", "finite"),
        (10.5, "not float"),
        ("1.0000001", "more than 6 decimal places"),
        ("1000000001", "exceeds the limit"),
        ("0.009999", "must be at least $0.01 (one cent)"),
        ("0.000001", "must be at least $0.01 (one cent)"),
    ],
)
def test_bad_cash_amounts(world: World, amount: object, message: str) -> None:
    w = world
    for call in (
        lambda k: ledger.buy(w.db.uow(), w.wallet, SYM, amount, idempotency_key=k),
        lambda k: ledger.deposit(w.db.uow(), w.wallet, amount, idempotency_key=k),
        lambda k: ledger.withdraw(w.db.uow(), w.wallet, amount, idempotency_key=k),
    ):
        _refused(w, call, InvalidAmount, message)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "greater than zero"),
        ("-1", "must be positive"),
        ("sNaN", "NaN"),
        ("-Infinity", "finite"),
        (0.1, "not float"),
        ("1.0000000000000000001", "more than 18 decimal places"),
        ("1000000000001", "exceeds the limit"),
    ],
)
def test_bad_token_quantities(world: World, quantity: object, message: str) -> None:
    w = world
    _refused(
        w,
        lambda k: ledger.redeem(w.db.uow(), w.wallet, SYM, quantity, idempotency_key=k),
        InvalidAmount,
        message,
    )


def test_bad_marks_and_keys(world: World) -> None:
    w = world
    today = w.clock.now().date()
    _refused(
        w,
        lambda k: ledger.mark_nav(w.db.uow(), SYM, today, "-1", idempotency_key=k),
        ValidationError,
        "loss of 100 %",
    )
    _refused(
        w,
        lambda k: ledger.mark_nav(w.db.uow(), SYM, today, 0.01, idempotency_key=k),
        InvalidAmount,
        "not float",
    )
    _refused(
        w,
        lambda k: ledger.mark_nav(w.db.uow(), SYM, today, "11", idempotency_key=k),
        ValidationError,
        "implausibly large",
    )
    _refused(
        w,
        lambda _k: ledger.buy(w.db.uow(), w.wallet, SYM, "10", idempotency_key="  "),
        ValidationError,
        "idempotency key is required",
    )
    _refused(
        w,
        lambda _k: ledger.buy(w.db.uow(), w.wallet, SYM, "10", idempotency_key="x" * 201),
        ValidationError,
        "longer than 200",
    )


def test_marks_go_forward_only(world: World) -> None:
    w = world
    today = w.clock.now().date()
    ledger.mark_nav(w.db.uow(), SYM, today, "0.01")
    _refused(
        w,
        lambda k: ledger.mark_nav(w.db.uow(), SYM, today - timedelta(days=1), "0.01", idempotency_key=k),
        ValidationError,
        "marks go forward in time",
    )
