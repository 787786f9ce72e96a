"""The REST API through httpx against the real app over a real SQLite file: public reads, trades,
wallets, verification, errors as problem documents, keys, rate limits. Expected figures are worked
out by hand from the world in ``tests.web.support`` (a token seeded with 100 USD at NAV 1.00, wallet
A holding 10,000 USD, no fees on the simulated day the trades happen)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.clock import SimulatedClock
from core.commands import api_views
from core.ledger import check_invariants
from core.models import AIWallet, LedgerTransaction
from tests.web.support import OA, PA, SYMBOL, VM, XOA, ApiWorld, M, build_world

PROBLEM = "application/problem+json"


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def cash_of(world: ApiWorld, wallet_id: int) -> str:
    with world.db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, wallet_id)
        assert wallet is not None
        return format(wallet.cash.normalize(), "f")


def test_openapi_is_3_1_and_the_docs_page_needs_no_network(world: ApiWorld) -> None:
    client = world.client()
    schema = client.get("/openapi.json").json()
    assert schema["openapi"] == "3.1.0"
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for url in ("/docs", "/redoc"):
        page = client.get(url)
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    # Swagger UI 5 reads OpenAPI 3.1 (version 4 refuses a 3.1 document).
    assert "isOAS31" in client.get("/docs-assets/swagger-ui-bundle.js").text
    assert client.get("/healthz").json() == {
        "status": "ok",
        "services": ["exchange", "optimizer", "importer", "compliance", "dashboard"],
    }


def test_public_reads_need_no_key_and_carry_decimal_strings(world: ApiWorld) -> None:
    client = world.client()
    listed = client.get("/api/tokens/list").json()
    assert [t["symbol"] for t in listed] == [SYMBOL]
    token = listed[0]
    # Seeded with 100 USD at NAV 1.00: 100 units issued out of 1,000,000.
    assert (token["nav_per_token"], token["aum"], token["circulating_supply"], token["remaining_supply"]) == (
        "1",
        "100.000000",  # USD amounts: exactly 6 decimals (the cash quantum)
        "100",
        "999900",
    )
    info = client.get(f"/api/tokens/{SYMBOL.lower()}/info").json()
    assert info["symbol"] == SYMBOL and info["nav_history"] == [] and info["strategy"] is None
    assert client.get("/api/methodology").json()["fees"]["management_fee_per_year"] == "0.01"
    missing = client.get("/api/tokens/STRAT-NONE-X-001/info")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert "STRAT-NONE-X-001" in missing.json()["detail"]


def test_buy_then_sell_move_money_as_the_chat_would(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    bought = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "1000"}, headers=world.auth(OA) | key("b-1")
    )
    assert bought.status_code == 200, bought.text
    trade = bought.json()
    assert (trade["side"], trade["tokens"], trade["cash"], trade["cash_balance"]) == (
        "buy",
        "1000.000000000000000000",
        "1000.000000",
        "9000.000000",
    )
    assert cash_of(world, world.wallet_id) == "9000"
    # AUM is now 1,100 USD; a token pays out at most 10 % of AUM a day: 110 now, 290 queued.
    sold = client.post(
        f"/api/tokens/{SYMBOL}/sell", json={"quantity": "400"}, headers=world.auth(OA) | key("s-1")
    )
    assert sold.status_code == 200, sold.text
    body = sold.json()
    assert (body["redeemed_now"], body["cash_now"], body["queued"]) == (
        "110.000000000000000000",
        "110.000000",
        "290.000000000000000000",
    )
    assert cash_of(world, world.wallet_id) == "9110"
    status = client.get(f"/api/wallet/{world.wallet_id}/status", headers=world.auth(OA)).json()
    assert status["cash"] == "9110.000000" and status["holdings"][0]["quantity"] == "890"
    assert status["total_value"] == "10000.000000"  # 9,110 cash + 890 units at NAV 1
    with world.db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []


def test_trades_after_fees_accrued_settle_them_first(fresh_world: ApiWorld) -> None:
    """30 days of management fee are due: the quote settles them inside the trade's transaction
    (in the one lock order) and the trade fills at the settled NAV, below 1."""
    world, client = fresh_world, fresh_world.client()
    clock = world.db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(days=30))
    bought = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "1000"}, headers=world.auth(OA) | key("f")
    )
    assert bought.status_code == 200, bought.text
    # 1 %/yr on the 100 USD pool for 30 days = 0.0821917... USD, booked to the micro-dollar:
    # 0.082191, so NAV = (100 - 0.082191) / 100. The quote settled it (as the chat's does).
    assert Decimal(bought.json()["nav_per_token"]) == Decimal("0.99917809")
    assert Decimal(bought.json()["fees_settled"]) == 0
    sold = client.post(
        f"/api/tokens/{SYMBOL}/sell", json={"quantity": "all"}, headers=world.auth(OA) | key("g")
    )
    assert sold.status_code == 200, sold.text
    with world.db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []


def test_money_in_responses_has_exactly_the_cash_quantum(fresh_world: ApiWorld) -> None:
    """After 30 days of fee NAV is 0.99917809 (worked out above): 1,000 USD buys
    floor(1000 / 0.99917809) units, and units x NAV is an exact product with 26 decimals. The API
    shows every USD amount with exactly 6 decimals; a value is rounded half-up to them."""
    world, client = fresh_world, fresh_world.client()
    clock = world.db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(days=30))
    bought = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "1000"}, headers=world.auth(OA) | key("q")
    ).json()
    six = re.compile(r"^[0-9]+\.[0-9]{6}$")
    assert all(six.match(bought[k]) for k in ("cash", "fees_settled", "cash_balance")), bought
    status = client.get(f"/api/wallet/{world.wallet_id}/status", headers=world.auth(OA)).json()
    units, nav = Decimal(status["holdings"][0]["quantity"]), Decimal("0.99917809")
    assert Decimal(status["holdings"][0]["nav_per_token"]) == nav
    exact = units.fma(nav, 0, context=Context(prec=60))  # exact: 28 digits would round it
    cent_millionth = Decimal("0.000001")
    assert status["holdings"][0]["value"] == format(exact.quantize(cent_millionth, ROUND_HALF_UP), "f")
    total = (Decimal(9000) + exact).quantize(cent_millionth, ROUND_HALF_UP)  # 10,000 - 1,000 cash
    assert (status["cash"], status["cash_reserved"], status["total_value"]) == (
        "9000.000000", "0.000000", format(total, "f"))
    token = client.get("/api/tokens/list").json()[0]
    assert six.match(token["aum"]), token


def test_refusals_read_as_in_chat_and_write_nothing(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    too_much = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "20000"}, headers=world.auth(OA) | key("x")
    )
    assert too_much.status_code == 409 and "less than $20,000.00" in too_much.json()["detail"]
    # A verified member of organisation A who is not an owner of its wallet.
    not_owner = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "5"}, headers=world.auth(VM) | key("y")
    )
    assert not_owner.status_code == 403 and "owners" in not_owner.json()["detail"]
    floats = client.post(f"/api/tokens/{SYMBOL}/buy", json={"amount": 5.5}, headers=world.auth(OA) | key("z"))
    assert floats.status_code == 422 and floats.headers["content-type"] == PROBLEM
    assert cash_of(world, world.wallet_id) == "10000"
    # The failed request consumed no key: the same key works for a valid buy.
    assert (
        client.post(
            f"/api/tokens/{SYMBOL}/buy", json={"amount": "5"}, headers=world.auth(OA) | key("x")
        ).status_code
        == 200
    )


def test_a_buy_under_a_cent_into_a_held_position_is_refused(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    url = f"/api/tokens/{SYMBOL}/buy"
    first = client.post(url, json={"amount": "10"}, headers=world.auth(OA) | key("c1"))
    assert first.status_code == 200, first.text
    with world.db.uow(read_only=True) as uow:
        txns = uow.session.scalar(select(func.count()).select_from(LedgerTransaction))
    tiny = client.post(url, json={"amount": "0.001"}, headers=world.auth(OA) | key("c2"))
    assert tiny.status_code in (400, 422) and tiny.headers["content-type"] == PROBLEM
    assert tiny.json()["detail"] == "Amount must be at least $0.01 (one cent)"
    assert cash_of(world, world.wallet_id) == "9990"
    with world.db.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(LedgerTransaction)) == txns


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/api/wallet/{w}/status", None),
        ("GET", "/api/wallet/{w}/suggested", None),
        ("GET", "/api/wallet/{w}/proposals", None),
        ("POST", "/api/wallet/{w}/mode", {"mode": "hybrid"}),
        ("POST", "/api/wallet/{w}/rebalance", None),
    ],
)
def test_another_organisations_wallet_reads_like_a_missing_one(
    world: ApiWorld, method: str, path: str, body: Any
) -> None:
    client = world.client()
    theirs = client.request(
        method, path.format(w=world.wallet_id), json=body, headers=world.auth(XOA) | key("o")
    )
    missing = client.request(method, path.format(w=999), json=body, headers=world.auth(XOA) | key("o"))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(str(world.wallet_id), "N") == missing.json()["detail"].replace(
        "999", "N"
    )


def test_platform_admin_verifies_an_organisation_through_the_command_layer(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    pending = client.get("/api/compliance/organisations/pending", headers=world.auth(PA)).json()
    assert world.org_ids["pending"] in [o["id"] for o in pending]
    done = client.post(
        f"/api/compliance/organisations/{world.org_ids['pending']}/verify", headers=world.auth(PA)
    )
    assert done.status_code == 200 and "verified" in done.json()["message"]
    # The member of that organisation is now its admin and can see its new wallet.
    wallets = client.post("/api/wallet/create", json={}, headers=world.auth(M)).json()
    assert wallets["created"] is False
    assert client.get(f"/api/wallet/{wallets['wallet_id']}/status", headers=world.auth(M)).status_code == 200


def test_mode_and_hybrid_rebalance_make_a_proposal(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    w = world.wallet_id
    basic = client.post(f"/api/wallet/{w}/plan", json={"plan": "basic"}, headers=world.auth(OA) | key("p"))
    assert basic.json()["plan"] == "basic"  # hybrid needs an AI plan; new wallets start on Free
    changed = client.post(f"/api/wallet/{w}/mode", json={"mode": "hybrid"}, headers=world.auth(OA)).json()
    assert (changed["from"], changed["to"]) == ("manual", "hybrid")
    made = client.post(f"/api/wallet/{w}/rebalance", headers=world.auth(OA) | key("r-1")).json()
    assert made["kind"] == "proposal" and made["proposal"]["status"] == "pending"
    listed = client.get(f"/api/wallet/{w}/proposals", headers=world.auth(OA)).json()
    assert [p["id"] for p in listed] == [made["proposal"]["id"]]
    rejected = client.post(f"/api/proposals/{made['proposal']['id']}/reject", headers=world.auth(OA)).json()
    assert rejected["status"] == "rejected"
    assert client.get(f"/api/wallet/{w}/proposals", headers=world.auth(OA)).json() == []


def test_halt_refuses_buys_until_resume(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    assert client.post("/api/risk/halt", json={"reason": "drill"}, headers=world.auth(PA)).status_code == 200
    assert client.get("/api/risk", headers=world.auth(PA)).json()["halted"] is True
    refused = client.post(
        f"/api/tokens/{SYMBOL}/buy", json={"amount": "5"}, headers=world.auth(OA) | key("h")
    )
    assert refused.status_code == 409 and "halted" in refused.json()["detail"]
    assert client.post("/api/risk/resume", headers=world.auth(PA)).json()["message"] == "Trading resumed."
    assert (
        client.post(
            f"/api/tokens/{SYMBOL}/buy", json={"amount": "5"}, headers=world.auth(OA) | key("h")
        ).status_code
        == 200
    )
    actions = [a["action"] for a in client.get("/api/audit?limit=50", headers=world.auth(PA)).json()]
    assert any(a.startswith("risk.") or "halt" in a for a in actions), actions


def test_an_unexpected_error_is_a_plain_500_without_a_trace(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(session: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api_views, "list_tokens", broken)
    response = world.client().get("/api/tokens/list")
    assert response.status_code == 500 and response.headers["content-type"] == PROBLEM
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "Nothing was changed" in response.json()["detail"]
    assert "secret internal detail" in caplog.text  # logged server-side


def test_unknown_route_and_bad_json_are_problems(world: ApiWorld) -> None:
    client = world.client()
    nowhere = client.get("/api/nowhere")
    assert nowhere.status_code == 404 and nowhere.headers["content-type"] == PROBLEM
    garbled = client.post(
        f"/api/tokens/{SYMBOL}/buy",
        content=b"{not json",
        headers=world.auth(OA) | key("g") | {"content-type": "application/json"},
    )
    assert garbled.status_code == 422 and garbled.headers["content-type"] == PROBLEM


def test_bad_revoked_and_missing_keys_get_401(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    url = f"/api/wallet/{world.wallet_id}/status"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer ta_00000000_nope"}).status_code == 401
    assert client.get(url, headers={"Authorization": world.keys[OA]}).status_code == 401  # no scheme
    spare = world.new_key(OA, "spare")
    assert client.get(url, headers={"Authorization": f"Bearer {spare}"}).status_code == 200
    from core import access

    with world.db.uow() as uow:
        key_id = access.list_in(uow.session, "telegram", 30)[0].key_id
        assert access.revoke_in(uow.session, world.db.clock, "telegram", 30, key_id)
        uow.commit()
    refused = client.get(url, headers={"Authorization": f"Bearer {spare}"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


def test_rate_limit_per_key_with_retry_after(world: ApiWorld) -> None:
    client = world.client(world.app(api_rate_limit="3/minute"))
    url = f"/api/wallet/{world.wallet_id}/status"
    codes = [client.get(url, headers=world.auth(OA)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(url, headers=world.auth(OA))
    assert limited.headers["content-type"] == PROBLEM
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/api/stats", headers=world.auth(PA)).status_code == 200  # another key: its own count


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_money_moves_once_per_idempotency_key(backend: str, request: pytest.FixtureRequest) -> None:
    world = (
        request.getfixturevalue("fresh_world")
        if backend == "sqlite"
        else build_world(request.getfixturevalue("pg_db"))
    )
    client = world.client()
    url, headers = f"/api/tokens/{SYMBOL}/buy", world.auth(OA) | key("same-key")

    def buys() -> int:
        with world.db.uow(read_only=True) as uow:
            return (
                uow.session.scalar(
                    select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "buy")
                )
                or 0
            )

    before = buys()
    first = client.post(url, json={"amount": "250"}, headers=headers)
    second = client.post(url, json={"amount": "250"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()  # the stored response
    assert buys() == before + 1
    assert cash_of(world, world.wallet_id) == "9750"  # 10,000 - 250, once
    other = client.post(url, json={"amount": "300"}, headers=headers)
    assert other.status_code == 409 and other.headers["content-type"] == PROBLEM
    assert "Idempotency-Key" in other.json()["detail"] and "api:" not in other.json()["detail"]
    missing = client.post(url, json={"amount": "300"}, headers=world.auth(OA))
    assert missing.status_code == 400 and "Idempotency-Key" in missing.json()["detail"]
    assert cash_of(world, world.wallet_id) == "9750" and buys() == before + 1
    # The same key for another operation is another body too.
    sell = client.post(f"/api/tokens/{SYMBOL}/sell", json={"quantity": "250"}, headers=headers)
    assert sell.status_code == 409
