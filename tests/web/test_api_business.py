"""Issue 14 on the web: plans, the risk profile, the PMA agreement, the verification gateway,
statements and the import bounty through the real app (httpx TestClient, real SQLite file).
Expected figures are computed by hand in the comments."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime

from pypdf import PdfReader
from sqlalchemy import select

from bot.web.app import create_app
from bot.wiring import submit_strategy
from core.commands.context import Hooks
from core.models.money import StrategySubmission
from tests.web.support import OA, PA, USER_IDS, VM, XOA, ApiWorld, M


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _cash(world: ApiWorld, client: object, wallet_id: int) -> str:
    status = client.get(f"/api/wallet/{wallet_id}/status", headers=world.auth(OA))  # type: ignore[attr-defined]
    assert status.status_code == 200, status.text
    return str(status.json()["cash"])


def test_plan_show_and_a_prorated_upgrade_charged_once_per_key(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    wid = world.wallet_id
    shown = client.get(f"/api/wallet/{wid}/plan", headers=world.auth(VM))  # any member reads it
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["plan"], body["price_per_month"], body["max_tokens"]) == ("free", "0.000000", 3)
    assert body["tokens_held"] == 0
    assert [(p["plan"], p["price_per_month"]) for p in body["plans"]] == [
        ("free", "0.000000"), ("basic", "50.000000"), ("premium", "200.000000")]
    world.db.clock.set(datetime(2025, 1, 16, 12, tzinfo=UTC))  # type: ignore[attr-defined]
    url, headers = f"/api/wallet/{wid}/plan", world.auth(OA) | {"Idempotency-Key": "up-1"}
    assert client.post(url, json={"plan": "basic"}, headers=world.auth(OA)).status_code == 400  # no key
    first = client.post(url, json={"plan": "basic"}, headers=headers)
    assert first.status_code == 200, first.text
    # 16 of 31 days left including the 16th: 50 x 16 / 31 = 25.806... -> 25.81
    assert first.json()["charged"] == "25.810000" and first.json()["plan"] == "basic"
    again = client.post(url, json={"plan": "basic"}, headers=headers)
    assert again.json() == first.json()
    assert _cash(world, client, wid) == "9974.190000"  # 10,000 - 25.81, once
    other = client.post(url, json={"plan": "premium"}, headers=headers)
    assert other.status_code == 409 and other.headers["content-type"] == "application/problem+json"
    assert _cash(world, client, wid) == "9974.190000"


def test_a_plan_change_of_a_wallet_with_an_open_bid(fresh_world: ApiWorld) -> None:
    """The plan change locks the bid's token before the wallet (the ledger's lock order): it used
    to lock the wallet first and the downgrade's bid check then asked for the token out of order."""
    from core import exchange
    from tests.web.support import SYMBOL

    world, client = fresh_world, fresh_world.client()
    wid = world.wallet_id
    exchange.place_order(world.db.uow(), wid, "bid", SYMBOL, "10", "1.00", idempotency_key="bid-1")
    url = f"/api/wallet/{wid}/plan"
    up = client.post(url, json={"plan": "basic"}, headers=world.auth(OA) | {"Idempotency-Key": "p-1"})
    assert up.status_code == 200, up.text
    down = client.post(url, json={"plan": "free"}, headers=world.auth(OA) | {"Idempotency-Key": "p-2"})
    assert down.status_code == 200, down.text
    assert down.json()["scheduled_plan"] == "free"  # one token bid for: Free has room, nothing cancelled
    assert "will be cancelled" not in down.json()["message"]


def test_plan_changes_are_for_the_organisation_admin_and_other_wallets_read_as_missing(
    world: ApiWorld,
) -> None:
    client = world.client()
    url = f"/api/wallet/{world.wallet_id}/plan"
    member = client.post(url, json={"plan": "basic"}, headers=world.auth(VM) | {"Idempotency-Key": "vm"})
    assert member.status_code == 403 and "admin" in member.json()["detail"]
    assert client.get(url, headers=world.auth(XOA)).status_code == 404
    unknown = client.post(url, json={"plan": "gold"}, headers=world.auth(OA) | {"Idempotency-Key": "g"})
    assert unknown.status_code == 422


