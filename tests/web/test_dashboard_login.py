"""Passwordless sign-in to the dashboard: /dashboard in a private chat gives a single-use link valid
10 minutes (stored hashed); opening it shows a Sign in button whose POST sets an HttpOnly,
SameSite=Strict session cookie (Secure over HTTPS); used, expired and unknown links are refused and
write nothing; logout ends the session; CSRF on every form; `arena dashboard-link`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import SimulatedClock
from core.commands.types import ChatType
from core.db import Database
from core.models import Organisation, OrgStatus
from core.models.ledger import AuditLog
from core.models.web import DashboardLoginLink, DashboardSession
from tests.e2e.chat_support import ADMIN_ID
from tests.support.dashboard_world import DashboardWorld, build_world


@pytest.fixture
def world(any_db: Database) -> DashboardWorld:
    """On SQLite, and on PostgreSQL when ARENA_TEST_PG_URL is set."""
    return build_world(any_db)


def _count(db: Database, model: type) -> int:
    with db.uow(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _advance(db: Database, delta: timedelta) -> None:
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(delta)


def test_link_is_single_use_and_stored_only_as_its_hash(world: DashboardWorld) -> None:
    text = world.chat.say(ADMIN_ID, "/dashboard").text
    assert "works once, for 10 minutes" in text and "http://127.0.0.1:8804/dashboard/login/" in text
    secret = text.rsplit("/", 1)[1]
    assert len(secret) >= 40
    with world.db.uow(read_only=True) as uow:
        link = uow.session.scalars(select(DashboardLoginLink)).one()
        assert link.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert link.expires_at - link.created_at == timedelta(minutes=10) and link.used_at is None

    client = world.client()
    page = client.get(f"/dashboard/login/{secret}")  # opening (or a link preview) spends nothing
    assert page.status_code == 200 and 'action="/dashboard/login"' in page.text
    assert client.get(f"/dashboard/login/{secret}").status_code == 200
    signed = client.post("/dashboard/login", data={"secret": secret})
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
    cookie = signed.headers["set-cookie"]
    assert "arena_dashboard=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    with world.db.uow(read_only=True) as uow:
        session_row = uow.session.scalars(select(DashboardSession)).one()
        assert session_row.expires_at - session_row.created_at == timedelta(hours=8)
        cookie_secret = cookie.split("arena_dashboard=", 1)[1].split(";", 1)[0].strip('"')
        assert session_row.token_sha256 == hashlib.sha256(cookie_secret.encode()).hexdigest()
    assert "Platform overview" in client.get("/dashboard").text

    again = world.client().post("/dashboard/login", data={"secret": secret})
    assert again.status_code == 403 and "already used or has expired" in again.text
    assert "set-cookie" not in again.headers
    assert _count(world.db, DashboardSession) == 1


def test_secure_cookie_behind_https(world: DashboardWorld) -> None:
    answer = world.client().post("/dashboard/login", data={"secret": world.link(ADMIN_ID)},
                                 headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_expired_and_unknown_links_are_refused(world: DashboardWorld) -> None:
    on_time, late = world.link(ADMIN_ID), world.link(ADMIN_ID)
    _advance(world.db, timedelta(minutes=9, seconds=59))
    assert world.client().post("/dashboard/login", data={"secret": on_time}).status_code == 303
    _advance(world.db, timedelta(seconds=1))  # exactly 10 minutes: expired
    refused = world.client().post("/dashboard/login", data={"secret": late})
    assert refused.status_code == 403 and "expired" in refused.text
    unknown = world.client().post("/dashboard/login", data={"secret": "x" * 43})
    assert unknown.status_code == 403 and "not valid" in unknown.text
    assert world.client().post("/dashboard/login", data={}).status_code == 403
    assert _count(world.db, DashboardSession) == 1


def test_only_admins_in_private_chats_get_links(world: DashboardWorld) -> None:
    member = world.chat.say(300, "/dashboard").text  # Mercy Trust is still pending: a member
    assert member == "Your organisation must be verified before you can do that."
    group = world.chat.say(ADMIN_ID, "/dashboard", chat_type=ChatType.GROUP, chat_id=-5).text
    assert group == "/dashboard only works in a private chat with the bot."
    visitor = world.chat.say(999, "/dashboard").text
    assert "Complete onboarding first" in visitor
    assert _count(world.db, DashboardLoginLink) == 0
    assert "works once" in world.chat.say(100, "/dashboard").text  # an organisation admin


def test_session_ends_at_logout_and_after_eight_hours(world: DashboardWorld) -> None:
    client = world.signed_in(ADMIN_ID)
    page = client.get("/dashboard/organisations")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    refused = client.post("/dashboard/logout", data={})
    assert refused.status_code == 403 and client.get("/dashboard/tokens").status_code == 200
    old_cookie = client.cookies.get("arena_dashboard")
    assert old_cookie
    out = client.post("/dashboard/logout", data={"csrf": csrf})
    assert out.status_code == 303 and 'arena_dashboard=""' in out.headers["set-cookie"]
    stale = world.client()  # a copy of the old cookie no longer works either
    stale.cookies.set("arena_dashboard", old_cookie)
    assert stale.get("/dashboard/tokens").status_code == 401
    later = world.signed_in(ADMIN_ID)
    _advance(world.db, timedelta(hours=8))
    answer = later.get("/dashboard/tokens")
    assert answer.status_code == 401 and "send /dashboard to the bot" in answer.text


def test_losing_the_role_loses_the_dashboard(world: DashboardWorld) -> None:
    client = world.signed_in(100)
    assert "Grace Chapel" in client.get("/dashboard").text
    with world.db.uow() as uow:
        org = uow.session.get(Organisation, world.grace)
        assert org is not None
        org.status = OrgStatus.REJECTED
        uow.commit()
    assert client.get("/dashboard").status_code == 200  # back to the sign-in help
    assert "Sign in to the dashboard" in client.get("/dashboard").text


def test_logins_are_audited(world: DashboardWorld) -> None:
    world.signed_in(ADMIN_ID)
    with world.db.uow(read_only=True) as uow:
        actions = list(uow.session.scalars(select(AuditLog.action).where(AuditLog.action.like("dashboard.%"))
                                           .order_by(AuditLog.id)))
    assert actions == ["dashboard.link", "dashboard.login"]


def _arena(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    env |= {"ARENA_DB_URL": f"sqlite:///{db_path}", "ARENA_PLATFORM_ADMINS": "telegram:1",
           "ARENA_DASHBOARD_URL": "https://arena.example.org/"}
    command = [sys.executable, "-c", "from bot.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_dashboard_link_from_the_command_line(sqlite_db: Database) -> None:
    path = Path(str(sqlite_db.engine.url.database))
    sqlite_db.dispose()
    done = _arena(path, "dashboard-link", "--user", "telegram:1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("https://arena.example.org/dashboard/login/") and done.stderr == ""
    bad = _arena(path, "dashboard-link", "--user", "alice")
    assert bad.returncode == 2 and "PLATFORM:ID" in bad.stderr and "Traceback" not in bad.stderr
    missing = _arena(path, "dashboard-link", "--user", "telegram:555")
    assert missing.returncode == 2 and "No user telegram:555" in missing.stderr
