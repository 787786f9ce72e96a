"""The treasurer view's business parts through the real dashboard app (httpx TestClient): the plan,
statement downloads for recent months (PDF read back, CSV totals), the signed PMA agreement (its
hash is the one stored with the acceptance), each for the viewer's own organisation only."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.db import Database
from core.models.agreements import AgreementConsent
from tests.support.dashboard_world import DashboardWorld, build_world

GRACE_ADMIN, HOPE_ADMIN = 100, 200


@pytest.fixture
def world(any_db: Database) -> DashboardWorld:
    """On SQLite, and on PostgreSQL when ARENA_TEST_PG_URL is set."""
    return build_world(any_db)


def _consent_hash(db: Database, org_id: int) -> str:
    with db.uow(read_only=True) as uow:
        consent = uow.session.scalars(
            select(AgreementConsent).where(AgreementConsent.organisation_id == org_id)).one()
        return consent.pdf_sha256


def test_treasurer_sees_plan_statements_and_signed_agreement(world: DashboardWorld) -> None:
    client = world.signed_in(GRACE_ADMIN)
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="plan"' in html and "<strong>Basic</strong> · $50.00 a month" in html
    assert "up to 10 tokens" in html
    now = world.db.clock.now()
    month = f"{now.year:04d}-{now.month:02d}"
    for fmt in ("pdf", "csv"):
        assert f'href="/dashboard/statements/{month}.{fmt}"' in html
    assert 'href="/dashboard/agreement.pdf"' in html and "Signed pma-v1" in html
    pdf = client.get(f"/dashboard/statements/{month}.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Grace Chapel" in text
    rows = list(csv.DictReader(io.StringIO(client.get(f"/dashboard/statements/{month}.csv").text)))
    amounts = {(r["section"], r["item"]): Decimal(r["amount"] or "NaN") for r in rows}
    # $10,033.93 deposited, Basic from 10 Feb: $50 x 19/28 = $33.93 charged; $10,000.00 left
    assert amounts[("movement", "Deposits")] == Decimal("10033.93")
    assert amounts[("movement", "Plan charges")] == Decimal("-33.93")
    assert amounts[("summary", "closing cash")] == Decimal("10000.00")
    agreement = client.get("/dashboard/agreement.pdf")
    assert agreement.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(agreement.content).hexdigest() == _consent_hash(world.db, world.grace)
    download = client.get("/dashboard/agreement.md?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    assert "Grace Chapel" in download.text


def test_downloads_are_the_viewers_organisation_only_and_need_a_session(world: DashboardWorld) -> None:
    hope = world.signed_in(HOPE_ADMIN)
    now = world.db.clock.now()
    month = f"{now.year:04d}-{now.month:02d}"
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(
        hope.get(f"/dashboard/statements/{month}.pdf").content)).pages)
    assert "Hope Church" in text and "Grace Chapel" not in text
    assert hashlib.sha256(hope.get("/dashboard/agreement.pdf").content).hexdigest() == _consent_hash(
        world.db, world.hope)
    assert hope.get(f"/dashboard/statements/{month}.xls").status_code == 404
    assert hope.get("/dashboard/statements/2099-01.pdf").status_code == 400  # not started: one line
    anonymous = world.client()
    assert anonymous.get(f"/dashboard/statements/{month}.pdf").status_code == 401
    assert anonymous.get("/dashboard/agreement.pdf").status_code == 401