def test_risk_profile_needs_premium_then_is_stored(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    wid = world.wallet_id
    refused = client.post(f"/api/wallet/{wid}/risk", json={"profile": "conservative"}, headers=world.auth(OA))
    assert refused.status_code == 409 and "Premium" in refused.json()["detail"]
    up = client.post(f"/api/wallet/{wid}/plan", json={"plan": "premium"},
                     headers=world.auth(OA) | {"Idempotency-Key": "prem"})
    assert up.status_code == 200 and up.json()["charged"] == "200.000000"  # 1 Jan: 31 of 31 days
    bad = client.post(f"/api/wallet/{wid}/risk", json={"profile": "volatility"}, headers=world.auth(OA))
    assert bad.status_code == 422
    ok = client.post(f"/api/wallet/{wid}/risk", json={"profile": "volatility", "volatility_percent": 12},
                     headers=world.auth(OA))
    assert ok.status_code == 200 and "custom 12 %" in ok.json()["message"]
    shown = client.get(f"/api/wallet/{wid}/risk", headers=world.auth(OA)).json()
    assert shown["custom_allowed"] is True
    assert shown["profile"]["kind"] == "target_volatility" and shown["profile"]["target_volatility"] == 0.12
    capped = client.post(f"/api/wallet/{wid}/risk", json={"profile": "maxweight", "max_weight_percent": 10},
                         headers=world.auth(OA))
    assert capped.status_code == 200 and "Max weight per token: 10%." in capped.json()["message"]
    profile = client.get(f"/api/wallet/{wid}/risk", headers=world.auth(OA)).json()["profile"]
    assert (profile["target_volatility"], profile["max_weight"]) == (0.12, 0.1)  # the objective stays
    for body in ({"profile": "maxweight"}, {"profile": "maxweight", "max_weight_percent": 21},
                 {"profile": "volatility", "volatility_percent": 12, "max_weight_percent": 10}):
        refused = client.post(f"/api/wallet/{wid}/risk", json=body, headers=world.auth(OA))
        assert refused.status_code == 422, body
    assert client.get(f"/api/wallet/{world.other_wallet_id}/risk", headers=world.auth(OA)).status_code == 404


def test_agreement_as_json_pdf_and_markdown_then_accepted(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    new_admin = 60
    world.chat.onboard(new_admin, "Hope Fellowship", agree=False)
    USER_IDS["new_admin"] = new_admin
    try:
        key = {"Authorization": f"Bearer {world.new_key('new_admin')}"}
    finally:
        del USER_IDS["new_admin"]
    meta = client.get("/api/compliance/agreement", headers=key)
    assert meta.status_code == 200, meta.text
    doc = meta.json()
    assert (doc["organisation"], doc["version"], doc["accepted"], doc["can_accept"]) == (
        "Hope Fellowship", "pma-v1", False, True)
    pdf = client.get("/api/compliance/agreement?format=pdf", headers=key)
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == doc["pdf_sha256"]
    text = _text(pdf.content)
    assert "Hope Fellowship" in text and "pma-v1" in text
    md = client.get("/api/compliance/agreement?format=md", headers=key)
    assert md.headers["content-type"].startswith("text/markdown")
    assert hashlib.sha256(md.content).hexdigest() == doc["markdown_sha256"] and "Hope Fellowship" in md.text
    assert client.get("/api/compliance/agreement", headers=key).json()["document_id"] == doc["document_id"]
    accepted = client.post("/api/compliance/agreement/accept", json={"document_id": doc["document_id"]},
                           headers=key)
    assert accepted.status_code == 200 and accepted.json()["message"].startswith("Recorded")
    assert client.get("/api/compliance/agreement", headers=key).json()["accepted"] is True
    others = client.post("/api/compliance/agreement/accept", json={"document_id": doc["document_id"]},
                         headers=world.auth(OA))
    assert others.status_code == 404  # another organisation's document


def test_application_filled_in_queued_and_rejected_with_a_reason(fresh_world: ApiWorld) -> None:
    world, client = fresh_world, fresh_world.client()
    pending_org = world.org_ids["pending"]
    mine = client.get("/api/compliance/application", headers=world.auth(M))
    assert mine.status_code == 200 and mine.json()["status"] == "pending"
    assert mine.json()["legal_name"] == "Pending Church"
    bad = client.post("/api/compliance/application", json={"ein": "12-3456789", "trust": "<b>"},
                      headers=world.auth(M))
    assert bad.status_code == 422
    assert client.get("/api/compliance/application", headers=world.auth(M)).json()["registration_ref"] is None
    filled = client.post("/api/compliance/application",
                         json={"ein": "12-3456789", "trustees": "Ann Smith; Bob Jones"},
                         headers=world.auth(M))
    assert filled.status_code == 200, filled.text
    assert (filled.json()["registration_ref"], filled.json()["trustees"]) == (
        "12-3456789", ["Ann Smith", "Bob Jones"])
    queue = client.get("/api/compliance/applications/pending", headers=world.auth(PA)).json()
    # oldest first: "Pending Church" (#1) and "Joining Church" (#3, whose admin later joined A)
    assert [(a["organisation_id"], a["legal_name"]) for a in queue] == [
        (pending_org, "Pending Church"), (3, "Joining Church")]
    assert queue[0]["registration_ref"] == "12-3456789" and queue[0]["agreement_accepted"] is True
    before = len(world.notifier.messages)
    denied = client.post(f"/api/compliance/organisations/{pending_org}/deny",
                         json={"reason": "EIN does not match the IRS record"}, headers=world.auth(PA))
    assert denied.status_code == 200 and "rejected (audited)" in denied.json()["message"]
    told = world.notifier.messages[before:]
    assert told and all("EIN does not match the IRS record" in m.reply.text for m in told)
    after = client.get("/api/compliance/application", headers=world.auth(M)).json()
    assert (after["status"], after["reason"]) == ("rejected", "EIN does not match the IRS record")
    left = client.get("/api/compliance/applications/pending", headers=world.auth(PA)).json()
    assert [a["organisation_id"] for a in left] == [3]
    audit = client.get("/api/audit?limit=20", headers=world.auth(PA)).json()
    assert any(e["action"] == "org.reject" and e["subject"] == f"org:{pending_org}" for e in audit)


def test_monthly_statement_as_pdf_and_csv_for_the_organisation_only(world: ApiWorld) -> None:
    client = world.client()
    org = world.org_ids["a"]
    url = f"/api/orgs/{org}/statements/2025-01"
    pdf = client.get(url, headers=world.auth(VM))
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert f'filename="statement-org{org}-2025-01.pdf"' in pdf.headers["content-disposition"]
    assert "Grace Chapel" in _text(pdf.content)
    rows = list(csv.DictReader(io.StringIO(client.get(url + "?format=csv", headers=world.auth(OA)).text)))
    closing = next(r for r in rows if r["item"] == "closing cash")
    assert closing["amount"] == "10000"  # the 10,000 deposit of January, nothing spent
    assert client.get(url, headers=world.auth(XOA)).status_code == 404  # not theirs
    assert client.get(url, headers=world.auth(PA)).status_code == 200  # platform admins: any
    assert client.get(f"/api/orgs/{org}/statements/2031-01", headers=world.auth(OA)).status_code == 422


def test_import_records_the_submitter_and_bounties_show_it(fresh_world: ApiWorld) -> None:
    world = fresh_world

    def submit(source: str, org: int, user: int, channel: str = "chat") -> str:
        return submit_strategy(world.db, source, org, user, channel)

    app = create_app(world.db, world.chat.settings, {"all"}, hooks=Hooks(submit_source=submit),
                     notifier=world.notifier)
    client = world.client(app)
    empty = client.get("/api/strategies/bounties", headers=world.auth(OA)).json()
    assert empty == {"submissions": 0, "accrued": "0.000000", "unfunded": "0.000000", "paid": "0.000000",
                     "tokens": []}
    text = ("Hold the three-month T-bill ETF when the 200-day moving average of the S&P 500 is "
            "falling, otherwise hold the S&P 500 ETF; rebalance monthly.")
    sent = client.post("/api/strategies/import", json={"text": text}, headers=world.auth(VM))
    assert sent.status_code == 200, sent.text
    assert client.get("/api/strategies/bounties", headers=world.auth(OA)).json()["submissions"] == 1
    with world.db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(StrategySubmission)).all()
        assert [(r.organisation_id, r.channel) for r in rows] == [(world.org_ids["a"], "api")]
    assert client.get("/api/strategies/bounties", headers=world.auth(XOA)).json()["submissions"] == 0
    both = client.post("/api/strategies/import", json={"text": text, "url": "https://example.org/s"},
                       headers=world.auth(VM))
    assert both.status_code == 422
