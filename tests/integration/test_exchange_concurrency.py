"""Exchange orders from several processes at once (spawn) on PostgreSQL (and the same on a SQLite
file): crossing orders give exactly the fills a serial order would, a redeem racing an ask never lets
both spend the same units, nothing deadlocks (one lock order), and every invariant holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.models.exchange import ExchangeFill, ExchangeOrder, OrderStatus
from tests.support.exchange_workers import ask_once, call_target, place_loop
from tests.support.exchange_world import SYM, sold_out_market, state
from tests.support.ledger_workers import redeem_once, run_parallel
from tests.support.ledger_world import violations

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pure_ledger")]
D = Decimal


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def test_crossing_orders_from_two_processes_fill_as_a_serial_order_would(any_db: Database) -> None:
    m = sold_out_market(any_db)
    rounds = 10
    results = run_parallel(
        place_loop,
        [
            (_url(any_db), m.a, "ask", SYM, "10", "1.00", rounds, "a"),
            (_url(any_db), m.b, "bid", SYM, "10", "1.00", rounds, "b"),
        ],
    )
    assert [e for r in results for e in r["errors"]] == []
    # Whatever the interleaving, each of the 10 asks meets one of the 10 bids at 1.00: serially the
    # result is 100 units from A to B for 100 USD and no order left open — and so it must be here.
    with any_db.uow(read_only=True) as uow:
        filled = uow.session.scalar(select(func.count()).select_from(ExchangeFill))
        quantities = list(uow.session.scalars(select(ExchangeFill.quantity)))
        still_open = uow.session.scalar(
            select(func.count()).select_from(ExchangeOrder).where(ExchangeOrder.status == OrderStatus.OPEN)
        )
    assert sum(quantities, D(0)) == D(100) and filled == 10 and still_open == 0
    a, b = state(any_db, m.a), state(any_db, m.b)
    assert (a.units, a.cash, a.units_reserved) == (D(200), D(9800), D(0))  # 10,000 - 300 + 100
    assert (b.units, b.cash, b.cash_reserved) == (D(100), D(9900), D(0))
    assert violations(any_db) == []


@pytest.mark.parametrize("hold", [0.0, 0.3])
def test_a_redeem_racing_an_ask_never_spends_the_units_twice(any_db: Database, hold: float) -> None:
    m = sold_out_market(any_db)
    url = _url(any_db)
    redeem, ask = run_parallel(
        call_target,
        [
            (redeem_once, (url, m.a, SYM, "300", "race-redeem", hold)),
            (ask_once, (url, m.a, SYM, "300", "1.00", "race-ask")),
        ],
    )
    outcome = {"redeem": redeem, "ask": ask}
    ok = [name for name, result in outcome.items() if "ok" in result]
    assert len(ok) == 1, outcome  # exactly one of them got the 300 units
    loser = outcome["redeem" if ok == ["ask"] else "ask"]
    assert loser["error"] == "InsufficientTokens"
    a = state(any_db, m.a)
    if ok == ["ask"]:
        assert (a.units, a.units_reserved, a.free_units_account) == (D(300), D(300), D(0))
    else:
        assert (a.units, a.units_reserved) == (D(0), D(0))
    assert violations(any_db) == []
