"""Redemption limit and queue to the cent, on real databases, with fees switched off so that every
figure below is worked out by hand (world: tests/support/risk_world.py; AUM 10,100 at NAV 1).
Limit: a token pays out at most 10 % of its AUM per UTC day; the rest queues first-in-first-out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import InsufficientTokens, LimitExceeded, TradingHalted
from core.models import StrategyToken
from core.models.wallets_ext import RedemptionRequest
from core.risk import (
    halt_trading,
    redeem_or_queue,
    remaining_capacity,
)
from core.risk.redemption import peek_capacity
from tests.support.ledger_world import holding_of, key, make_token, make_user, make_wallet, violations
from tests.support.risk_world import OTHER, SYM, no_fees  # noqa: F401  (autouse: fees off)
from tests.support.risk_world import queued_request as _request
from tests.support.risk_world import release as _release
from tests.support.risk_world import world as _world


def test_exactly_the_days_limit_may_leave_and_not_a_unit_more(
    any_db: Database, clock: SimulatedClock
) -> None:
    _org, wallet = _world(any_db)
    with pytest.raises(LimitExceeded) as refused:
        ledger.redeem(any_db.uow(), wallet, SYM, "1010.01", idempotency_key=key())
    assert str(refused.value) == (
        f"{SYM} can pay out only $1,010.00 more today (10 % of its AUM per day); redeem less, "
        "or use a queued redemption for the rest"
    )
    assert holding_of(any_db, wallet, SYM)[0] == Decimal("10000")  # nothing left the wallet
    first = ledger.redeem(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())
    assert first.cash == Decimal("1000")
    with any_db.uow() as uow:
        token = uow.session.scalars(select(StrategyToken)).one()
        assert remaining_capacity(uow.session, token, clock.now().date()) == Decimal("10")
        assert peek_capacity(uow.session, token, clock.now().date()) == Decimal("10")
        # Another day has no usage row yet: its limit is 10 % of today's AUM (9,100).
        tomorrow = clock.now().date() + timedelta(days=1)
        assert peek_capacity(uow.session, token, tomorrow) == Decimal("910")
    with pytest.raises(LimitExceeded, match=r"only \$10\.00 more today"):
        ledger.redeem(any_db.uow(), wallet, SYM, "10.01", idempotency_key=key())
    ledger.redeem(any_db.uow(), wallet, SYM, "10", idempotency_key=key())  # exactly the rest
    with pytest.raises(LimitExceeded, match=r"only \$0\.00 more today"):
        ledger.redeem(any_db.uow(), wallet, SYM, "0.01", idempotency_key=key())
    clock.advance(timedelta(days=1))  # a new UTC day: 10 % of 9,090
    with pytest.raises(LimitExceeded, match=r"only \$909\.00 more today"):
        ledger.redeem(any_db.uow(), wallet, SYM, "909.01", idempotency_key=key())
    ledger.redeem(any_db.uow(), wallet, SYM, "909", idempotency_key=key())
    assert violations(any_db) == []


def test_queued_redemption_is_paid_in_daily_parts_to_the_cent(
    any_db: Database, clock: SimulatedClock
) -> None:
    _org, wallet = _world(any_db)
    out = redeem_or_queue(any_db.uow(), wallet, SYM, "3000", idempotency_key=key())
    # Day 1: 10 % of 10,100 = 1,010 now, 1,990 queued for tomorrow.
    assert (out.redeemed_now, out.cash_now, out.queued) == (Decimal("1010"), Decimal("1010"), Decimal("1990"))
    assert out.message == (
        f"Redeemed 1,010 {SYM} for $1,010.00 now. The remaining 1,990 are queued (#{out.request_id}) "
        "for tomorrow: a token pays out at most 10 % of its AUM per day, first come first served."
    )
    request = _request(any_db)
    assert (request.status, request.quantity, request.wallet_id) == ("queued", Decimal("1990"), wallet)
    assert request.available_on == clock.now().date() + timedelta(days=1)
    assert _release(any_db, clock) == []  # not due today
    # Day 2: AUM 9,090 -> 909 paid, 1,081 left, still first in line.
    clock.advance(timedelta(days=1))
    day2 = _release(any_db, clock)
    assert [(o.redeemed_now, o.cash_now, o.queued) for o in day2] == [
        (Decimal("909"), Decimal("909"), Decimal("1081"))
    ]
    assert day2[0].message == (
        f"Queued redemption #{request.id}: paid 909 {SYM} for $909.00; the remaining 1,081 wait for tomorrow."
    )
    request = _request(any_db)
    assert (request.status, request.quantity, request.cash_out) == ("queued", Decimal("1081"), Decimal("909"))
    assert request.available_on == clock.now().date() + timedelta(days=1)
    assert request.note == f"partly paid on {clock.now().date()}"
    # The release used the day's capacity: a direct redeem the same day is refused.
    with pytest.raises(LimitExceeded, match=r"only \$0\.00 more today"):
        ledger.redeem(any_db.uow(), wallet, SYM, "1", idempotency_key=key())
    # Day 3: AUM 8,181 -> 818.1 paid, 262.9 left. Day 4: AUM 7,362.9 (limit 736.29) -> the rest.
    clock.advance(timedelta(days=1))
    assert [o.redeemed_now for o in _release(any_db, clock)] == [Decimal("818.1")]
    clock.advance(timedelta(days=1))
    day4 = _release(any_db, clock)
    assert [(o.redeemed_now, o.cash_now, o.queued) for o in day4] == [
        (Decimal("262.9"), Decimal("262.9"), Decimal("0"))
    ]
    assert day4[0].message == f"Queued redemption #{request.id} paid $262.90."
    request = _request(any_db)
    assert (request.status, request.cash_out) == ("done", Decimal("1990"))
    assert request.executed_at is not None and request.executed_at.date() == clock.now().date()
    assert holding_of(any_db, wallet, SYM)[0] == Decimal("7000")
    clock.advance(timedelta(days=1))
    assert _release(any_db, clock) == []
    assert violations(any_db) == []


def test_the_queue_is_first_come_first_served_across_wallets(any_db: Database, clock: SimulatedClock) -> None:
    org, first = _world(any_db)
    second = make_wallet(any_db, org, cash="1000", owner_user_ids=[make_user(any_db, 778, org)], tier="basic")
    ledger.buy(any_db.uow(), second, SYM, "1000", idempotency_key=key())  # AUM 11,100: limit 1,110
    a = redeem_or_queue(any_db.uow(), first, SYM, "3000", idempotency_key=key())
    b = redeem_or_queue(any_db.uow(), second, SYM, "5", idempotency_key=key())
    assert (a.redeemed_now, a.queued) == (Decimal("1110"), Decimal("1890"))
    assert (b.redeemed_now, b.cash_now, b.queued) == (Decimal("0"), Decimal("0"), Decimal("5"))
    # Day 2: AUM 9,990 -> 999 for the head of the queue; the small later request waits behind it.
    clock.advance(timedelta(days=1))
    day2 = _release(any_db, clock)
    assert [(o.request_id, o.redeemed_now) for o in day2] == [(a.request_id, Decimal("999"))]
    with any_db.uow(read_only=True) as uow:
        waiting = uow.session.get(RedemptionRequest, b.request_id)
        assert waiting is not None and waiting.status == "queued" and waiting.quantity == Decimal("5")
    # Day 3: AUM 8,991 -> 899.1 paid of the 891 left: the head is done, then the second is paid.
    clock.advance(timedelta(days=1))
    day3 = _release(any_db, clock)
    assert [(o.request_id, o.redeemed_now) for o in day3] == [
        (a.request_id, Decimal("891")),
        (b.request_id, Decimal("5")),
    ]
    assert violations(any_db) == []


def test_a_request_the_wallet_can_no_longer_cover_is_cancelled(
    any_db: Database, clock: SimulatedClock
) -> None:
    _org, wallet = _world(any_db, buy="2000")  # AUM 2,100: limit 210
    out = redeem_or_queue(any_db.uow(), wallet, SYM, "1500", idempotency_key=key())
    assert (out.redeemed_now, out.queued) == (Decimal("210"), Decimal("1290"))
    clock.advance(timedelta(days=1))  # AUM 1,890: limit 189; the wallet redeems its own 189 directly
    ledger.redeem(any_db.uow(), wallet, SYM, "189", idempotency_key=key())
    # 1,601 left, the request wants 1,290: still covered; the limit is used up: it waits.
    assert _release(any_db, clock) == []
    assert _request(any_db).status == "queued"
    clock.advance(timedelta(days=1))  # AUM 1,701: limit 170.1, all redeemed directly
    ledger.redeem(any_db.uow(), wallet, SYM, "170.1", idempotency_key=key())
    clock.advance(timedelta(days=1))  # 1,430.9 held; limit 153.09: redeem 153 -> 1,277.9 < 1,290
    ledger.redeem(any_db.uow(), wallet, SYM, "153", idempotency_key=key())
    assert _release(any_db, clock) == []
    request = _request(any_db)
    assert (request.status, request.note) == ("cancelled", "the wallet no longer holds these tokens")
    assert holding_of(any_db, wallet, SYM)[0] == Decimal("1277.9")


def test_redeeming_more_than_is_held_beside_the_queue_is_refused(any_db: Database) -> None:
    _org, wallet = _world(any_db)
    redeem_or_queue(any_db.uow(), wallet, SYM, "9000", idempotency_key=key())  # 1,010 now, 7,990 queued
    with pytest.raises(InsufficientTokens) as refused:
        redeem_or_queue(any_db.uow(), wallet, SYM, "1000.5", idempotency_key=key())
    assert (
        str(refused.value) == f"cannot redeem 1,000.5 {SYM}: wallet holds 8,990 of which 7,990 already queued"
    )
    with any_db.uow(read_only=True) as uow:
        assert len(uow.session.scalars(select(RedemptionRequest)).all()) == 1
    fits = redeem_or_queue(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())
    assert (fits.redeemed_now, fits.queued) == (Decimal("0"), Decimal("1000"))  # today's limit is used
    assert fits.message.startswith(f"Redeemed 0 {SYM} for $0.00 now. The remaining 1,000 are queued")


def test_queued_redemptions_are_paid_while_trading_is_halted(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db)
    out = redeem_or_queue(any_db.uow(), wallet, SYM, "2000", idempotency_key=key())
    assert out.queued == Decimal("990")
    with any_db.uow() as uow:
        halt_trading(uow.session, clock.now(), admin="user:1", reason="incident")
        uow.commit()
    clock.advance(timedelta(days=1))
    with pytest.raises(TradingHalted):  # the holder's own trades are blocked ...
        redeem_or_queue(any_db.uow(), wallet, SYM, "1", idempotency_key=key())
    released = _release(any_db, clock)  # ... the platform's release of the queue is not
    assert [o.redeemed_now for o in released] == [Decimal("909")]


@pytest.mark.parametrize("quantity", ["500", "3000"])
def test_a_replayed_redemption_returns_the_stored_outcome(any_db: Database, quantity: str) -> None:
    _org, wallet = _world(any_db)
    k = key()
    first = redeem_or_queue(any_db.uow(), wallet, SYM, quantity, idempotency_key=k)
    again = redeem_or_queue(any_db.uow(), wallet, SYM, quantity, idempotency_key=k)
    assert again == first
    assert (first.request_id is None) == (quantity == "500")
    assert holding_of(any_db, wallet, SYM)[0] == Decimal("10000") - first.redeemed_now
    assert first.to_dict() == {
        "symbol": SYM,
        "redeemed_now": format(first.redeemed_now, "f"),
        "cash_now": format(first.cash_now, "f"),
        "queued": format(first.queued, "f"),
        "request_id": first.request_id,
        "message": first.message,
    }


def test_queues_and_limits_are_per_token(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db)
    make_token(any_db, OTHER, supply="1000000")
    ledger.buy(any_db.uow(), wallet, OTHER, "5000", idempotency_key=key())  # OTHER AUM 5,100: limit 510
    a = redeem_or_queue(any_db.uow(), wallet, SYM, "3000", idempotency_key=key())  # 1,010 now
    b = redeem_or_queue(any_db.uow(), wallet, OTHER, "5000", idempotency_key=key())  # the whole holding
    assert (a.symbol, a.redeemed_now, a.queued) == (SYM, Decimal("1010"), Decimal("1990"))
    assert (b.symbol, b.redeemed_now, b.queued) == (OTHER, Decimal("510"), Decimal("4490"))
    with any_db.uow() as uow:
        tokens = {t.symbol: t for t in uow.session.scalars(select(StrategyToken))}
        today = clock.now().date()
        assert peek_capacity(uow.session, tokens[SYM], today) == 0
        assert peek_capacity(uow.session, tokens[OTHER], today) == 0
    clock.advance(timedelta(days=1))  # SYM AUM 9,090 -> 909; OTHER AUM 4,590 -> 459
    released = _release(any_db, clock)
    assert [(o.symbol, o.redeemed_now) for o in released] == [(SYM, Decimal("909")), (OTHER, Decimal("459"))]
    with any_db.uow() as uow:
        tokens = {t.symbol: t for t in uow.session.scalars(select(StrategyToken))}
        assert remaining_capacity(uow.session, tokens[SYM], clock.now().date()) == 0
        assert remaining_capacity(uow.session, tokens[OTHER], clock.now().date()) == 0


def test_two_releases_on_one_day_share_its_capacity(any_db: Database, clock: SimulatedClock) -> None:
    org, first = _world(any_db)
    second = make_wallet(any_db, org, cash="1000", owner_user_ids=[make_user(any_db, 778, org)], tier="basic")
    ledger.buy(any_db.uow(), second, SYM, "1000", idempotency_key=key())  # AUM 11,100
    redeem_or_queue(any_db.uow(), first, SYM, "1110", idempotency_key=key())  # the whole day's 1,110
    redeem_or_queue(any_db.uow(), first, SYM, "100", idempotency_key=key())  # queued
    redeem_or_queue(any_db.uow(), second, SYM, "200", idempotency_key=key())  # queued
    clock.advance(timedelta(days=1))  # AUM 9,990: limit 999 -> both paid, 300 used, 699 left
    assert [o.redeemed_now for o in _release(any_db, clock)] == [Decimal("100"), Decimal("200")]
    with any_db.uow() as uow:
        token = uow.session.scalars(select(StrategyToken)).one()
        assert remaining_capacity(uow.session, token, clock.now().date()) == Decimal("699")
        uow.commit()


def test_a_sub_unit_remainder_is_queued_and_paid(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db)
    out = redeem_or_queue(any_db.uow(), wallet, SYM, "1010.5", idempotency_key=key())
    assert (out.redeemed_now, out.queued) == (Decimal("1010"), Decimal("0.5")) and out.request_id is not None
    assert _request(any_db).quantity == Decimal("0.5")
    clock.advance(timedelta(days=1))
    assert [(o.redeemed_now, o.cash_now) for o in _release(any_db, clock)] == [
        (Decimal("0.5"), Decimal("0.5"))
    ]
    assert _request(any_db).status == "done"


def test_queueing_the_whole_holding_pays_it_all(any_db: Database, clock: SimulatedClock) -> None:
    _org, wallet = _world(any_db, buy="1000")  # AUM 1,100: limit 110
    out = redeem_or_queue(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())
    assert (out.redeemed_now, out.queued) == (Decimal("110"), Decimal("890"))  # holding == request
    # Each day pays 10 % of AUM (100 house units + what is left): r -> 0.9 r - 10, done on day 22.
    for _day in range(22):
        clock.advance(timedelta(days=1))
        _release(any_db, clock)
    request = _request(any_db)
    assert (request.status, request.cash_out) == ("done", Decimal("890"))
    assert holding_of(any_db, wallet, SYM)[0] == 0
    # Done requests no longer count as queued: the wallet may buy and queue again.
    ledger.buy(any_db.uow(), wallet, SYM, "10", idempotency_key=key())
    again = redeem_or_queue(any_db.uow(), wallet, SYM, "10", idempotency_key=key())
    assert again.redeemed_now + again.queued == Decimal("10")


def test_an_immediate_redemption_says_so_and_a_blocked_request_waits_one_day(
    any_db: Database, clock: SimulatedClock
) -> None:
    _org, wallet = _world(any_db)
    now = redeem_or_queue(any_db.uow(), wallet, SYM, "500", idempotency_key=key())
    assert now.message == f"Redeemed 500 {SYM} for $500.00." and now.request_id is None
    redeem_or_queue(any_db.uow(), wallet, SYM, "600", idempotency_key=key())  # 510 now, 90 queued
    clock.advance(timedelta(days=1))
    ledger.redeem(any_db.uow(), wallet, SYM, "909", idempotency_key=key())  # 10 % of 9,090: all of it
    assert _release(any_db, clock) == []
    assert _request(any_db).available_on == clock.now().date() + timedelta(days=1)


def test_a_blocked_token_does_not_hold_up_another_tokens_queue(
    any_db: Database, clock: SimulatedClock
) -> None:
    _org, wallet = _world(any_db)
    make_token(any_db, OTHER, supply="1000000")
    ledger.buy(any_db.uow(), wallet, OTHER, "5000", idempotency_key=key())  # OTHER AUM 5,100: limit 510
    redeem_or_queue(any_db.uow(), wallet, SYM, "3000", idempotency_key=key())  # 1,010 now, #1: 1,990
    redeem_or_queue(any_db.uow(), wallet, SYM, "100", idempotency_key=key())  # #2: 100, behind #1
    redeem_or_queue(any_db.uow(), wallet, OTHER, "600", idempotency_key=key())  # 510 now, #3: 90
    clock.advance(timedelta(days=1))  # SYM: 909 of #1, then #2 waits; OTHER: limit 459 pays #3
    released = _release(any_db, clock)
    assert [(o.symbol, o.redeemed_now) for o in released] == [(SYM, Decimal("909")), (OTHER, Decimal("90"))]
