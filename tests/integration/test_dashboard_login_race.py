"""One sign-in link, many browsers at once: exactly one session, on SQLite and PostgreSQL. And the
dashboard's default notifier puts chat pushes into the durable outbox."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from core.compliance import dashboard_login
from core.compliance.identity import get_or_create_user
from core.db import Database
from core.models.chat import OutboxMessage
from core.models.web import DashboardSession
from tests.e2e.chat_support import make_settings

RACERS = 8


def test_racing_posts_of_one_link_get_one_session(any_db: Database) -> None:
    settings = make_settings()
    with any_db.uow() as uow:
        user = get_or_create_user(uow.session, "telegram", 1, "root", any_db.clock)
        uow.session.flush()
        secret = dashboard_login.issue_link(uow.session, settings, user, any_db.clock.now()).rsplit("/", 1)[1]
        uow.commit()
    start = threading.Barrier(RACERS)

    def redeem(_: int) -> str:
        start.wait()
        try:
            with any_db.uow() as uow:
                token = dashboard_login.redeem_link(uow.session, settings, secret, any_db.clock.now())
                uow.commit()
            return token
        except dashboard_login.LoginRefused as refused:
            return refused.message

    with ThreadPoolExecutor(RACERS) as pool:
        results = list(pool.map(redeem, range(RACERS)))
    refusals = [r for r in results if r == dashboard_login.REFUSED]
    assert len(refusals) == RACERS - 1
    with any_db.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(DashboardSession)) == 1


def test_dashboard_actions_reach_chats_through_the_outbox(sqlite_db: Database) -> None:
    from fastapi.testclient import TestClient

    from bot.web.dashboard.standalone import create_dashboard_app
    from tests.support.dashboard_world import build_world

    world = build_world(sqlite_db)
    app = create_dashboard_app(sqlite_db, world.chat.settings)  # the default notifier: the outbox
    client = TestClient(app, follow_redirects=False)
    assert client.post("/dashboard/login", data={"secret": world.link(1)}).status_code == 303
    page = client.get("/dashboard/organisations").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    nonce = page.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    client.post(f"/dashboard/organisations/{world.mercy}/verify", data={"csrf": csrf, "nonce": nonce})
    with sqlite_db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 300)).all()
        assert len(rows) == 1 and "Mercy Trust is verified" in str(rows[0].payload)
