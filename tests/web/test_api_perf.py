"""The REST API's fast paths keep their answers exact: the token list's reused JSON body follows
every change, and the per-request SQL stays within its budget (one statement for the public list;
the key, its user's role and the user row for an authenticated read)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from core import ledger
from core.db import Database
from tests.e2e.chat_support import make_token
from tests.web.support import OA, SYMBOL, ApiWorld

OTHER = "STRAT-CACHE-TEST-001"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block (BEGIN/COMMIT excluded)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_the_token_list_follows_every_trade_and_new_token(fresh_world: ApiWorld) -> None:
    world = fresh_world
    client = world.client()
    first = client.get("/api/tokens/list")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    before = first.json()[0]
    assert (before["aum"], before["circulating_supply"], before["remaining_supply"]) == (
        "100.000000",  # USD: always the cash quantum's 6 decimals
        "100",
        "999900",
    )
    # 250 USD at NAV 1.00 with no time passed (no fee): the pool and the supply grow by 250.
    ledger.buy(world.db.uow(), world.wallet_id, SYMBOL, "250", idempotency_key="perf-buy")
    after = client.get("/api/tokens/list").json()
    assert (after[0]["aum"], after[0]["circulating_supply"], after[0]["remaining_supply"]) == (
        "350.000000",
        "350",
        "999650",
    )
    make_token(world.db, OTHER)
    listed = client.get("/api/tokens/list").json()
    assert [t["symbol"] for t in listed] == sorted([SYMBOL, OTHER])
    # The reused body is byte for byte what a fresh app (nothing reused yet) renders.
    assert world.client().get("/api/tokens/list").content == client.get("/api/tokens/list").content


def test_sql_budget_per_request(world: ApiWorld) -> None:
    client = world.client()
    client.get("/api/tokens/list")
    with statements(world.db) as public:
        assert client.get("/api/tokens/list").status_code == 200
    assert len(public) == 1 and public[0].lstrip().upper().startswith("SELECT")
    client.get(f"/api/wallet/{world.wallet_id}/status", headers=world.auth(OA))
    with statements(world.db) as keyed:
        assert client.get(f"/api/wallet/{world.wallet_id}/status", headers=world.auth(OA)).status_code == 200
    # the key with its user (1), the role (1), the user row (1), the wallet and its ownership (2);
    # the last-use write happens at most once a minute, so not on this second call.
    assert len(keyed) <= 5, keyed
    assert not [s for s in keyed if not s.lstrip().upper().startswith("SELECT")]
