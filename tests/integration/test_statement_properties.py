"""Statements reconcile with the ledger whatever happened (Hypothesis, real SQLite file).

Random deposits, withdrawals, buys, redeems, NAV marks and distributions over January-March 2025
(management fee on). For each month: closing cash = opening cash + the sum of every kind's net
movement; the units held at the close = units at the open + the month's trades; one month's close is
the next month's open; and at the end, the last statement's closing cash and units equal the
wallets' cached ledger balances and its closing value equals cash + units x the token's NAV.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import distributions, ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import ArenaError
from core.statements import build_statement
from tests.conftest import make_sqlite_db
from tests.support.ledger_world import (
    holding_of,
    key,
    make_org,
    make_wallet,
    token_state,
    violations,
    wallet_cash,
)

pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-LENDING-USDC-001"
START = datetime(2025, 1, 1, tzinfo=UTC)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "withdraw", "buy", "redeem", "mark", "distribute"]),
        st.integers(1, 3000),  # dollars; units x 8; or a mark of (n - 500) / 100,000 (mostly gains)
        st.integers(1, 60),  # hours until the next operation, x 3
    ),
    min_size=3,
    max_size=40,
)


def _apply(db: Database, wallet: int, op: str, n: int, now: datetime, last_mark: list[datetime]) -> None:
    calls: dict[str, Callable[[], object]] = {
        "deposit": lambda: ledger.deposit(db.uow(), wallet, n, idempotency_key=key()),
        "withdraw": lambda: ledger.withdraw(db.uow(), wallet, n, idempotency_key=key()),
        "buy": lambda: ledger.buy(db.uow(), wallet, SYM, n, idempotency_key=key()),
        "redeem": lambda: ledger.redeem(db.uow(), wallet, SYM, Decimal(n) / 8, idempotency_key=key()),
        "mark": lambda: ledger.mark_nav(db.uow(), SYM, now.date(), Decimal(n - 500) / 100000),
        "distribute": lambda: distributions.distribute(db.uow(), SYM, f"{now.year}-{now.month:02d}"),
    }
    if op == "mark" and last_mark and last_mark[0].date() >= now.date():
        return
    try:
        calls[op]()
    except ArenaError:
        return  # refused (not enough cash or units, dust): nothing was written
    if op == "mark":
        last_mark[:] = [now]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_statements_reconcile(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, int]]
) -> None:
    clock = SimulatedClock(START)
    db = make_sqlite_db(_sqlite_template, tmp_path_factory.mktemp("props"), clock)
    try:
        ledger.tokenize(
            db.uow(),
            agent_id=None,
            symbol=SYM,
            total_supply="10000000",
            status="active",
            idempotency_key=key("t"),
        )
        distributions.set_policy(db.uow(), SYM, "distribute", include_gains=True, idempotency_key=key("p"))
        org = make_org(db)
        wallet = make_wallet(db, org, cash="5000")
        last_mark: list[datetime] = []
        for op, n, hours in ops:
            clock.advance(timedelta(hours=3 * hours))
            if clock.now() >= datetime(2025, 4, 1, tzinfo=UTC):
                break
            _apply(db, wallet, op, n, clock.now(), last_mark)
        clock.set(datetime(2025, 4, 2, tzinfo=UTC))
        assert violations(db) == []
        previous = None
        with db.uow(read_only=True) as uow:
            for month in ("2025-01", "2025-02", "2025-03"):
                s = build_statement(uow.session, org, month, clock.now(), None)
                nets = sum((g.net for g in s.groups), Decimal(0))
                assert s.closing.cash == s.opening.cash + nets
                opened = {h.symbol: h.units for h in s.opening.holdings}
                traded = sum((t.units for t in s.trades), Decimal(0))
                closed = {h.symbol: h.units for h in s.closing.holdings}
                assert closed.get(SYM, 0) == opened.get(SYM, 0) + traded
                if previous is not None:
                    assert (s.opening.cash, s.opening.value) == (
                        previous.closing.cash,
                        previous.closing.value,
                    )
                previous = s
        assert previous is not None
        units, _ = holding_of(db, wallet, SYM)
        assert previous.closing.cash == wallet_cash(db, wallet)
        assert {h.symbol: h.units for h in previous.closing.holdings}.get(SYM, Decimal(0)) == units
        nav = token_state(db, SYM)["nav"]
        expected = wallet_cash(db, wallet) + (units * nav).quantize(
            Decimal("0.000001"), rounding="ROUND_DOWN"
        )
        assert previous.closing.value == expected
    finally:
        db.dispose()
