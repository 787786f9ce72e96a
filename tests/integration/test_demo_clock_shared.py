"""The demo's continued clock is one time for every program on a demo database: a sign-in link the
chat issues is valid on the dashboard, however long before the chat the dashboard was started, and
the API does not trade at today's wall time (which would charge the months since the demo's data
ended as management fees)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.demo.clock import ContinuedClock, continue_demo_clock, record_demo_clock
from core.clock import SimulatedClock
from core.compliance import dashboard_login
from core.compliance.identity import get_or_create_user
from core.config import get_settings
from core.db import Database
from core.models import AuditLog

DEMO_END = datetime(2024, 12, 30, 23, 0, tzinfo=UTC)


def test_two_continued_clocks_with_one_anchor_agree_and_never_go_back() -> None:
    wall = datetime.now(UTC) - timedelta(minutes=30)  # the demo ended half an hour ago
    first = ContinuedClock(DEMO_END, wall)
    time.sleep(0.05)
    second = ContinuedClock(DEMO_END, wall)  # started later, e.g. the dashboard after the chat
    a, b = first.now(), second.now()
    assert abs(a - b) < timedelta(seconds=1)
    assert timedelta(minutes=29) < a - DEMO_END < timedelta(minutes=31)
    assert first.now() >= a


def test_chat_link_is_valid_on_a_dashboard_started_earlier(sqlite_db: Database) -> None:
    sqlite_db.clock = SimulatedClock(DEMO_END)
    record_demo_clock(sqlite_db, "run1")
    with sqlite_db.uow() as uow:  # it stores where the demo stopped and the wall time it stopped at
        row = uow.session.scalars(select(AuditLog).where(AuditLog.action == "demo.clock")).one()
        assert row.details["now"] == DEMO_END.isoformat()
        assert abs(datetime.fromisoformat(row.details["wall"]) - datetime.now(UTC)) < timedelta(seconds=5)
        # a later demo run (the last one counts) that ended 30 minutes ago
        uow.session.add(AuditLog(at=DEMO_END, actor="demo", action="demo.clock", subject="run:run2",
                                 details={"now": DEMO_END.isoformat(),
                                          "wall": (datetime.now(UTC) - timedelta(minutes=30)).isoformat()}))
        uow.commit()
    # The dashboard process opens the database first ...
    dashboard = Database(sqlite_db.url)
    note = continue_demo_clock(dashboard, "the dashboard") or ""
    assert "the dashboard continues the demo's simulated time" in note
    time.sleep(0.1)
    # ... the chat later; both read the demo's time moved on by the 30 minutes, not today's.
    chat = Database(sqlite_db.url)
    assert continue_demo_clock(chat) is not None
    assert timedelta(minutes=29) < chat.clock.now() - DEMO_END < timedelta(minutes=31)
    assert abs(chat.clock.now() - dashboard.clock.now()) < timedelta(seconds=1)
    settings = get_settings().model_copy(update={"platform_admins": "console:4242"})
    with chat.uow() as uow:
        user = get_or_create_user(uow.session, "console", 4242, "root", chat.clock)
        url = dashboard_login.issue_link(uow.session, settings, user, chat.clock.now())
        uow.commit()
    secret = url.rsplit("/", 1)[1]
    with dashboard.uow() as uow:
        assert dashboard_login.redeem_link(uow.session, settings, secret, dashboard.clock.now())
        uow.commit()
    chat.dispose()
    dashboard.dispose()


def test_a_database_no_demo_made_keeps_the_wall_clock(sqlite_db: Database) -> None:
    other = Database(sqlite_db.url)
    assert continue_demo_clock(other) is None
    assert abs(other.clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    other.dispose()
