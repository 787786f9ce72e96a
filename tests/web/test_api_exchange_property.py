"""Property: whatever asks (organisation A) and bids (organisation B) clients send over the API, and
whichever open orders they cancel, money and units are conserved between the two wallets (the
exchange fee is 0 %), the book never stays crossed, each wallet's reservation equals what its open
orders hold, and the ledger's invariants hold (Hypothesis, bounded; a real SQLite file)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ledger import check_invariants
from tests.web.support import OA, SYMBOL, XOA, ApiWorld

_examples = itertools.count()
STEP = st.tuples(
    st.sampled_from(["ask", "bid", "cancel"]),
    st.integers(min_value=2, max_value=40),  # units
    st.integers(min_value=-5, max_value=5),  # cents from NAV 1.00 (inside the 5 % band)
)


@pytest.fixture(scope="module")
def seeded(world: ApiWorld) -> ApiWorld:
    """Wallet A holds 1,000 units (bought at NAV 1.00), so both sides can trade."""
    response = world.client().post(
        f"/api/tokens/{SYMBOL}/buy",
        json={"amount": "1000"},
        headers=world.auth(OA) | {"Idempotency-Key": "seed"},
    )
    assert response.status_code == 200, response.text
    return world


def position(client: TestClient, world: ApiWorld, role: str, wallet_id: int) -> tuple[Decimal, ...]:
    """(cash, cash reserved, units, units reserved) as the wallet status shows them."""
    body = client.get(f"/api/wallet/{wallet_id}/status", headers=world.auth(role)).json()
    held = [h for h in body["holdings"] if h["symbol"] == SYMBOL]
    units = (Decimal(held[0]["quantity"]), Decimal(held[0]["reserved"])) if held else (Decimal(0), Decimal(0))
    return Decimal(body["cash"]), Decimal(body["cash_reserved"]), *units


def open_orders(client: TestClient, world: ApiWorld, role: str, wallet_id: int) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = client.get(
        f"/api/wallet/{wallet_id}/orders", headers=world.auth(role)
    ).json()
    return listed


def act(client: TestClient, world: ApiWorld, step: tuple[str, int, int], key: str) -> None:
    kind, units, cents = step
    if kind == "cancel":
        mine = open_orders(client, world, OA, world.wallet_id) + open_orders(
            client, world, XOA, world.other_wallet_id
        )
        if mine:
            order = mine[units % len(mine)]
            role = OA if order["side"] == "ask" else XOA
            done = client.post(f"/api/exchange/orders/{order['order_id']}/cancel", headers=world.auth(role))
            assert done.status_code == 200, done.text
        return
    role, wallet = (OA, world.wallet_id) if kind == "ask" else (XOA, world.other_wallet_id)
    body = {"wallet_id": wallet, "quantity": str(units), "price": str(Decimal(100 + cents) / 100)}
    placed = client.post(
        f"/api/exchange/{SYMBOL}/{kind}", json=body, headers=world.auth(role) | {"Idempotency-Key": key}
    )
    assert placed.status_code in (200, 409), placed.text  # 409: not enough free units or cash


@given(steps=st.lists(STEP, min_size=1, max_size=8))
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_orders_conserve_money_and_units(seeded: ApiWorld, steps: list[tuple[str, int, int]]) -> None:
    world, client, example = seeded, seeded.client(), next(_examples)
    a0 = position(client, world, OA, world.wallet_id)
    b0 = position(client, world, XOA, world.other_wallet_id)
    for n, step in enumerate(steps):
        act(client, world, step, f"prop-{example}-{n}")
    a = position(client, world, OA, world.wallet_id)
    b = position(client, world, XOA, world.other_wallet_id)
    assert a[0] + b[0] == a0[0] + b0[0]  # cash moves only between the two wallets
    assert a[2] + b[2] == a0[2] + b0[2]  # so do units
    asks = open_orders(client, world, OA, world.wallet_id)
    bids = open_orders(client, world, XOA, world.other_wallet_id)
    assert a[3] == sum((Decimal(o["remaining"]) for o in asks), Decimal(0))
    assert b[1] == sum((Decimal(o["cash_reserved"]) for o in bids), Decimal(0))
    if asks and bids:  # a crossing pair would have matched at once
        assert max(Decimal(o["price"]) for o in bids) < min(Decimal(o["price"]) for o in asks)
    with world.db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []
