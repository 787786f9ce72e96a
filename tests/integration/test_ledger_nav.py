"""Daily NAV marks (``core.ledger.nav``) with fees switched off, so every figure follows from the rules
in its docstring and can be worked out by hand (SQLite file and PostgreSQL):

* the token is seeded with 100 house units at NAV 1 and the wallet buys $300: AUM 400, 400 units;
* day 1, +5 % (benchmark +2 %): P&L $20, AUM 420, NAV 1.05, peak 1.05, benchmark index 1.02;
* day 2, -10 % (benchmark 0): P&L -$42, AUM 378, NAV 0.945, the peak stays 1.05;
* day 3, 0 %: nothing is posted (no ledger transaction on the mark), AUM 378.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core import ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.errors import IdempotencyConflict, ValidationError
from core.ledger.results import NavMarked
from core.models import IdempotencyKey, LedgerTransaction, NavMark, StrategyToken
from tests.support.ledger_world import key, make_org, make_token, make_wallet, violations

pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-NAV-EXACT-001"


@pytest.fixture
def no_fees(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    monkeypatch.setenv("ARENA_PERFORMANCE_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def db(any_db: Database, no_fees: None) -> Database:
    make_token(any_db, SYM)
    wallet = make_wallet(any_db, make_org(any_db), cash="1000")
    ledger.buy(any_db.uow(), wallet, SYM, "300", idempotency_key=key())
    return any_db


def next_day(clock: SimulatedClock) -> dt.date:
    clock.advance(dt.timedelta(days=1))
    return clock.now().date()


def marks(db: Database) -> list[tuple[object, ...]]:
    with db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(NavMark).order_by(NavMark.as_of))
        return [
            (m.as_of, m.daily_return, m.benchmark_return, m.aum_before, m.aum_after, m.nav_per_token,
             m.circulating_supply, m.transaction_id is not None)
            for m in rows
        ]


def token(db: Database) -> dict[str, object]:
    with db.uow(read_only=True) as uow:
        t = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == SYM)).one()
        return {"aum": t.aum, "nav": t.nav_per_token, "peak": t.peak_nav, "bench": t.benchmark_index,
                "last": t.last_mark_date}


def test_three_marks_to_the_cent(db: Database, clock: SimulatedClock) -> None:
    d1, d2, d3 = next_day(clock), next_day(clock), next_day(clock)
    first = ledger.mark_nav(db.uow(), SYM, d1, "0.05", benchmark_return="0.02")
    assert first == NavMarked(SYM, d1.isoformat(), D("0.05"), D("1.05"), D(420), D(0), D(0), False)
    assert token(db) == {"aum": D(420), "nav": D("1.05"), "peak": D("1.05"), "bench": D("1.02"), "last": d1}
    second = ledger.mark_nav(db.uow(), SYM, d2, "-0.1")
    assert second == NavMarked(SYM, d2.isoformat(), D("-0.1"), D("0.945"), D(378), D(0), D(0), False)
    assert token(db) == {"aum": D(378), "nav": D("0.945"), "peak": D("1.05"), "bench": D("1.02"), "last": d2}
    third = ledger.mark_nav(db.uow(), SYM, d3, "0")
    assert (third.nav_per_token, third.aum) == (D("0.945"), D(378))
    assert marks(db) == [
        (d1, D("0.05"), D("0.02"), D(400), D(420), D("1.05"), D(400), True),
        (d2, D("-0.1"), D(0), D(420), D(378), D("0.945"), D(400), True),
        (d3, D(0), D(0), D(378), D(378), D("0.945"), D(400), False),  # no P&L, no transaction
    ]
    with db.uow(read_only=True) as uow:
        token_id = uow.session.scalars(select(StrategyToken.id).where(StrategyToken.symbol == SYM)).one()
        filed = uow.session.execute(
            select(LedgerTransaction.token_id, LedgerTransaction.details)
            .where(LedgerTransaction.kind == "nav.mark")
            .order_by(LedgerTransaction.id)
        ).all()
    # The writer files a nav.mark transaction for the flat day too; only the mark row leaves it out.
    assert [tuple(row) for row in filed] == [
        (token_id, {"as_of": d1.isoformat(), "return": "0.050000000000000000"}),
        (token_id, {"as_of": d2.isoformat(), "return": "-0.100000000000000000"}),
        (token_id, {"as_of": d3.isoformat(), "return": "0.000000000000000000"}),
    ]
    assert violations(db) == []


def test_marking_a_day_again_returns_the_stored_mark(db: Database, clock: SimulatedClock) -> None:
    d1, d2 = next_day(clock), next_day(clock)
    ledger.mark_nav(db.uow(), SYM, d1, "0.05")
    ledger.mark_nav(db.uow(), SYM, d2, "-0.1")
    # Another key and another return for day 1: the stored day-1 mark, flagged, and no change.
    again = ledger.mark_nav(db.uow(), SYM, d1, "0.5", idempotency_key=key("mark"))
    assert again == NavMarked(SYM, d1.isoformat(), D("0.05"), D("1.05"), D(420), D(0), D(0), True)
    assert token(db)["aum"] == D(378)
    # The default key is "nav:<symbol>:<day>" (symbol cleaned): a different return under it conflicts.
    with db.uow(read_only=True) as uow:
        assert uow.session.get(IdempotencyKey, f"nav:{SYM}:{d1.isoformat()}") is not None
    with pytest.raises(IdempotencyConflict):
        ledger.mark_nav(db.uow(), f"  {SYM.lower()} ", d2, "0.2")
    assert len(marks(db)) == 2


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0.0000000000000000015", D("0.000000000000000002")),  # half-even to 1e-18: up to even
        ("0.0000000000000000025", D("0.000000000000000002")),  # and down to even
        ("-0.999999", D("-0.999999")),  # a loss just under 100 % is a market
        ("10", D(10)),  # +1000 % is the largest accepted day
    ],
)
def test_returns_are_kept_to_1e18_half_even(
    db: Database, clock: SimulatedClock, given: str, stored: D
) -> None:
    marked = ledger.mark_nav(db.uow(), SYM, next_day(clock), given)
    assert marked.daily_return == stored
    assert marks(db)[0][1] == stored


@pytest.mark.parametrize(
    ("daily", "bench", "message"),
    [
        ("-1", "0", "daily return -1 is a loss of 100 % or more; a NAV cannot go below zero"),
        ("-1.5", "0", "daily return -1.5 is a loss of 100 % or more; a NAV cannot go below zero"),
        ("10.000001", "0", "daily return 10.000001 is implausibly large for one day; check the data"),
        ("0", "-1", "benchmark return -1 is a loss of 100 % or more; a NAV cannot go below zero"),
        ("0", "11", "benchmark return 11 is implausibly large for one day; check the data"),
    ],
)
def test_impossible_returns_are_refused_in_one_line(
    db: Database, clock: SimulatedClock, daily: str, bench: str, message: str
) -> None:
    before = token(db)
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        ledger.mark_nav(db.uow(), SYM, next_day(clock), daily, benchmark_return=bench)
    assert token(db) == before and marks(db) == []


def test_a_retired_token_with_holders_is_still_marked(db: Database, clock: SimulatedClock) -> None:
    from tests.support.ledger_world import set_token_status

    set_token_status(db, SYM, "retired")
    marked = ledger.mark_nav(db.uow(), SYM, next_day(clock), "0.05")
    assert (marked.aum, marked.already_marked) == (D(420), False)


def test_accrue_fees_returns_the_fee_booked(any_db: Database, clock: SimulatedClock) -> None:
    """Management fee 1 %/yr on AUM 400 for 365 days: $4 (the default rates; fees on here)."""
    make_token(any_db, SYM)
    wallet = make_wallet(any_db, make_org(any_db), cash="1000")
    ledger.buy(any_db.uow(), wallet, SYM, "300", idempotency_key=key())
    clock.advance(dt.timedelta(days=365))
    assert ledger.accrue_fees(any_db.uow(), SYM.lower(), idempotency_key=key()) == D(4)
    assert token(any_db)["aum"] == D(396)
    assert token(any_db)["nav"] == D("0.99")  # 396 / 400
    # The same key again: the stored fee, nothing booked twice.
    again = key()
    clock.advance(dt.timedelta(days=365))
    assert ledger.accrue_fees(any_db.uow(), SYM, idempotency_key=again) == D("3.96")  # 1 % of 396
    assert ledger.accrue_fees(any_db.uow(), SYM, idempotency_key=again) == D("3.96")
    assert token(any_db)["aum"] == D("392.04")


def test_the_default_key_covers_the_benchmark(db: Database, clock: SimulatedClock) -> None:
    day = next_day(clock)
    ledger.mark_nav(db.uow(), SYM, day, "0.01", benchmark_return="0.01")
    with pytest.raises(IdempotencyConflict):
        ledger.mark_nav(db.uow(), SYM, day, "0.01", benchmark_return="0.02")


def test_two_tokens_marked_the_same_day_keep_their_own_marks(db: Database, clock: SimulatedClock) -> None:
    """The stored-mark lookup is per (token, day): marking a second token on a day the first was
    marked books the second token's own P&L (its pool of 100 house units +20 % = 120)."""
    other = "STRAT-NAV-OTHER-001"
    make_token(db, other)
    day = next_day(clock)
    ledger.mark_nav(db.uow(), SYM, day, "0.05")
    second = ledger.mark_nav(db.uow(), other, day, "0.2")
    assert second == NavMarked(other, day.isoformat(), D("0.2"), D("1.2"), D(120), D(0), D(0), False)
    assert token(db)["aum"] == D(420)


@pytest.mark.parametrize(
    ("daily", "bench", "field"), [("abc", "0", "daily return"), ("0", "abc", "benchmark return")]
)
def test_an_unreadable_return_names_its_field(
    db: Database, clock: SimulatedClock, daily: str, bench: str, field: str
) -> None:
    message = f"{field} 'abc' is not a number; write it like 100 or 12.50"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        ledger.mark_nav(db.uow(), SYM, next_day(clock), daily, benchmark_return=bench)
