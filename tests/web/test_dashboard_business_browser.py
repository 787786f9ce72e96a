"""Issue 14 on the dashboard in a real browser (Playwright, OS Chromium, real uvicorn on loopback):
a platform admin reads a pending organisation's application and rejects it with a reason through
the gateway; a treasurer sees the plan, downloads last month's statement and opens the signed PMA
agreement. Screenshots go to tests/output/dashboard/ (not committed)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from core.models import OrgStatus
from tests.e2e.chat_support import ADMIN_ID
from tests.support.dashboard_world import DashboardWorld
from tests.web.test_dashboard_browser import CHROMIUM, OUTPUT, _link, _page, _sign_in, browser, live
from tests.web.test_dashboard_business import _consent_hash
from tests.web.test_dashboard_pages import _status

__all__ = ["browser", "live"]  # the fixtures, shared with the dashboard's browser tests
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no OS chromium (apt-get install -y chromium)")


def test_admin_rejects_an_application_and_a_treasurer_downloads_documents(
    live: tuple[DashboardWorld, str], browser: Any, tmp_path: Path
) -> None:
    world, base = live
    page = _page(browser)
    _sign_in(page, _link(world, ADMIN_ID))
    page.get_by_role("link", name="Organisations").click()
    application = page.locator(f"#application-{world.mercy}")
    assert "Mercy Trust" in application.inner_text() and "PMA agreement: accepted" in application.inner_text()
    page.screenshot(path=str(OUTPUT / "organisations-application.png"), full_page=True)
    row = page.locator(f"#org-{world.mercy}")
    row.get_by_placeholder("reason").fill("The EIN is missing")
    row.get_by_role("button", name="Reject").click()
    page.wait_for_url(lambda url: "/dashboard/organisations?note=" in url)
    assert f"Organisation #{world.mercy} Mercy Trust rejected (audited)" in page.locator(".note").inner_text()
    assert _status(world.db, world.mercy) is OrgStatus.REJECTED
    page.screenshot(path=str(OUTPUT / "organisations-rejected.png"), full_page=True)

    treasurer = _page(browser)
    _sign_in(treasurer, _link(world, 100))
    assert "Basic" in treasurer.locator("#plan").inner_text()
    treasurer.screenshot(path=str(OUTPUT / "treasurer-business.png"), full_page=True)
    links = treasurer.locator("#statements a")
    assert links.count() >= 2
    with treasurer.expect_download() as download:
        links.first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith(f"statement-org{world.grace}-") and saved.read_bytes().startswith(b"%PDF")
    with treasurer.expect_download() as signed:
        treasurer.locator("#agreement").get_by_role("link", name="Download PDF").click()
    pdf = tmp_path / "agreement.pdf"
    signed.value.save_as(pdf)
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == _consent_hash(world.db, world.grace)
    assert base.startswith("http://127.0.0.1:")
