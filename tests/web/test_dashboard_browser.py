"""The dashboard in a real browser: Playwright driving the OS Chromium against a real uvicorn on a
loopback port. An admin signs in through a one-time link, verifies a pending organisation and sees a
token's chart rendered; an organisation admin approves a hybrid proposal and sees the trades; a used
and an expired link are refused; a form posted without its CSRF field is refused. Screenshots go to
tests/output/dashboard/ (not committed)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import SimulatedClock
from core.db import Database
from core.models import OrgStatus
from tests.e2e.chat_support import ADMIN_ID
from tests.support.dashboard_world import DashboardWorld, build_world
from tests.support.hybrid import SYMBOLS, executions, proposal_id_in
from tests.support.live_server import free_port, serving
from tests.web.test_dashboard_pages import _status

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "dashboard"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no OS chromium (apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")


@pytest.fixture
def live(sqlite_db: Database) -> Iterator[tuple[DashboardWorld, str]]:
    port = free_port()
    world = build_world(sqlite_db, dashboard_url=f"http://127.0.0.1:{port}")
    with serving(world.app, port) as base:
        yield world, base


@pytest.fixture
def browser() -> Iterator[Any]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # a loaded CI machine; approvals re-plan
    return page


def _link(world: DashboardWorld, user_id: int) -> str:
    text = world.chat.say(user_id, "/dashboard").text
    return text.rsplit("\n", 1)[1]


def _image_width(page: Any, selector: str, timeout: float = 60) -> int:
    """The decoded width of an <img> once loaded (0 = broken). Polled from Python: the pages' CSP
    forbids the eval that Playwright's wait_for_function would need."""
    deadline = time.monotonic() + timeout
    image = page.locator(selector)
    while time.monotonic() < deadline:
        if image.evaluate("img => img.complete"):
            return int(image.evaluate("img => img.naturalWidth"))
        time.sleep(0.1)
    raise AssertionError(f"{selector} did not load in {timeout}s")


def _sign_in(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def test_admin_verifies_an_organisation_and_sees_a_token_chart(live: tuple[DashboardWorld, str],
                                                               browser: Any) -> None:
    world, base = live
    page = _page(browser)
    _sign_in(page, _link(world, ADMIN_ID))
    assert page.locator("h1").inner_text() == "Platform overview"
    assert _image_width(page, "#platform-chart") >= 1000
    page.screenshot(path=str(OUTPUT / "overview.png"), full_page=True)

    page.get_by_role("link", name="Organisations").click()
    row = page.locator(f"#org-{world.mercy}")
    assert "pending" in row.inner_text()
    row.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/dashboard/organisations?note=" in url)
    assert f"Organisation #{world.mercy} Mercy Trust verified" in page.locator(".note").inner_text()
    assert "verified" in page.locator(f"#org-{world.mercy}").inner_text()
    assert _status(world.db, world.mercy) is OrgStatus.VERIFIED
    page.screenshot(path=str(OUTPUT / "organisations.png"), full_page=True)

    page.goto(f"{base}/dashboard/tokens")
    page.get_by_role("link", name=SYMBOLS[2]).click()
    assert _image_width(page, "#nav-chart") >= 1000
    assert page.locator("h1").inner_text().startswith(SYMBOLS[2])
    page.screenshot(path=str(OUTPUT / "token.png"), full_page=True)


def test_org_admin_approves_a_hybrid_proposal(live: tuple[DashboardWorld, str], browser: Any) -> None:
    world, _base = live
    pid = proposal_id_in(world.chat.say(100, "/suggest").text)
    page = _page(browser)
    _sign_in(page, _link(world, 100))
    assert "Grace Chapel" in page.locator("h1").inner_text()
    proposal = page.locator(f"#proposal-{pid}")
    assert "pending" in proposal.inner_text()
    page.screenshot(path=str(OUTPUT / "treasurer-proposal.png"), full_page=True)
    proposal.get_by_role("button", name="Approve").click()
    page.wait_for_url(lambda url: "/dashboard?note=" in url)
    assert f"Approved proposal #{pid}" in page.locator(".note").inner_text()
    trades = page.locator(f"#proposal-{pid} ul.trades li")
    assert trades.count() >= 1 and trades.first.inner_text().startswith("bought ")
    assert page.locator("table.holdings tbody tr").count() >= 1
    assert executions(world.db, world.wallet(world.grace)) == 1
    page.screenshot(path=str(OUTPUT / "treasurer-approved.png"), full_page=True)


def test_used_and_expired_links_are_refused(live: tuple[DashboardWorld, str], browser: Any) -> None:
    world, _base = live
    used, late = _link(world, ADMIN_ID), _link(world, ADMIN_ID)
    first = _page(browser)
    _sign_in(first, used)
    second = _page(browser)
    second.goto(used)
    second.get_by_role("button", name="Sign in").click()
    second.wait_for_load_state()
    assert "already used or has expired" in second.locator(".message").inner_text()
    second.screenshot(path=str(OUTPUT / "link-used.png"), full_page=True)
    clock = world.db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(minutes=11))
    third = _page(browser)
    third.goto(late)
    third.get_by_role("button", name="Sign in").click()
    third.wait_for_load_state()
    assert "already used or has expired" in third.locator(".message").inner_text()
    assert third.context.cookies() == []


def test_a_form_without_its_csrf_field_is_refused(live: tuple[DashboardWorld, str], browser: Any) -> None:
    world, base = live
    page = _page(browser)
    _sign_in(page, _link(world, ADMIN_ID))
    page.goto(f"{base}/dashboard/organisations")
    row = page.locator(f"#org-{world.mercy}")
    row.locator("form[action$='/verify'] input[name=csrf]").evaluate("e => e.remove()")
    row.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()
    assert "did not come from this dashboard" in page.locator(".message").inner_text()
    assert _status(world.db, world.mercy) is OrgStatus.PENDING
    page.screenshot(path=str(OUTPUT / "csrf-refused.png"), full_page=True)


def test_anyone_reads_the_public_pages(live: tuple[DashboardWorld, str], browser: Any) -> None:
    _world, base = live
    page = _page(browser)
    page.goto(f"{base}/")
    assert page.url == f"{base}/performance" and page.locator("h1").inner_text() == "Strategy tokens"
    page.get_by_role("link", name=SYMBOLS[0]).click()
    assert _image_width(page, "#nav-chart") >= 1000
    assert page.get_by_role("button", name="Sign out").count() == 0
    page.get_by_role("link", name="Methodology").click()
    assert "at least 180 days" in page.locator("main").inner_text()
    page.screenshot(path=str(OUTPUT / "methodology.png"), full_page=True)
