"""Whole flows through the API only: onboarding to a verified organisation, and a hybrid proposal
approved by an organisation admin whose trades then show in the wallet (the optimizer needs NAV
history: five tokens with 40 days of marks, as in the chat's hybrid tests)."""

from __future__ import annotations

from pathlib import Path

from core.clock import SimulatedClock
from core.compliance.disclosures import current
from tests.conftest import START, make_sqlite_db
from tests.support.hybrid import tokens_with_history
from tests.web.support import OA, PA, XOA, ApiWorld, V, build_world


def test_onboarding_through_the_api(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    me = world.auth(V)
    early = client.post(
        "/api/compliance/organisations", json={"kind": "church", "name": "St Luke"}, headers=me
    )
    assert early.status_code == 403 and "attestations first" in early.json()["detail"]
    for item in client.get("/api/compliance/disclosures").json()["attestations"]:
        assert (
            client.post("/api/compliance/attestations", json={"kind": item["kind"]}, headers=me).status_code
            == 200
        )
    assert len(current().attestations) == 4
    made = client.post(
        "/api/compliance/organisations", json={"kind": "church", "name": "St Luke"}, headers=me
    )
    assert made.status_code == 200, made.text
    pending = client.get("/api/compliance/organisations/pending", headers=world.auth(PA)).json()
    org = next(o for o in pending if o["name"] == "St Luke")
    assert (
        client.post("/api/wallet/create", json={}, headers=me).status_code == 403
    )  # member, not yet verified
    refused = client.post(f"/api/compliance/organisations/{org['id']}/verify", headers=world.auth(PA))
    assert "has not accepted the PMA agreement" in refused.json()["detail"]  # the gateway's rule
    document = client.get("/api/compliance/agreement", headers=me).json()  # read, then accept
    assert document["organisation"] == "St Luke" and document["can_accept"] is True
    accepted = client.post(
        "/api/compliance/agreement/accept", json={"document_id": document["document_id"]}, headers=me
    )
    assert accepted.status_code == 200, accepted.text
    client.post(f"/api/compliance/organisations/{org['id']}/verify", headers=world.auth(PA))
    wallet = client.post("/api/wallet/create", json={}, headers=me).json()
    assert wallet["created"] is False  # verification opened it
    status = client.get(f"/api/wallet/{wallet['wallet_id']}/status", headers=me).json()
    assert (status["mode"], status["cash"], status["holdings"]) == ("manual", "0.000000", [])


def test_hybrid_proposal_approved_through_the_api(_sqlite_template: Path, tmp_path: Path) -> None:
    db = make_sqlite_db(_sqlite_template, tmp_path, SimulatedClock(START))
    world = build_world(db)
    tokens_with_history(db)
    client, me, w = world.client(), world.auth(OA), world.wallet_id
    free = client.post(f"/api/wallet/{w}/mode", json={"mode": "hybrid"}, headers=me)
    assert free.status_code == 409 and "Basic" in free.json()["detail"]  # new wallets start on Free
    upgrade = me | {"Idempotency-Key": "b"}
    basic = client.post(f"/api/wallet/{w}/plan", json={"plan": "basic"}, headers=upgrade)
    assert basic.status_code == 200, basic.text
    assert client.post(f"/api/wallet/{w}/mode", json={"mode": "hybrid"}, headers=me).status_code == 200
    suggestion = client.get(f"/api/wallet/{w}/suggested", headers=me).json()
    assert any("side" in t for t in suggestion["trades"]), suggestion
    made = client.post(f"/api/wallet/{w}/rebalance", headers=me | {"Idempotency-Key": "p-1"}).json()
    proposal_id = made["proposal"]["id"]
    foreign = client.post(
        f"/api/proposals/{proposal_id}/approve", headers=world.auth(XOA) | {"Idempotency-Key": "x"}
    )
    assert foreign.status_code == 404
    approved = client.post(f"/api/proposals/{proposal_id}/approve", headers=me | {"Idempotency-Key": "a-1"})
    assert approved.status_code == 200 and approved.json()["status"] == "executed", approved.text
    assert approved.json()["trades"] > 0
    again = client.post(f"/api/proposals/{proposal_id}/approve", headers=me | {"Idempotency-Key": "a-1"})
    assert again.json() == approved.json()  # the stored response, no second execution
    status = client.get(f"/api/wallet/{w}/status", headers=me).json()
    assert len(status["holdings"]) == approved.json()["trades"]
    assert client.get(f"/api/wallet/{w}/proposals", headers=me).json() == []


def test_strategies_endpoints_on_an_empty_pipeline(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    assert client.get("/api/strategies/available").json() == []
    assert client.get("/api/strategies/candidates?state=proving").json() == []
    missing = client.get("/api/strategies/7/backtest", headers=world.auth(OA))
    assert missing.status_code == 404 and "#7" in missing.json()["detail"]
    imported = client.post(
        "/api/strategies/import", json={"url": "https://example.org/x"}, headers=world.auth(OA)
    )
    assert imported.json() == {"message": "Submitting strategies is not enabled in this deployment."}
    assert (
        client.post("/api/strategies/import", json={"url": "ftp://x/y"}, headers=world.auth(OA)).status_code
        == 422
    )
