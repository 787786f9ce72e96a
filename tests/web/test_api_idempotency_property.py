"""Property: whatever sequence of buys and sells a client sends, with keys reused at random, each
key moves money at most once — a repeat with the same body returns the stored response, one with
another body is 409 — and the ledger's invariants hold afterwards (Hypothesis, bounded)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.ledger import check_invariants
from core.models import LedgerTransaction
from tests.web.support import OA, SYMBOL, ApiWorld

_examples = itertools.count()
STEP = st.tuples(
    st.sampled_from(["buy", "sell"]),
    st.integers(min_value=1, max_value=5_000),  # cents (buy) or hundredths of a unit (sell)
    st.integers(min_value=0, max_value=3),  # key index: small, so keys are reused often
)


def buys(world: ApiWorld) -> int:
    with world.db.uow(read_only=True) as uow:
        return (
            uow.session.scalar(
                select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "buy")
            )
            or 0
        )


@given(steps=st.lists(STEP, min_size=1, max_size=6))
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_each_key_moves_money_at_most_once(world: ApiWorld, steps: list[tuple[str, int, int]]) -> None:
    client, example = world.client(), next(_examples)
    stored: dict[str, tuple[str, dict[str, Any], Any]] = {}
    before, new_buys = buys(world), 0
    for side, hundredths, index in steps:
        key = f"prop-{example}-{index}"
        body = (
            {"amount": f"{hundredths / 100:.2f}"}
            if side == "buy"
            else {"quantity": f"{hundredths / 100:.2f}"}
        )
        response = client.post(
            f"/api/tokens/{SYMBOL}/{side}", json=body, headers=world.auth(OA) | {"Idempotency-Key": key}
        )
        if key in stored:
            if stored[key][:2] == (side, body):
                assert response.status_code == 200 and response.json() == stored[key][2]
            else:
                assert response.status_code == 409, response.text
        elif response.status_code == 200:
            stored[key] = (side, body, response.json())
            new_buys += side == "buy"
        else:  # refused (cash, holdings, dust, the day's limit): nothing moved, the key stays free
            assert response.status_code in (409, 422), response.text
    assert buys(world) == before + new_buys
    with world.db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []
