"""Exact storage of amounts through the Money column type on a real SQLite file and on PostgreSQL.

SQLite has no exact NUMERIC, so Money stores canonical decimal text there; PostgreSQL stores
NUMERIC(38, 18). Either way, 18 decimal places and 20 integer digits come back bit-for-bit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from core.db import Database
from core.models import AccountKind, LedgerAccount

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

VALUES = [
    "0",
    "0.000000000000000001",
    "-0.000000000000000001",
    "1.000000000000000001",
    "0.1",
    "0.3",
    "123456789.123456789123456789",
    "99999999999999999999.999999999999999999",  # the NUMERIC(38, 18) maximum
    "-99999999999999999999.999999999999999999",
    "12345678901234567890",
    "1000000000000000000.5",
]


def _store(db: Database, values: list[Decimal]) -> list[int]:
    with db.uow() as uow:
        rows = [
            LedgerAccount(
                code=f"test:{i}",
                kind=AccountKind.EXTERNAL,
                asset="USD",
                balance=v,
                created_at=uow.clock.now(),
            )
            for i, v in enumerate(values)
        ]
        uow.session.add_all(rows)
        uow.session.flush()
        ids = [r.id for r in rows]
        uow.commit()
    return ids


def test_amounts_round_trip_exactly(any_db: Database) -> None:
    values = [Decimal(v) for v in VALUES]
    ids = _store(any_db, values)
    any_db.dispose()  # read back through a brand-new connection, nothing cached
    with any_db.uow(read_only=True) as uow:
        loaded = {
            a.id: a.balance
            for a in uow.session.scalars(select(LedgerAccount).where(LedgerAccount.id.in_(ids)))
        }
    for i, value in zip(ids, values, strict=True):
        got = loaded[i]
        assert isinstance(got, Decimal)
        assert got == value, f"{value} came back as {got}"
        # Not merely equal after rounding: the exact digits survive (no float on the way).
        assert got.normalize() == value.normalize()


def test_sqlite_stores_text_not_real(sqlite_db: Database) -> None:
    ids = _store(sqlite_db, [Decimal("0.100000000000000001")])
    with sqlite_db.engine.connect() as conn:
        kind, raw = conn.execute(
            text("SELECT typeof(balance), balance FROM ledger_accounts WHERE id = :i"), {"i": ids[0]}
        ).one()
    assert (kind, raw) == ("text", "0.100000000000000001")


def test_postgres_column_is_numeric_38_18(pg_db: Database) -> None:
    with pg_db.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
                "WHERE table_name = 'postings' AND column_name = 'amount'"
            )
        ).one()
    assert tuple(row) == ("numeric", 38, 18)


def test_float_is_refused_when_binding(any_db: Database) -> None:
    with pytest.raises(StatementError, match="refusing to store float"), any_db.uow() as uow:
        uow.session.add(
            LedgerAccount(
                code="test:float",
                kind=AccountKind.EXTERNAL,
                asset="USD",
                balance=0.1,
                created_at=uow.clock.now(),
            )
        )
        uow.session.flush()
    with any_db.uow(read_only=True) as uow:
        query = select(LedgerAccount).where(LedgerAccount.code == "test:float")
        assert uow.session.scalars(query).first() is None


def test_large_precise_quantities_survive_services_and_replays(any_db: Database) -> None:
    """A 30-digit supply cap goes through tokenize, storage and an idempotent replay unchanged."""
    from core import ledger
    from tests.support.ledger_world import token_state

    supply = "999999999999.999999999999999999"
    k = "tokenize-large"
    created = ledger.tokenize(
        any_db.uow(),
        agent_id=None,
        symbol="STRAT-BIG-1",
        total_supply=supply,
        status="active",
        idempotency_key=k,
    )
    replay = ledger.tokenize(
        any_db.uow(),
        agent_id=None,
        symbol="STRAT-BIG-1",
        total_supply=supply,
        status="active",
        idempotency_key=k,
    )
    assert created.total_supply == replay.total_supply == Decimal(supply)
    assert token_state(any_db, "STRAT-BIG-1")["total_supply"] == Decimal(supply)
