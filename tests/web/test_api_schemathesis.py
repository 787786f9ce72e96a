"""Schemathesis: requests generated from the app's own OpenAPI document against the app over a
seeded SQLite database, a few examples per operation (bounded, derandomised). Authenticated as a
platform admin and as an organisation admin: no 5xx, every status code is documented and every
body conforms to its schema. Without a key: every protected operation answers 401; the public ones never 5xx.

Each operation's cases are drawn with Hypothesis directly (``APIOperation.as_strategy``), without
the Schemathesis pytest plugin's fixture loader, whose node handling does not work with pytest 9.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.web.support import OA, PA, ApiWorld

PUBLIC = {
    ("GET", "/api/tokens/list"),
    ("GET", "/api/tokens/{symbol}/info"),
    ("GET", "/api/methodology"),
    ("GET", "/api/strategies/available"),
    ("GET", "/api/strategies/candidates"),
    ("GET", "/api/compliance/disclosures"),
    ("GET", "/api/exchange/{symbol}/book"),
    ("GET", "/api/proof/latest"),
}
EXAMPLES, UNAUTHENTICATED_EXAMPLES = 6, 3


@pytest.fixture(scope="module")
def operations(world: ApiWorld) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app(api_rate_limit="1000000/minute"))
    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), results
    found = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(found) == 48  # 29 + 12 business routes (issue 14) + 7 exchange and proof (issue 13)
    return found


def run_each(operations: list[Any], examples: int, body: Callable[[Any], None]) -> None:
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            body(case)

        check()


@pytest.mark.parametrize("role", [PA, OA])
def test_generated_requests_conform(operations: list[Any], world: ApiWorld, role: str) -> None:
    """As a platform admin (every admin route) and as an organisation admin who owns a wallet with
    cash (trades, modes, rebalances and proposals really run)."""
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    run_each(
        operations, EXAMPLES, lambda case: case.call_and_validate(headers=world.auth(role), checks=checks)
    )


def test_protected_operations_need_a_key(operations: list[Any]) -> None:
    def unauthenticated(case: Any) -> None:
        response = case.call()
        if (case.method.upper(), case.path) in PUBLIC:
            assert response.status_code < 500
        else:
            assert response.status_code == 401, (case.method, case.path, response.text[:200])

    run_each(operations, UNAUTHENTICATED_EXAMPLES, unauthenticated)
