"""Concurrent trades from several *processes* (multiprocessing, spawn) on one SQLite file and on
PostgreSQL: no lost update, no overdraw, one effect per idempotency key, invariants hold.

Children use the real wall clock, so management fees settle between their trades too; the checks
therefore reconcile against the fee accruals the ledger recorded rather than assume none.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import ledger
from core.db import Database
from core.models import FeeAccrual, LedgerTransaction
from tests.support.ledger_workers import buy_once, decimal_sum, redeem_once, run_parallel, trade_loop
from tests.support.ledger_world import (
    holding_of,
    key,
    make_org,
    make_token,
    make_wallet,
    token_state,
    violations,
    wallet_cash,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pure_ledger")]
SYM = "STRAT-MOMENTUM-BTC-001"
WORKERS = 4


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _fees(db: Database) -> Decimal:
    with db.uow(read_only=True) as uow:
        return sum(uow.session.scalars(select(FeeAccrual.fee_amount)), Decimal(0))


def _count_txns(db: Database, kind: str) -> int:
    with db.uow(read_only=True) as uow:
        query = select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == kind)
        return int(uow.session.scalar(query) or 0)


def test_parallel_buys_and_redeems_lose_no_update(any_db: Database) -> None:
    wallet = make_wallet(any_db, make_org(any_db), cash="100000")
    make_token(any_db, SYM, supply="100000000")
    ledger.buy(any_db.uow(), wallet, SYM, "1000", idempotency_key=key())  # something to redeem from the start
    cash0, (units0, _) = wallet_cash(any_db, wallet), holding_of(any_db, wallet, SYM)
    aum0, fees0 = token_state(any_db, SYM)["aum"], _fees(any_db)
    rounds = 8
    results = run_parallel(
        trade_loop,
        [(_url(any_db), wallet, SYM, rounds, "10.000001", "5.5", f"w{i}") for i in range(WORKERS)],
    )
    trades = [t for r in results for t in r["trades"]]
    assert [e for r in results for e in r["errors"]] == []
    assert len(trades) == WORKERS * rounds * 2
    buys = [t for t in trades if t["side"] == "buy"]
    redeems = [t for t in trades if t["side"] == "redeem"]
    bought_cash, bought_units = (
        decimal_sum([t["cash"] for t in buys]),
        decimal_sum([t["tokens"] for t in buys]),
    )
    paid_out, burned = decimal_sum([t["cash"] for t in redeems]), decimal_sum([t["tokens"] for t in redeems])
    # No lost update: every trade any process saw committed is reflected exactly once.
    assert wallet_cash(any_db, wallet) == cash0 - bought_cash + paid_out
    assert holding_of(any_db, wallet, SYM)[0] == units0 + bought_units - burned
    assert token_state(any_db, SYM)["aum"] == aum0 + bought_cash - paid_out - (_fees(any_db) - fees0)
    assert _count_txns(any_db, "buy") == 1 + WORKERS * rounds
    assert _count_txns(any_db, "redeem") == WORKERS * rounds
    # Each trade observed a distinct post-trade cash balance: none was computed from a stale read.
    balances = [t["cash_balance"] for t in trades]
    assert len({Decimal(b) for b in balances}) == len(balances)
    assert violations(any_db) == []


def test_two_redeems_that_together_overdraw(any_db: Database) -> None:
    wallet = make_wallet(any_db, make_org(any_db))
    make_token(any_db, SYM)
    ledger.buy(any_db.uow(), wallet, SYM, "100", idempotency_key=key())
    assert holding_of(any_db, wallet, SYM)[0] == Decimal(100)
    results = run_parallel(
        redeem_once, [(_url(any_db), wallet, SYM, "60", f"redeem-{i}", 0.3) for i in range(2)]
    )
    ok = [r for r in results if "ok" in r]
    refused = [r for r in results if "error" in r]
    assert len(ok) == 1 and len(refused) == 1, results
    assert refused[0]["error"] == "InsufficientTokens"
    assert "wallet holds 40" in refused[0]["message"]
    assert holding_of(any_db, wallet, SYM)[0] == Decimal(40)
    assert _count_txns(any_db, "redeem") == 1
    assert violations(any_db) == []


def test_same_idempotency_key_concurrently_has_one_effect(any_db: Database) -> None:
    wallet = make_wallet(any_db, make_org(any_db))
    make_token(any_db, SYM)
    cash0 = wallet_cash(any_db, wallet)
    results = run_parallel(
        buy_once, [(_url(any_db), wallet, SYM, "25", "one-key", 0.2) for _ in range(WORKERS)]
    )
    assert all("ok" in r for r in results), results
    replies = [r["ok"] for r in results]
    assert all(reply == replies[0] for reply in replies)  # everyone got the winner's stored reply
    assert _count_txns(any_db, "buy") == 1
    assert wallet_cash(any_db, wallet) == cash0 - 25
    assert holding_of(any_db, wallet, SYM)[0] == Decimal(replies[0]["tokens"])
    assert violations(any_db) == []


def test_parallel_buys_drain_cash_exactly(any_db: Database) -> None:
    """Four processes each try to spend 40 % of the same wallet's cash: exactly two succeed."""
    wallet = make_wallet(any_db, make_org(any_db), cash="1000")
    make_token(any_db, SYM)
    results = run_parallel(
        buy_once, [(_url(any_db), wallet, SYM, "400", f"b{i}", 0.1) for i in range(WORKERS)]
    )
    assert sorted(r.get("error", "ok") for r in results) == ["InsufficientCash"] * 2 + ["ok"] * 2
    assert wallet_cash(any_db, wallet) == Decimal(200)
    assert violations(any_db) == []


def test_first_fees_on_two_tokens_at_once(any_db: Database) -> None:
    """The platform fee accounts are created on the first fee ever booked. Two processes trading two
    different tokens (no shared row lock) both book that first fee at the same moment; both trades
    must succeed and the accounts exist once."""
    wallets = [make_wallet(any_db, make_org(any_db, f"Church {i}")) for i in range(2)]
    symbols = [make_token(any_db, f"STRAT-FIRST-FEE-{i}") for i in range(2)]
    # Children run on the wall clock, long after the tokens' simulated creation: a fee is due.
    results = run_parallel(
        buy_once, [(_url(any_db), wallets[i], symbols[i], "50", f"first-fee-{i}", 0.5) for i in range(2)]
    )
    assert all("ok" in r for r in results), results
    assert all(Decimal(r["ok"]["fees_settled"]) > 0 for r in results)
    with any_db.uow(read_only=True) as uow:
        from core.models import LedgerAccount

        codes = list(
            uow.session.scalars(select(LedgerAccount.code).where(LedgerAccount.code.like("platform:%")))
        )
    assert sorted(codes) == ["platform:fees", "platform:insurance", "platform:seed"]
    assert violations(any_db) == []
