"""Every dashboard page through the real app (httpx TestClient): what an admin sees, the actions
(verify / reject an organisation, halt / resume, approve a hybrid proposal) and their audit rows,
CSRF refusals that write nothing, and organisation isolation for organisation admins."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.db import Database
from core.models import Organisation, OrgStatus
from core.models.chat import JobRun
from core.models.ledger import AuditLog
from core.models.pipeline import CandidateState, SourceDocument, StrategyCandidate
from core.models.wallets_ext import RebalanceProposal
from core.risk.circuit import risk_state
from tests.e2e.chat_support import ADMIN_ID
from tests.support.dashboard_world import DashboardWorld, build_world
from tests.support.hybrid import SYMBOLS, executions, holdings, proposal_id_in

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
NONCE = re.compile(r'name="nonce" value="([0-9a-f]+)"')


@pytest.fixture
def world(any_db: Database) -> DashboardWorld:
    """On SQLite, and on PostgreSQL when ARENA_TEST_PG_URL is set."""
    return build_world(any_db)


def _form(client: TestClient, path: str) -> tuple[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    csrf, nonce = CSRF.search(page.text), NONCE.search(page.text)
    assert csrf and nonce
    return csrf.group(1), nonce.group(1)


def _status(db: Database, org_id: int) -> OrgStatus:
    with db.uow(read_only=True) as uow:
        org = uow.session.get(Organisation, org_id)
        assert org is not None
        return org.status


def _audit(db: Database, action: str) -> list[tuple[str, str | None, dict[str, object]]]:
    with db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
        return [(a.actor, a.subject, dict(a.details or {})) for a in rows]


def test_every_admin_page_renders(world: DashboardWorld) -> None:
    client = world.signed_in(ADMIN_ID)
    overview = client.get("/dashboard").text
    assert "Platform overview" in overview and 'src="/dashboard/charts/platform.png"' in overview
    assert "hybrid: 1" in overview and "manual: 1" in overview and "1 pending" in overview
    tokens = client.get("/dashboard/tokens").text
    assert all(f'href="/dashboard/tokens/{s}"' in tokens for s in SYMBOLS)
    token = client.get(f"/dashboard/tokens/{SYMBOLS[0]}").text
    assert f'src="/dashboard/charts/tokens/{SYMBOLS[0]}.png"' in token
    assert "Birth gate: no gate report recorded for this token." in token
    wallets = client.get("/dashboard/wallets").text
    assert (
        "Grace Chapel treasury" in wallets and "$10,000.00" in wallets and "Hope Church treasury" in wallets
    )
    for path, words in [
        ("/dashboard/candidates", "Import pipeline"),
        ("/dashboard/risk", "Circuit breaker: trading"),
        ("/dashboard/jobs", "No job runs recorded."),
        ("/dashboard/audit", "org.verify"),
    ]:
        page = client.get(path)
        assert page.status_code == 200 and words in page.text, path


def test_charts_are_png_images(world: DashboardWorld) -> None:
    client = world.signed_in(ADMIN_ID)
    for path in (
        "/dashboard/charts/platform.png",
        f"/dashboard/charts/tokens/{SYMBOLS[1]}.png",
        f"/performance/{SYMBOLS[1]}/chart.png",
    ):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.content.startswith(b"\x89PNG\r\n\x1a\n") and len(answer.content) > 10_000
    assert world.client().get("/dashboard/charts/platform.png").status_code == 401


def test_verify_a_pending_organisation(world: DashboardWorld) -> None:
    client = world.signed_in(ADMIN_ID)
    page = client.get("/dashboard/organisations").text
    assert page.index("Mercy Trust") < page.index("Grace Chapel")  # the queue first
    csrf, nonce = _form(client, "/dashboard/organisations")
    done = client.post(f"/dashboard/organisations/{world.mercy}/verify", data={"csrf": csrf, "nonce": nonce})
    assert done.status_code == 303
    shown = client.get(done.headers["location"]).text
    assert f"Organisation #{world.mercy} Mercy Trust verified" in shown
    assert _status(world.db, world.mercy) is OrgStatus.VERIFIED
    assert ("user:", f"org:{world.mercy}") == (
        _audit(world.db, "org.verify")[-1][0][:5],
        f"org:{world.mercy}",
    )
    told = [m for m in world.chat.notifier.messages if m.chat_id == 300]
    assert told and "Mercy Trust is verified" in told[-1].reply.text


def test_reject_needs_a_reason_and_is_audited(world: DashboardWorld) -> None:
    """The page shows each pending organisation's application; Reject runs the gateway's /deny
    (the reason is recorded on the application, audited and told to the members)."""
    client = world.signed_in(ADMIN_ID)
    page = client.get("/dashboard/organisations").text
    assert f'id="application-{world.mercy}"' in page and "Mercy Trust" in page
    assert "EIN/registration: none given" in page and "PMA agreement: accepted" in page
    csrf, nonce = _form(client, "/dashboard/organisations")
    short = client.post(f"/dashboard/organisations/{world.mercy}/reject",
                        data={"csrf": csrf, "reason": "x", "nonce": nonce + "1"})
    assert "Give a reason of 3 to 500 characters" in client.get(short.headers["location"]).text
    assert _status(world.db, world.mercy) is OrgStatus.PENDING and _audit(world.db, "org.reject") == []
    told_before = len(world.chat.notifier.messages)
    client.post(
        f"/dashboard/organisations/{world.mercy}/reject",
        data={"csrf": csrf, "reason": "  no  registration   number ", "nonce": nonce + "2"},
    )
    assert _status(world.db, world.mercy) is OrgStatus.REJECTED
    [(subject, details)] = [(s, d) for _, s, d in _audit(world.db, "org.reject")]
    assert subject == f"org:{world.mercy}" and details["reason"] == "no registration number"
    told = world.chat.notifier.messages[told_before:]
    assert told and "The reviewer wrote: no registration number" in told[-1].reply.text
    assert f'id="application-{world.mercy}"' not in client.get("/dashboard/organisations").text
    verified = client.post(
        f"/dashboard/organisations/{world.grace}/reject",
        data={"csrf": csrf, "reason": "late", "nonce": nonce + "3"},
    )
    assert "already verified; it cannot be rejected" in client.get(verified.headers["location"]).text
    assert _status(world.db, world.grace) is OrgStatus.VERIFIED


def test_forms_without_the_session_csrf_token_are_refused(world: DashboardWorld) -> None:
    admin = world.signed_in(ADMIN_ID)
    other = world.signed_in(ADMIN_ID)
    other_csrf, nonce = _form(other, "/dashboard/organisations")
    path = f"/dashboard/organisations/{world.mercy}/verify"
    for data in ({"nonce": nonce}, {"csrf": "", "nonce": nonce}, {"csrf": other_csrf, "nonce": nonce}):
        refused = admin.post(path, data=data)
        assert refused.status_code == 403 and "did not come from this dashboard" in refused.text
    assert world.client().post(path, data={"csrf": other_csrf, "nonce": nonce}).status_code == 403
    assert admin.post("/dashboard/risk/halt", data={"nonce": nonce}).status_code == 403
    assert _status(world.db, world.mercy) is OrgStatus.PENDING
    with world.db.uow(read_only=True) as uow:
        assert not risk_state(uow.session).halted


def test_halt_and_resume(world: DashboardWorld) -> None:
    client = world.signed_in(ADMIN_ID)
    csrf, nonce = _form(client, "/dashboard/risk")
    client.post("/dashboard/risk/halt", data={"csrf": csrf, "nonce": nonce, "reason": "oracle outage"})
    with world.db.uow(read_only=True) as uow:
        state = risk_state(uow.session)
        assert state.halted and state.halt_reason == "halted by a platform admin: oracle outage"
    assert "HALTED" in client.get("/dashboard").text
    risk = client.get("/dashboard/risk").text
    assert "risk.circuit_breaker.manual" in risk and "Resume trading" in risk
    csrf, nonce = _form(client, "/dashboard/risk")
    client.post("/dashboard/risk/resume", data={"csrf": csrf, "nonce": nonce})
    with world.db.uow(read_only=True) as uow:
        assert not risk_state(uow.session).halted


def test_candidates_jobs_and_audit_filters(world: DashboardWorld) -> None:
    now = datetime(2025, 1, 2, tzinfo=UTC)
    with world.db.uow() as uow:
        doc = SourceDocument(
            source="forum",
            kind="post",
            url="https://example.org/t/1",
            content_hash="h" * 64,
            title="Leveraged loop on Aave",
            text="...",
            provenance={},
            fetched_at=now,
            created_at=now,
        )
        uow.session.add(doc)
        uow.session.flush()
        uow.session.add(
            StrategyCandidate(
                document_id=doc.id,
                state=CandidateState.REJECTED,
                family="other",
                reject_reason="leverage is not supported",
                created_at=now,
                updated_at=now,
                spec={"evidence": ["loop it 3x"]},
            )
        )
        uow.session.add(
            JobRun(
                job_id="nav_marks",
                scheduled_for=now,
                status="failed",
                started_at=now,
                finished_at=now,
                detail={"error": "prices ended"},
            )
        )
        uow.commit()
    client = world.signed_in(ADMIN_ID)
    board = client.get("/dashboard/candidates").text
    rejected = board.split("<h2>rejected", 1)[1]
    assert "Leveraged loop on Aave" in rejected and "leverage is not supported" in rejected
    assert "loop it 3x" in rejected
    jobs = client.get("/dashboard/jobs?failures=true").text
    assert "nav_marks" in jobs and "prices ended" in jobs
    audit = client.get("/dashboard/audit", params={"action": "org."}).text
    actions = set(re.findall(r"<td>([a-z_]+\.[a-z_.]+)</td>", audit))
    assert actions == {"org.register", "org.verify"}
    one = client.get("/dashboard/audit", params={"subject": f"org:{world.hope}"}).text
    # org.register, agreement.accept (the PMA agreement before verification), org.verify
    assert re.findall(r"<td>(org:\d+)</td>", one) == [f"org:{world.hope}"] * 3


def test_org_admins_see_only_their_organisation(world: DashboardWorld) -> None:
    card = world.chat.say(100, "/suggest").text
    pid = proposal_id_in(card)
    grace, hope = world.signed_in(100), world.signed_in(200)
    mine = grace.get("/dashboard").text
    assert "Grace Chapel" in mine and f"Proposal #{pid}" in mine and "Approve" in mine
    theirs = hope.get("/dashboard").text
    assert "Hope Church" in theirs and "Grace Chapel" not in theirs and f"Proposal #{pid}" not in theirs
    for path in (
        "/dashboard/tokens",
        "/dashboard/organisations",
        "/dashboard/wallets",
        "/dashboard/audit",
        "/dashboard/risk",
        "/dashboard/charts/platform.png",
    ):
        assert hope.get(path).status_code == 403, path


def test_an_org_admin_approves_a_hybrid_proposal(world: DashboardWorld) -> None:
    pid = proposal_id_in(world.chat.say(100, "/suggest").text)
    wallet = world.wallet(world.grace)
    grace, hope = world.signed_in(100), world.signed_in(200)
    csrf, _ = CSRF.search(hope.get("/dashboard").text).group(1), None  # type: ignore[union-attr]
    foreign = hope.post(f"/dashboard/proposals/{pid}/approve", data={"csrf": csrf, "nonce": "ab12cd34"})
    refusal = hope.get(foreign.headers["location"]).text  # reads exactly like a missing proposal
    missing = hope.post(f"/dashboard/proposals/{pid + 50}/approve", data={"csrf": csrf, "nonce": "ab12cd35"})
    assert f"There is no proposal #{pid} for a wallet you own" in refusal
    assert (
        f"There is no proposal #{pid + 50} for a wallet you own" in hope.get(missing.headers["location"]).text
    )
    assert executions(world.db, wallet) == 0

    page = grace.get("/dashboard").text
    csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
    nonce = re.search(rf'/dashboard/proposals/{pid}/approve".*?name="nonce" value="([0-9a-f]+)"', page, re.S)
    assert nonce
    form = {"csrf": csrf, "nonce": nonce.group(1)}
    done = grace.post(f"/dashboard/proposals/{pid}/approve", data=form)
    after = grace.get(done.headers["location"]).text
    assert f"Approved proposal #{pid}" in after and "Trades executed" in after and "bought" in after
    assert executions(world.db, wallet) == 1 and holdings(world.db, wallet) >= 1
    again = grace.post(f"/dashboard/proposals/{pid}/approve", data=form)  # the same form twice
    assert again.status_code == 303 and executions(world.db, wallet) == 1
    with world.db.uow(read_only=True) as uow:
        status = uow.session.scalar(select(RebalanceProposal.status).where(RebalanceProposal.id == pid))
        approvals = uow.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "proposal.approve")
        )
    assert status == "executed" and approvals == 1


def test_anonymous_visitors_are_sent_to_sign_in(world: DashboardWorld) -> None:
    client = world.client()
    home = client.get("/dashboard")
    assert home.status_code == 200 and "Send <code>/dashboard</code> to the bot" in home.text
    for path in (
        "/dashboard/tokens",
        f"/dashboard/tokens/{SYMBOLS[0]}",
        "/dashboard/organisations",
        "/dashboard/wallets",
        "/dashboard/candidates",
        "/dashboard/risk",
        "/dashboard/jobs",
        "/dashboard/audit",
    ):
        answer = client.get(path)
        assert answer.status_code == 401 and "send /dashboard to the bot" in answer.text, path
    assert client.get("/dashboard/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/dashboard/static/..%2Fauth.py").status_code == 404


PUBLIC = {
    ("GET", "/performance"),
    ("GET", "/performance/{symbol}"),
    ("GET", "/performance/{symbol}/chart.png"),
    ("GET", "/methodology"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/"),
    ("GET", "/dashboard/login/{secret}"),
    ("POST", "/dashboard/login"),
    ("GET", "/dashboard/static/{name}"),
}
SIGNED_IN = {
    ("POST", "/dashboard/logout"),
    ("POST", "/dashboard/proposals/{proposal_id}/{decision}"),
    ("GET", "/dashboard/statements/{month}.{fmt}"),  # the viewer's own organisation (test_dashboard_business)
    ("GET", "/dashboard/agreement.{fmt}"),
}
SAMPLE = {
    "{symbol}": SYMBOLS[0],
    "{org_id}": "3",
    "{name}": "style.css",
    "{secret}": "x",
    "{proposal_id}": "1",
    "{decision}": "approve",
}


def test_every_route_is_public_signed_in_or_admin_only(world: DashboardWorld) -> None:
    """From the route table: nothing escapes the three lists, and every admin route refuses an
    anonymous visitor (401) and an organisation admin (403), GET or POST (with a valid CSRF field)."""
    flat = [
        inner
        for r in world.app.routes
        for inner in (r.original_router.routes if hasattr(r, "original_router") else [r])
    ]
    routes = {
        (m, str(getattr(r, "path", "")))
        for r in flat
        for m in getattr(r, "methods", ()) or ()
        if m in ("GET", "POST") and getattr(r, "path", "") not in ("/", "/healthz")
    }
    assert routes >= PUBLIC | SIGNED_IN
    admin_only = routes - PUBLIC - SIGNED_IN
    assert len(admin_only) == 14 and all(p.startswith("/dashboard/") for _, p in admin_only)
    anonymous, org_admin = world.client(), world.signed_in(200)
    csrf = CSRF.search(org_admin.get("/dashboard").text).group(1)  # type: ignore[union-attr]
    for method, path in sorted(admin_only):
        url = path
        for key, value in SAMPLE.items():
            url = url.replace(key, value)
        data = {"csrf": csrf, "nonce": "abcdef12", "reason": "a reason"}
        if method == "GET":
            assert anonymous.get(url).status_code == 401, url
            assert org_admin.get(url).status_code == 403, url
        else:
            assert anonymous.post(url, data=data).status_code in (401, 403), url
            assert org_admin.post(url, data=data).status_code == 403, url
    assert _status(world.db, world.mercy) is OrgStatus.PENDING


def test_pages_are_not_cached_framed_or_scripted(world: DashboardWorld) -> None:
    page = world.signed_in(ADMIN_ID).get("/dashboard")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "<script" not in page.text and "style=" not in page.text


def test_risk_page_lists_retirements_and_the_redemption_queue(world: DashboardWorld) -> None:
    from decimal import Decimal

    from core.models import StrategyToken
    from core.models.wallets_ext import RedemptionRequest

    retired = world.chat.say(ADMIN_ID, f"/retire {SYMBOLS[4]}").text
    assert SYMBOLS[4] in retired
    now = datetime(2025, 2, 10, tzinfo=UTC)
    with world.db.uow() as uow:
        token_id = uow.session.scalar(select(StrategyToken.id).where(StrategyToken.symbol == SYMBOLS[1]))
        assert token_id is not None
        uow.session.add(RedemptionRequest(wallet_id=world.wallet(world.grace), token_id=token_id,
                                          quantity=Decimal("1234.5"), status="queued", requested_at=now,
                                          available_on=now.date()))
        uow.commit()
    page = world.signed_in(ADMIN_ID).get("/dashboard/risk").text
    events = page.split("Halts, resumes and kill-switch retirements", 1)[1]
    assert "token.retire" in events and SYMBOLS[4] in events
    queue = page.split("Redemption queue", 1)[1].split("Halts, resumes", 1)[0]
    assert SYMBOLS[1] in queue and "1,234.5" in queue and "2025-02-10" in queue
    public = world.client().get("/performance").text
    assert SYMBOLS[4] in public and "retired" in public  # retired tokens stay public with their record
