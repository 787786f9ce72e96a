"""Statements per ledger operation: the round trips a warm trade costs, pinned so none creeps back.

Counted are the statements the driver executes (``BEGIN`` aside: SQLite sends ``BEGIN IMMEDIATE``
as a statement, psycopg does not); each is one round trip on PostgreSQL. A warm ``ledger.buy``:
idempotency lookup, token lock, wallet lock with the holding, transaction insert, postings insert,
account lock, balance update, holding / wallet / token updates, key insert, chain head lock,
chain-hash update, head update = 14, plus the circuit breaker's halt check = 15 (the test session
installs the platform's pre-trade checks, as every entry point does). A redeem: the same 15 plus
the redemption limit's usage read and update = 17. An exchange bid that fills a resting ask: 20 (the buy's
shape plus the halt check, the taker's organisation, the crossing book, the order insert, one read
of both holdings, the fill insert and the maker order update; holdings and wallets written with
one executemany each).

On PostgreSQL three of these are folded into data-modifying CTEs (one round trip each): the
holding, wallet and token updates of a buy or redeem are one statement, and a commit with one
ledger transaction updates its chain hash and the chain head in one: buy 12, redeem 14, bid 19.

Since the PMA agreement and plans (issue 14) every person's trade also reads the organisation's
accepted agreement version (+1), and a bid the plan's distinct-token count (+1): see ``BUDGET``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from core import exchange, ledger
from core.db import Database
from tests.support.exchange_world import SYM, sold_out_market
from tests.support.ledger_world import key


def _count(db: Database, work: Callable[[], Any]) -> list[str]:
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        if not text.startswith("BEGIN"):
            seen.append(" ".join(text.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    return seen


# Issue 14 added one read to every trade a person makes (the organisation's accepted agreement
# version) and one more to a bid (the plan's distinct-token limit counts open bids too).
BUDGET = {"sqlite": {"buy": 16, "redeem": 18, "bid": 22}, "postgresql": {"buy": 13, "redeem": 15, "bid": 21}}


def test_a_warm_buy_and_redeem_stay_within_their_statements(any_db: Database) -> None:
    market = sold_out_market(any_db)
    warm = ledger.redeem(any_db.uow(), market.a, SYM, "10", idempotency_key=key())
    ledger.buy(any_db.uow(), market.a, SYM, "5", idempotency_key=key())
    buy = _count(any_db, lambda: ledger.buy(any_db.uow(), market.a, SYM, "5", idempotency_key=key()))
    redeem = _count(any_db, lambda: ledger.redeem(any_db.uow(), market.a, SYM, "5", idempotency_key=key()))
    assert warm.cash > 0
    budget = BUDGET[any_db.engine.dialect.name]
    assert len(buy) == budget["buy"], buy
    assert len(redeem) == budget["redeem"], redeem
    assert sum(s.startswith("SELECT token_holdings") for s in buy) == 0  # read with the wallet lock


def test_a_matching_exchange_bid_stays_within_its_statements(any_db: Database) -> None:
    market = sold_out_market(any_db)
    for i in range(2):  # warm: the reserved and fee accounts exist
        exchange.place_order(any_db.uow(), market.a, "ask", SYM, "10", "1", idempotency_key=f"wa{i}")
        exchange.place_order(any_db.uow(), market.b, "bid", SYM, "10", "1", idempotency_key=f"wb{i}")
    exchange.place_order(any_db.uow(), market.a, "ask", SYM, "10", "1", idempotency_key="ask")
    bid = _count(any_db, lambda: exchange.place_order(any_db.uow(), market.b, "bid", SYM, "10", "1",
                                                      idempotency_key="bid"))
    assert len(bid) == BUDGET[any_db.engine.dialect.name]["bid"], bid
    # both holdings at once, plus the plan's count of distinct tokens held or bid for
    assert sum(s.startswith("SELECT token_holdings") for s in bid) == 2
