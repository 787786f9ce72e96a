"""The one-cent minimum: a deposit, a withdrawal, a buy by cash amount and an exchange order worth
less than USD 0.01 are refused with one line naming the minimum, and nothing is written — through
the ledger API, the chat and the exchange. On a real SQLite file and on real PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import exchange, ledger
from core.config import get_settings
from core.db import Database
from core.errors import InvalidAmount
from core.models import LedgerTransaction
from core.models.chat import PendingConfirmation
from tests.e2e.chat_support import ChatWorld
from tests.e2e.chat_support import make_token as make_chat_token
from tests.support.exchange_world import SYM, sold_out_market
from tests.support.ledger_world import key, make_org, make_token, make_wallet, snapshot

MINIMUM = "at least $0.01 (one cent)"
TOKEN = "STRAT-CENT-USDC-001"


def count(db: Database, model: type) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("amount", ["0.001", "0.009999", "0.000001", Decimal("0.0099")])
def test_ledger_refuses_sub_cent_cash_and_writes_nothing(any_db: Database, amount: object) -> None:
    make_token(any_db, TOKEN)
    wallet = make_wallet(any_db, make_org(any_db), cash="100")
    ledger.buy(any_db.uow(), wallet, TOKEN, "10", idempotency_key=key())  # an existing position
    before = snapshot(any_db)
    for call in (
        lambda: ledger.deposit(any_db.uow(), wallet, amount, idempotency_key=key()),
        lambda: ledger.withdraw(any_db.uow(), wallet, amount, idempotency_key=key()),
        lambda: ledger.buy(any_db.uow(), wallet, TOKEN, amount, idempotency_key=key()),
    ):
        with pytest.raises(InvalidAmount) as info:
            call()
        assert info.value.message == f"amount must be {MINIMUM}"
    assert snapshot(any_db) == before


def test_exactly_one_cent_is_accepted(any_db: Database) -> None:
    make_token(any_db, TOKEN)
    wallet = make_wallet(any_db, make_org(any_db), cash="100")
    deposited = ledger.deposit(any_db.uow(), wallet, "0.01", idempotency_key=key())
    assert deposited.cash_balance == Decimal("100.01")
    assert ledger.withdraw(any_db.uow(), wallet, "0.01", idempotency_key=key()).cash_balance == Decimal(100)
    assert ledger.buy(any_db.uow(), wallet, TOKEN, "0.01", idempotency_key=key()).cash == Decimal("0.01")


def test_chat_refuses_a_sub_cent_deposit_and_buy_before_any_button(any_db: Database) -> None:
    world = ChatWorld(any_db)
    symbol = make_chat_token(any_db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 100"))
    world.confirm(100, world.say(100, f"/buy {symbol} 10"))
    pending, txns = count(any_db, PendingConfirmation), count(any_db, LedgerTransaction)
    for line in ("/deposit 0.001", f"/buy {symbol} 0.009", f"/buy {symbol} $0.000001"):
        reply = world.say(100, line)
        assert not reply.buttons, line
        assert reply.text == f"Amount must be {MINIMUM}", reply.text
    assert (count(any_db, PendingConfirmation), count(any_db, LedgerTransaction)) == (pending, txns)


def test_an_exchange_order_under_a_cent_is_refused_whatever_the_configured_minimum(
    any_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARENA_EXCHANGE_MIN_ORDER_CASH", "0")
    get_settings.cache_clear()
    try:
        m = sold_out_market(any_db)
        before = snapshot(any_db)
        # 0.009 units at 1.00 = $0.009; 0.0099 at 1.00 = $0.0099: both under a cent.
        for qty in ("0.009", "0.0099"):
            with pytest.raises(InvalidAmount, match=r"an order must be worth at least \$0\.01 "):
                exchange.place_order(any_db.uow(), m.b, "bid", SYM, qty, "1.00", idempotency_key=key())
        assert snapshot(any_db) == before
        # A cent's worth rests (nobody asks): the configured minimum of 0 is honoured above the cent.
        placed = exchange.place_order(any_db.uow(), m.b, "bid", SYM, "0.01", "1.00", idempotency_key=key())
        assert placed.status == "open" and placed.cash_reserved == Decimal("0.01")
    finally:
        get_settings.cache_clear()
