"""Property: whatever sequence of plan changes an organisation admin POSTs, with Idempotency-Keys
reused at random, each key charges at most once — a repeat with the same body returns the stored
response, one with another body is 409 — the wallet's cash falls by exactly the sum of the charges
the first responses reported, and the ledger's invariants hold (Hypothesis, bounded)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ledger import check_invariants
from tests.web.support import OA, ApiWorld

_examples = itertools.count()
STEP = st.tuples(st.sampled_from(["free", "basic", "premium"]), st.integers(min_value=0, max_value=2))


def _cash(world: ApiWorld, client: Any) -> Decimal:
    status = client.get(f"/api/wallet/{world.wallet_id}/status", headers=world.auth(OA))
    return Decimal(status.json()["cash"])


@given(steps=st.lists(STEP, min_size=1, max_size=6))
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_each_key_changes_the_plan_and_charges_at_most_once(
    world: ApiWorld, steps: list[tuple[str, int]]
) -> None:
    client, example = world.client(), next(_examples)
    url = f"/api/wallet/{world.wallet_id}/plan"
    stored: dict[str, tuple[str, Any]] = {}
    before = _cash(world, client)
    for plan, index in steps:
        key = f"plan-{example}-{index}"
        response = client.post(url, json={"plan": plan}, headers=world.auth(OA) | {"Idempotency-Key": key})
        if key in stored:
            if stored[key][0] == plan:
                assert response.status_code == 200 and response.json() == stored[key][1]
            else:
                assert response.status_code == 409, response.text
        else:
            assert response.status_code == 200, response.text
            stored[key] = (plan, response.json())
            assert response.json()["charged"] == "0.000000" or plan != "free"  # a downgrade never charges
    charged = sum((Decimal(body["charged"]) for _plan, body in stored.values()), Decimal(0))
    assert before - _cash(world, client) == charged
    with world.db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []
