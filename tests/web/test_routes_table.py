"""The route table against the permission table, and the authorisation matrix: every API route x
every role (and no key at all), each cell asserted against expectations written here by hand.

Probes are built so that no cell changes the platform: an allowed caller meets a request that fails
validation after the gate (422: an invalid body, path or query), or a read; a refused caller gets
403 (401 without a key) from the gate, which runs before any validation of the request itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from bot.web.app import SERVICES, create_app
from bot.web.auth import Gate
from core.commands.permissions import lookup
from tests.web.support import OA, PA, ROLES, USER_IDS, VM, XOA, ApiWorld, M, V

RANK = {V: 0, M: 1, VM: 2, OA: 3, XOA: 3, PA: 4}
BAD = {"unexpected": 1}  # every body model forbids unknown fields
# (method, path template) -> (lowest role, public without a key, probe path, probe body, read-only)
ROUTES: dict[tuple[str, str], tuple[str, bool, str, Any]] = {
    ("GET", "/api/tokens/list"): (V, True, "/api/tokens/list", None),
    ("GET", "/api/tokens/{symbol}/info"): (V, True, "/api/tokens/!bad/info", None),
    ("POST", "/api/tokens/create"): (PA, False, "/api/tokens/create", BAD),
    ("POST", "/api/tokens/{symbol}/buy"): (VM, False, "/api/tokens/X/buy", BAD),
    ("POST", "/api/tokens/{symbol}/sell"): (VM, False, "/api/tokens/X/sell", BAD),
    ("GET", "/api/methodology"): (V, True, "/api/methodology", None),
    ("POST", "/api/wallet/create"): (OA, False, "/api/wallet/create", BAD),
    ("GET", "/api/wallet/{id}/status"): (M, False, "/api/wallet/0/status", None),
    ("POST", "/api/wallet/{id}/mode"): (OA, False, "/api/wallet/1/mode", BAD),
    ("GET", "/api/wallet/{id}/suggested"): (VM, False, "/api/wallet/0/suggested", None),
    ("POST", "/api/wallet/{id}/rebalance"): (OA, False, "/api/wallet/0/rebalance", None),
    ("GET", "/api/wallet/{id}/proposals"): (VM, False, "/api/wallet/0/proposals", None),
    ("POST", "/api/proposals/{id}/approve"): (OA, False, "/api/proposals/0/approve", None),
    ("POST", "/api/proposals/{id}/reject"): (OA, False, "/api/proposals/0/reject", None),
    ("GET", "/api/strategies/available"): (V, True, "/api/strategies/available", None),
    ("GET", "/api/strategies/candidates"): (V, True, "/api/strategies/candidates?state=nope", None),
    ("GET", "/api/strategies/{id}/backtest"): (M, False, "/api/strategies/0/backtest", None),
    ("POST", "/api/strategies/import"): (M, False, "/api/strategies/import", BAD),
    ("GET", "/api/compliance/disclosures"): (V, True, "/api/compliance/disclosures", None),
    ("POST", "/api/compliance/attestations"): (V, False, "/api/compliance/attestations", BAD),
    ("POST", "/api/compliance/organisations"): (V, False, "/api/compliance/organisations", BAD),
    ("GET", "/api/compliance/organisations/pending"): (
        PA,
        False,
        "/api/compliance/organisations/pending",
        None,
    ),
    ("POST", "/api/compliance/organisations/{id}/verify"): (
        PA,
        False,
        "/api/compliance/organisations/0/verify",
        None,
    ),
    ("GET", "/api/risk"): (PA, False, "/api/risk", None),
    ("POST", "/api/risk/halt"): (PA, False, "/api/risk/halt", BAD),
    ("POST", "/api/risk/resume"): (PA, False, "/api/risk/resume", None),
    ("GET", "/api/audit"): (PA, False, "/api/audit?limit=0", None),
    ("GET", "/api/jobs"): (PA, False, "/api/jobs?limit=0", None),
    ("GET", "/api/stats"): (PA, False, "/api/stats", None),
    # Issue 14 on the web: plans, risk profile, statements, agreement, gateway, bounty.
    ("GET", "/api/wallet/{id}/plan"): (M, False, "/api/wallet/0/plan", None),
    ("POST", "/api/wallet/{id}/plan"): (M, False, "/api/wallet/1/plan", BAD),
    ("GET", "/api/wallet/{id}/risk"): (OA, False, "/api/wallet/0/risk", None),
    ("POST", "/api/wallet/{id}/risk"): (OA, False, "/api/wallet/1/risk", BAD),
    ("GET", "/api/orgs/{id}/statements/{month}"): (M, False, "/api/orgs/1/statements/2026-13", None),
    ("GET", "/api/compliance/agreement"): (M, False, "/api/compliance/agreement?format=doc", None),
    ("POST", "/api/compliance/agreement/accept"): (M, False, "/api/compliance/agreement/accept", BAD),
    ("GET", "/api/compliance/application"): (M, False, "/api/compliance/application?read=1", None),
    ("POST", "/api/compliance/application"): (M, False, "/api/compliance/application", BAD),
    ("GET", "/api/compliance/applications/pending"): (
        PA,
        False,
        "/api/compliance/applications/pending",
        None,
    ),
    ("POST", "/api/compliance/organisations/{id}/deny"): (
        PA,
        False,
        "/api/compliance/organisations/0/deny",
        None,
    ),
    ("GET", "/api/strategies/bounties"): (M, False, "/api/strategies/bounties", None),
    # The internal exchange and the proof of liabilities (issue 13) on the exchange service.
    ("GET", "/api/exchange/{symbol}/book"): (V, True, "/api/exchange/!bad/book", None),
    ("POST", "/api/exchange/{symbol}/ask"): (VM, False, "/api/exchange/X/ask", BAD),
    ("POST", "/api/exchange/{symbol}/bid"): (VM, False, "/api/exchange/X/bid", BAD),
    ("GET", "/api/wallet/{id}/orders"): (VM, False, "/api/wallet/0/orders", None),
    ("POST", "/api/exchange/orders/{order_id}/cancel"): (V, False, "/api/exchange/orders/0/cancel", None),
    ("GET", "/api/proof/latest"): (V, True, "/api/proof/latest", None),
    ("GET", "/api/wallet/{id}/proof"): (M, False, "/api/wallet/0/proof", None),
}
#: Probes that are plain reads (allowed callers get 200, not 422).
READS = {
    "/api/tokens/list",
    "/api/methodology",
    "/api/strategies/available",
    "/api/compliance/disclosures",
    "/api/compliance/organisations/pending",
    "/api/risk",
    "/api/stats",
    "/api/risk/resume",
    "/api/compliance/application?read=1",  # its POST shares the path (and gets 422)
    "/api/compliance/applications/pending",
    "/api/strategies/bounties",
    "/api/proof/latest",
}
#: Reads whose answer depends on having an organisation: the platform admin has none (404).
NO_ORGANISATION = {("/api/compliance/application?read=1", PA), ("/api/strategies/bounties", PA)}
#: Reads that answer 404 to every allowed caller here: the world has published no proof yet.
NOTHING_PUBLISHED = {"/api/proof/latest"}
BRIEF = {
    ("POST", "/api/tokens/create"),
    ("GET", "/api/tokens/list"),
    ("GET", "/api/tokens/{symbol}/info"),
    ("POST", "/api/tokens/{symbol}/buy"),
    ("POST", "/api/tokens/{symbol}/sell"),
    ("POST", "/api/wallet/create"),
    ("GET", "/api/wallet/{id}/status"),
    ("POST", "/api/wallet/{id}/mode"),
    ("GET", "/api/wallet/{id}/suggested"),
    ("POST", "/api/wallet/{id}/rebalance"),
    ("GET", "/api/strategies/available"),
    ("GET", "/api/strategies/{id}/backtest"),
    ("POST", "/api/strategies/import"),
}


def gates(route: APIRoute) -> list[Gate]:
    found, stack = [], [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Gate):
            found.append(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def flat_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route, including those of included routers (FastAPI >= 0.16x keeps an included
    router as one entry holding the original router; older versions copy its routes)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += flat_routes(route.original_router.routes)
    return found


INFRASTRUCTURE = {("GET", "/healthz"), ("GET", "/docs"), ("GET", "/redoc")}


def api_routes(world: ApiWorld) -> dict[tuple[str, str], APIRoute]:
    """Every route of the API surface (``/api/...``). The dashboard's HTML pages, mounted on the
    dashboard service when its module is installed, have their own session login and CSRF checks
    and their own tests; the API's gate is not theirs."""
    routes = {}
    for route in flat_routes(world.app().routes):
        for method in route.methods or ():
            if route.path.startswith("/api/"):
                routes[(method, route.path)] = route
    assert {(m, r.path) for r in flat_routes(world.app().routes) for m in r.methods or ()} >= INFRASTRUCTURE
    return routes


def test_every_route_has_exactly_one_gate_naming_a_permission_row(world: ApiWorld) -> None:
    routes = api_routes(world)
    assert set(routes) == set(ROUTES)  # no route escapes the table below, none is missing
    assert set(routes) >= BRIEF  # the brief's 13 endpoints at exactly its paths
    for key, route in routes.items():
        found = gates(route)
        assert len(found) == 1, key
        assert lookup(found[0].name) is found[0].permission
        assert found[0].public is ROUTES[key][1], key


def test_the_openapi_document_says_which_routes_need_a_key(world: ApiWorld) -> None:
    paths = world.client().get("/openapi.json").json()["paths"]
    for (method, path), (_lowest, public, _probe, _body) in ROUTES.items():
        security = paths[path][method.lower()]["security"]
        assert {"HTTPBearer": []} in security
        assert ({} in security) is public, (method, path)


def test_a_gate_naming_no_permission_row_cannot_be_built() -> None:
    with pytest.raises(RuntimeError, match="not in the permission table"):
        Gate("no_such_command")
    with pytest.raises(RuntimeError, match="cannot be public"):
        Gate("buy", public=True)


def test_each_service_mounts_only_its_routers(world: ApiWorld) -> None:
    seen: set[tuple[str, str]] = set()
    for service in SERVICES:
        app = create_app(world.db, world.chat.settings, {service}, notifier=world.notifier)
        paths = {
            (m, r.path)
            for r in flat_routes(app.routes)
            for m in r.methods or ()
            if r.path.startswith("/api/")
        }
        assert not paths & seen, service  # no route in two services
        seen |= paths
        prefix = {
            "exchange": (
                "/api/tokens",
                "/api/methodology",
                "/api/exchange",
                "/api/proof",
                "/api/wallet/{id}/orders",
                "/api/wallet/{id}/proof",
            ),
            "optimizer": ("/api/wallet", "/api/proposals", "/api/orgs"),
            "importer": ("/api/strategies",),
            "compliance": ("/api/compliance",),
            "dashboard": ("/api/risk", "/api/audit", "/api/jobs", "/api/stats"),
        }[service]
        assert paths and all(p.startswith(prefix) for _, p in paths), service
    assert seen == set(ROUTES)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_matrix(world: ApiWorld, role: str | None) -> None:
    client = world.client()
    headers = {"Idempotency-Key": "matrix-probe"} | (world.auth(role) if role else {})
    for (method, _template), (lowest, public, path, body) in ROUTES.items():
        response = client.request(method, path, json=body, headers=headers)
        cell = (role, method, path, response.status_code, response.text[:200])
        allowed = public if role is None else RANK[role] >= RANK[lowest]
        if allowed:
            expected = 200 if path in READS or path.split("?")[0] in READS else 422
            missing = (path, role) in NO_ORGANISATION or path in NOTHING_PUBLISHED
            assert response.status_code == (404 if missing else expected), cell
        else:
            assert response.status_code == (401 if role is None else 403), cell
            assert response.headers["content-type"] == "application/problem+json"
            assert len(response.json()["detail"]) < 120


def test_user_ids_match_the_roles_the_matrix_assumes(world: ApiWorld) -> None:
    """The people really have the roles the matrix names (resolved as for a chat message)."""
    from core.compliance.identity import resolve

    with world.db.uow(read_only=True) as uow:
        for role, user_id in USER_IDS.items():
            _user, resolved = resolve(uow.session, world.chat.settings, "telegram", user_id)
            assert resolved.value == (OA if role == XOA else role)


def test_the_dashboard_pages_are_served_by_the_dashboard_service_only(world: ApiWorld) -> None:
    """``dashboard`` and ``all`` mount the dashboard's pages (its public methodology page here);
    the other services do not."""
    for services, mounted in (({"dashboard"}, True), ({"all"}, True), ({"exchange"}, False)):
        app = create_app(world.db, world.chat.settings, services, notifier=world.notifier)
        response = world.client(app).get("/methodology")
        assert response.status_code == (200 if mounted else 404), services
        if mounted:
            assert "risk-free" in response.text.lower()
