"""Matching on the internal exchange, with ledgers computed by hand.

The market (``tests/support/exchange_world.py``): token supply 600, sold out — house 100, A 300,
C 200, all bought at NAV 1.00 — and every wallet funded with 10,000 USD. Expected figures below are
worked out in the comments from the rules (trade at the resting order's price; cash = floor(q x p)
to 6 decimals; fee = floor(cash x rate), paid by the buyer, 5 % of it to the insurance fund).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import exchange, ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.errors import InsufficientCash, InsufficientTokens, InvalidAmount, NotFound, TokenNotTradable
from core.models import FeeAccrual, LedgerTransaction, Posting
from tests.support.exchange_world import SYM, sold_out_market, state
from tests.support.ledger_world import (
    account_balance,
    key,
    make_wallet,
    snapshot,
    token_state,
    violations,
)

D = Decimal
pytestmark = pytest.mark.usefixtures("pure_ledger")


def place(db: Database, wallet: int, side: str, qty: str, price: str, **kw: object) -> exchange.OrderResult:
    return exchange.place_order(db.uow(), wallet, side, SYM, qty, price, idempotency_key=key("o"), **kw)  # type: ignore[arg-type]


def test_price_time_priority_partial_fill_and_the_resulting_ledger(any_db: Database) -> None:
    m = sold_out_market(any_db)
    assert token_state(any_db, SYM)["circulating"] == token_state(any_db, SYM)["total_supply"] == D(600)
    first = place(any_db, m.a, "ask", "100", "1.02")
    older = place(any_db, m.c, "ask", "50", "1.01")
    newer = place(any_db, m.a, "ask", "70", "1.01")
    bid = place(any_db, m.b, "bid", "150", "1.02")
    # Best price first, oldest first at one price: C's 50 @ 1.01, A's 70 @ 1.01, then 30 of A's @ 1.02.
    assert [(f.ask_order_id, f.quantity, f.price, f.cash) for f in bid.fills] == [
        (older.order_id, D(50), D("1.01"), D("50.50")),
        (newer.order_id, D(70), D("1.01"), D("70.70")),
        (first.order_id, D(30), D("1.02"), D("30.60")),
    ]
    assert (bid.status, bid.remaining, bid.cash_reserved) == ("filled", D(0), D(0))
    b = state(any_db, m.b)
    assert (b.cash, b.units, b.cash_reserved) == (D("9848.20"), D(150), D(0))  # 10,000 - 151.80
    assert b.avg_cost == D("1.012")  # 151.80 / 150
    a = state(any_db, m.a)
    # 10,000 - 300 (bought) + 70.70 + 30.60; 300 - 100 units, of which 70 still offered at 1.02
    assert (a.cash, a.units, a.units_reserved) == (D("9801.30"), D(200), D(70))
    assert (a.free_units_account, a.reserved_units_account) == (D(130), D(70))
    assert a.realized == D("1.30")  # (70.70 - 70) + (30.60 - 30)
    c = state(any_db, m.c)
    assert (c.cash, c.units, c.units_reserved, c.realized) == (D("9850.50"), D(150), D(0), D("0.50"))
    assert token_state(any_db, SYM)["circulating"] == D(600)  # holders traded; supply did not move
    with any_db.uow(read_only=True) as uow:
        fills = list(
            uow.session.scalars(select(LedgerTransaction).where(LedgerTransaction.kind == "exchange.fill"))
        )
        assert len(fills) == 3
        legs = sorted(
            (p.asset, p.amount)
            for p in uow.session.scalars(select(Posting).where(Posting.transaction_id == fills[0].id))
        )
    assert legs == sorted([(SYM, D(-50)), (SYM, D(50)), ("USD", D("-50.50")), ("USD", D("50.50"))])
    assert violations(any_db) == []


def test_resting_bid_reserves_cash_and_fee_then_pays_the_fee_to_revenue_and_insurance(
    any_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_EXCHANGE_FEE_RATE", "0.01")
    get_settings.cache_clear()
    try:
        m = sold_out_market(any_db)
        bid = place(any_db, m.b, "bid", "100", "1.00")
        assert (bid.status, bid.cash_reserved) == ("open", D("101.00"))  # 100 x 1.00 + 1 % fee
        b = state(any_db, m.b)
        assert (b.cash, b.cash_reserved, b.free_cash_account, b.reserved_cash_account) == (
            D(10000),
            D(101),
            D(9899),
            D(101),
        )
        sold = place(any_db, m.a, "ask", "40", "0.99")  # trades at the bid's 1.00
        assert [(f.quantity, f.price, f.cash, f.fee) for f in sold.fills] == [(D(40), D(1), D(40), D("0.40"))]
        assert state(any_db, m.b).cash_reserved == D("60.60")  # 101 - 40.40
        assert state(any_db, m.a).cash == D("9740")  # 10,000 - 300 + 40
        place(any_db, m.c, "ask", "60", "1.00")
        b = state(any_db, m.b)
        assert (b.cash, b.cash_reserved, b.units, b.avg_cost) == (D("9899"), D(0), D(100), D("1.01"))
        # fees 0.40 + 0.60: 5 % of each (0.02, 0.03) to insurance, the rest (0.38, 0.57) to revenue
        assert account_balance(any_db, "platform:insurance") == D("0.05")
        assert account_balance(any_db, "platform:fees") == D("0.95")
        with any_db.uow(read_only=True) as uow:
            accruals = [
                (f.fee_amount, f.insurance_amount)
                for f in uow.session.scalars(
                    select(FeeAccrual).where(FeeAccrual.kind == "exchange").order_by(FeeAccrual.id)
                )
            ]
        assert accruals == [(D("0.40"), D("0.02")), (D("0.60"), D("0.03"))]
        assert violations(any_db) == []
    finally:
        get_settings.cache_clear()


def test_a_taker_pays_the_resting_price_and_its_rest_reserves_at_its_own(any_db: Database) -> None:
    m = sold_out_market(any_db)
    place(any_db, m.a, "ask", "40", "1.00")
    bid = place(any_db, m.b, "bid", "100", "1.03")
    assert [(f.quantity, f.cash) for f in bid.fills] == [(D(40), D(40))]
    assert (bid.status, bid.remaining, bid.cash_reserved) == ("open", D(60), D("61.80"))  # 60 x 1.03
    b = state(any_db, m.b)
    assert (b.cash, b.cash_reserved, b.free_cash_account) == (D(9960), D("61.80"), D("9898.20"))
    # C sells into the resting bid at the bid's price; the bid is done and nothing stays reserved
    sold = place(any_db, m.c, "ask", "60", "1.00")
    assert [(f.price, f.cash) for f in sold.fills] == [(D("1.03"), D("61.80"))]
    assert state(any_db, m.b).cash_reserved == D(0)
    assert violations(any_db) == []


def test_no_self_trade_within_an_organisation(any_db: Database) -> None:
    m = sold_out_market(any_db)
    second = make_wallet(any_db, m.org_a, name="Building fund")
    ask = place(any_db, m.a, "ask", "10", "1.00")
    before = snapshot(any_db)
    for wallet in (m.a, second):
        with pytest.raises(exchange.SelfTrade, match=f"#{ask.order_id}"):
            place(any_db, wallet, "bid", "10", "1.00")
    assert snapshot(any_db) == before
    # Another organisation's bid below the ask does not cross: it rests.
    assert place(any_db, m.b, "bid", "10", "0.99").status == "open"
    assert violations(any_db) == []


def test_price_band_around_nav(any_db: Database) -> None:
    m = sold_out_market(any_db)
    with pytest.raises(exchange.OutsidePriceBand, match=r"NAV \$1\.0000"):
        place(any_db, m.a, "ask", "10", "1.050001")
    with pytest.raises(exchange.OutsidePriceBand):
        place(any_db, m.b, "bid", "10", "0.949999")
    assert place(any_db, m.a, "ask", "10", "1.05").status == "open"  # exactly 5 % is inside
    assert place(any_db, m.b, "bid", "10", "0.95").status == "open"


def test_expired_orders_never_fill_and_the_sweep_releases_them(
    any_db: Database, clock: SimulatedClock
) -> None:
    m = sold_out_market(any_db)
    ask = place(any_db, m.a, "ask", "50", "1.00", days=1)
    clock.advance(timedelta(days=1, seconds=1))
    bid = place(any_db, m.b, "bid", "50", "1.00")
    assert (bid.fills, bid.status) == ([], "open")  # the expired ask is skipped
    assert violations(any_db) == []  # not yet swept: still locked, still consistent
    with any_db.uow() as uow:
        report = exchange.sweep_in(uow.session, uow.clock.now())
        uow.commit()
    assert (report.expired, report.cancelled) == (1, 0)
    a = state(any_db, m.a)
    assert (a.units, a.units_reserved, a.free_units_account) == (D(300), D(0), D(300))
    with any_db.uow(read_only=True) as uow:
        views = exchange.list_orders(uow.session, wallet_ids={m.a}, open_only=False)
    assert [(v.order_id, v.status) for v in views] == [(ask.order_id, "expired")]
    assert violations(any_db) == []


def test_cancel_releases_the_reservation_once(any_db: Database) -> None:
    m = sold_out_market(any_db)
    bid = place(any_db, m.b, "bid", "100", "1.01")
    ask = place(any_db, m.a, "ask", "80", "1.02")
    with pytest.raises(NotFound):
        exchange.cancel_order(any_db.uow(), bid.order_id, wallet_ids={m.a}, idempotency_key=key())
    closed = exchange.cancel_order(any_db.uow(), bid.order_id, wallet_ids={m.b}, idempotency_key=key())
    assert (closed.status, closed.released_cash, closed.already_closed) == ("cancelled", D(101), False)
    again = exchange.cancel_order(any_db.uow(), bid.order_id, wallet_ids={m.b}, idempotency_key=key())
    assert again.already_closed and again.released_cash == 0
    exchange.cancel_order(any_db.uow(), ask.order_id, wallet_ids={m.a}, idempotency_key=key())
    b, a = state(any_db, m.b), state(any_db, m.a)
    assert (b.cash, b.cash_reserved, b.reserved_cash_account, b.free_cash_account) == (
        D(10000),
        0,
        0,
        D(10000),
    )
    assert (a.units, a.units_reserved, a.free_units_account) == (D(300), 0, D(300))
    assert violations(any_db) == []


def test_reserved_funds_cannot_be_redeemed_bought_with_or_withdrawn(any_db: Database) -> None:
    m = sold_out_market(any_db)
    place(any_db, m.a, "ask", "300", "1.00")
    with pytest.raises(InsufficientTokens, match="reserved by open orders"):
        ledger.redeem(any_db.uow(), m.a, SYM, "1", idempotency_key=key())
    with pytest.raises(InsufficientTokens, match="reserved by your open asks"):
        place(any_db, m.a, "ask", "1", "1.00")
    place(any_db, m.b, "bid", "9000", "0.99")  # reserves 8,910
    with pytest.raises(InsufficientCash, match="reserved"):
        ledger.withdraw(any_db.uow(), m.b, "1091", idempotency_key=key())
    with pytest.raises(InsufficientCash, match="reserved by your open bids"):
        place(any_db, m.b, "bid", "1110", "0.99")  # 1,098.90 > 1,090 free
    ledger.withdraw(any_db.uow(), m.b, "1090", idempotency_key=key())  # exactly what is free
    assert violations(any_db) == []


def test_order_value_and_token_status_are_checked_before_anything_is_written(any_db: Database) -> None:
    from tests.support.ledger_world import set_token_status

    m = sold_out_market(any_db)
    before = snapshot(any_db)
    with pytest.raises(InvalidAmount, match="at least"):
        place(any_db, m.a, "ask", "0.5", "1.00")
    set_token_status(any_db, SYM, "proving")
    with pytest.raises(TokenNotTradable):
        place(any_db, m.a, "ask", "5", "1.00")
    set_token_status(any_db, SYM, "active")
    assert snapshot(any_db) == before


def test_retiring_a_token_cancels_its_orders_before_redeeming_holders(any_db: Database) -> None:
    from core.notify import CollectingNotifier
    from core.tokens import retire_in

    m = sold_out_market(any_db)
    place(any_db, m.a, "ask", "100", "1.00")
    place(any_db, m.b, "bid", "50", "0.99")
    notifier = CollectingNotifier()
    with any_db.uow() as uow:
        wind = retire_in(uow.session, uow.clock.now(), SYM, "test", notifier=notifier)
        uow.commit()
    assert wind.holders_redeemed == 3  # house, A, C: every unit, reserved ones included
    b = state(any_db, m.b)
    assert (b.cash, b.cash_reserved) == (D(10000), D(0))
    with any_db.uow(read_only=True) as uow:
        assert exchange.list_orders(uow.session) == []
    assert violations(any_db) == []


def test_a_halt_cancels_every_open_order_and_refuses_new_ones(any_db: Database) -> None:
    from core.notify import CollectingNotifier
    from core.risk import halt_trading

    m = sold_out_market(any_db)
    place(any_db, m.a, "ask", "100", "1.00")
    place(any_db, m.b, "bid", "50", "0.99")
    notifier = CollectingNotifier()
    with any_db.uow() as uow:
        halt_trading(uow.session, uow.clock.now(), admin="test", reason="drill")
        report = exchange.sweep_in(uow.session, uow.clock.now(), notifier=notifier)
        uow.commit()
    assert report.cancelled == 2 and len(notifier.messages) == 0  # test wallets have no chat owners
    with pytest.raises(exchange.TradingHalted):
        place(any_db, m.a, "ask", "10", "1.00")
    assert (state(any_db, m.a).units_reserved, state(any_db, m.b).cash_reserved) == (0, 0)
    assert violations(any_db) == []


def test_the_digest_names_the_latest_proof_of_liabilities(sqlite_db: Database) -> None:
    from core.audit.liabilities import publish
    from core.digest.content import digest_for_wallet
    from core.models import AIWallet

    m = sold_out_market(sqlite_db)
    root = publish(sqlite_db)
    with sqlite_db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, m.a)
        assert wallet is not None
        text = digest_for_wallet(uow.session, wallet, uow.clock.now()).text
    assert f"Proof of liabilities {root.as_of}: root {root.root[:16]}" in text
