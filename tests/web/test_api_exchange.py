"""The internal exchange and the proof of liabilities over the REST API, on a real SQLite file and on
real PostgreSQL. Expected figures are worked out by hand from ``tests.web.support``'s world: one
active token at NAV 1.00, wallets A (organisation admin OA) and B (XOA) each holding 10,000 USD,
exchange fee 0 % and a price band of 5 % around NAV."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.audit import merkle
from core.audit.liabilities import publish
from core.db import Database
from core.ledger import check_invariants
from tests.web.support import OA, SYMBOL, USER_IDS, VM, XOA, ApiWorld, build_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(any_db: Database) -> ApiWorld:
    """On SQLite, and on PostgreSQL when ARENA_TEST_PG_URL is set."""
    return build_world(any_db)


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def status(client: TestClient, world: ApiWorld, role: str, wallet_id: int) -> dict[str, Any]:
    response = client.get(f"/api/wallet/{wallet_id}/status", headers=world.auth(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def holding(body: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(units held, of which reserved) of the token, as the status shows them."""
    [held] = [h for h in body["holdings"] if h["symbol"] == SYMBOL]
    return Decimal(held["quantity"]), Decimal(held["reserved"])


def cash(body: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(cash held, of which reserved) as the status shows them (its scale differs by database)."""
    return Decimal(body["cash"]), Decimal(body["cash_reserved"])


def order(client: TestClient, world: ApiWorld, role: str, side: str, body: dict[str, Any], k: str) -> Any:
    return client.post(f"/api/exchange/{SYMBOL}/{side}", json=body, headers=world.auth(role) | key(k))


def seed_tokens(client: TestClient, world: ApiWorld) -> None:
    """Wallet A buys 1,000 units at NAV 1.00 (no fees on the simulated day): 9,000 USD left."""
    bought = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "1000"}, headers=world.auth(OA) | key("seed")
    )
    assert bought.status_code == 200, bought.text


def test_ask_and_bid_between_two_organisations_match_and_settle(world: ApiWorld) -> None:
    client = world.client()
    seed_tokens(client, world)
    a, b = world.wallet_id, world.other_wallet_id
    asked = order(client, world, OA, "ask", {"wallet_id": a, "quantity": "100", "price": "1.02"}, "ask-1")
    assert asked.status_code == 200, asked.text
    placed = asked.json()
    assert (placed["status"], placed["remaining"], placed["price"], placed["fills"]) == (
        "open",
        "100.000000000000000000",
        "1.020000",
        [],
    )
    # 100 of the 1,000 units held are reserved for the ask.
    assert holding(status(client, world, OA, a)) == (Decimal(1000), Decimal(100))
    book = client.get(f"/api/exchange/{SYMBOL}/book").json()  # public: no key
    assert book["asks"] == [{"price": "1.020000", "quantity": "100.000000000000000000", "orders": 1}]
    assert book["bids"] == [] and book["nav_per_token"] == "1.000000000000000000"

    # B bids 60 at 1.03: it fills at once at the resting ask's price, 60 x 1.02 = 61.20 USD.
    bid = {"wallet_id": b, "quantity": "60", "price": "1.03"}
    bought = order(client, world, XOA, "bid", bid, "bid-1")
    assert bought.status_code == 200, bought.text
    result = bought.json()
    assert (result["status"], result["filled"], result["remaining"]) == (
        "filled",
        "60.000000000000000000",
        "0.000000000000000000",
    )
    [fill] = result["fills"]
    assert (fill["price"], fill["cash"], fill["fee"], fill["maker_order_id"]) == (
        "1.020000",
        "61.200000",
        "0.000000",
        placed["order_id"],
    )
    assert cash(status(client, world, XOA, b)) == (Decimal("9938.8"), 0)  # 10,000 - 61.20
    assert holding(status(client, world, XOA, b)) == (Decimal(60), Decimal(0))
    assert cash(status(client, world, OA, a)) == (Decimal("9061.2"), 0)  # 9,000 + 61.20
    assert holding(status(client, world, OA, a)) == (
        Decimal(940),
        Decimal(40),
    )  # the ask's rest stays reserved

    # Both sides' owners are told, as after a fill confirmed in chat (pushed after the commit).
    told = {(m.chat_id, " ".join(m.reply.text.split()[:5])) for m in world.notifier.messages}
    assert {
        (USER_IDS[OA], "Exchange fill: you sold 60"),
        (USER_IDS[XOA], "Exchange fill: you bought 60"),
    } <= told, told
    notices = len(world.notifier.messages)

    # The same key and body replay the stored reply; no second fill, no second notice.
    replay = order(client, world, XOA, "bid", bid, "bid-1")
    assert replay.status_code == 200 and replay.json() == result
    assert len(world.notifier.messages) == notices
    assert cash(status(client, world, XOA, b)) == (Decimal("9938.8"), 0)
    other = order(client, world, XOA, "bid", bid | {"quantity": "61"}, "bid-1")
    assert other.status_code == 409 and other.headers["content-type"] == PROBLEM

    # A's open orders: the ask with 40 left. Cancel releases them.
    listed = client.get(f"/api/wallet/{a}/orders", headers=world.auth(OA)).json()
    assert [(o["order_id"], o["remaining"]) for o in listed] == [
        (placed["order_id"], "40.000000000000000000")
    ]
    cancelled = client.post(f"/api/exchange/orders/{placed['order_id']}/cancel", headers=world.auth(OA))
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["released_units"]) == (
        "cancelled",
        "40.000000000000000000",
    )
    assert holding(status(client, world, OA, a)) == (Decimal(940), Decimal(0))
    assert client.get(f"/api/wallet/{a}/orders", headers=world.auth(OA)).json() == []
    with world.db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []


def test_cancel_a_bid_releases_its_cash_and_other_organisations_get_404(world: ApiWorld) -> None:
    client = world.client()
    b = world.other_wallet_id
    # Nobody offers: the bid rests with 50 x 0.98 = 49.00 USD reserved.
    placed = order(client, world, XOA, "bid", {"wallet_id": b, "quantity": "50", "price": "0.98"}, "rest")
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order_id"]
    assert placed.json()["cash_reserved"] == "49.000000"
    assert cash(status(client, world, XOA, b)) == (10000, 49)
    # Organisation A cannot see, list or cancel B's order: it answers like a missing one.
    foreign = client.post(f"/api/exchange/orders/{order_id}/cancel", headers=world.auth(OA))
    assert foreign.status_code == 404 and foreign.headers["content-type"] == PROBLEM
    missing = client.post("/api/exchange/orders/999999/cancel", headers=world.auth(OA))
    assert (
        missing.status_code == 404
        and missing.json()["detail"].replace("999999", str(order_id)) == (foreign.json()["detail"])
    )
    assert client.get(f"/api/wallet/{b}/orders", headers=world.auth(OA)).status_code == 404
    mine = {"wallet_id": b, "quantity": "10", "price": "1"}  # A trading from B's wallet: refused
    assert order(client, world, OA, "ask", mine, "steal").status_code == 404
    assert cash(status(client, world, XOA, b)) == (10000, 49)
    # The owner cancels: the reservation is released; a second cancel changes nothing.
    done = client.post(f"/api/exchange/orders/{order_id}/cancel", headers=world.auth(XOA) | key("c1"))
    assert (done.status_code, done.json()["released_cash"]) == (200, "49.000000")
    assert cash(status(client, world, XOA, b)) == (10000, 0)
    again = client.post(f"/api/exchange/orders/{order_id}/cancel", headers=world.auth(XOA))
    assert again.status_code == 200 and again.json()["already_closed"] is True
    assert cash(status(client, world, XOA, b)) == (10000, 0)


def test_band_refusal_is_a_problem_naming_the_nav_and_writes_nothing(world: ApiWorld) -> None:
    client = world.client()
    b = world.other_wallet_id
    # NAV 1.00 and a 5 % band: 1.06 is outside.
    refused = order(client, world, XOA, "bid", {"wallet_id": b, "quantity": "10", "price": "1.06"}, "far")
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    detail = refused.json()["detail"]
    assert "NAV $1.00" in detail and "$0.95" in detail and "$1.05" in detail, detail
    assert cash(status(client, world, XOA, b)) == (10000, 0)
    assert client.get(f"/api/wallet/{b}/orders", headers=world.auth(XOA)).json() == []
    no_key = client.post(
        f"/api/exchange/{SYMBOL}/bid",
        json={"wallet_id": b, "quantity": "10", "price": "1"},
        headers=world.auth(XOA),
    )
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["detail"]
    unknown = client.get("/api/exchange/STRAT-NONE-X-001/book")
    assert unknown.status_code == 404 and "STRAT-NONE-X-001" in unknown.json()["detail"]
    # A verified member who is not an owner may not trade (as in chat).
    member = order(
        client, world, VM, "bid", {"wallet_id": world.wallet_id, "quantity": "10", "price": "1"}, "vm"
    )
    assert member.status_code == 403


def test_the_wallet_proof_verifies_against_the_public_root(world: ApiWorld) -> None:
    client = world.client()
    assert client.get("/api/proof/latest").status_code == 404  # nothing published yet
    seed_tokens(client, world)
    publish(world.db)
    root = client.get("/api/proof/latest")  # public: no key
    assert root.status_code == 200, root.text
    published = root.json()
    # Wallets A (9,000 USD + 1,000 units) and B (10,000 USD) are the organisation wallets here,
    # plus the pending organisation's (no wallet until verified).
    assert published["wallet_count"] == 2
    assert published["totals"] == {"USD": "19000.000000", SYMBOL: "1000.000000000000000000"}
    proof = client.get(f"/api/wallet/{world.wallet_id}/proof", headers=world.auth(OA))
    assert proof.status_code == 200, proof.text
    mine = proof.json()
    assert mine["balances"] == {"USD": "9000.000000", SYMBOL: "1000.000000000000000000"}
    verdict = merkle.verify(mine, published["root"])
    assert verdict.ok, verdict.reason
    assert verdict.totals == published["totals"]
    # Another organisation's wallet proof answers like a missing one.
    assert client.get(f"/api/wallet/{world.other_wallet_id}/proof", headers=world.auth(OA)).status_code == 404
    tampered = mine | {"balances": {"USD": "9001.000000", SYMBOL: "1000.000000000000000000"}}
    assert not merkle.verify(tampered, published["root"]).ok
