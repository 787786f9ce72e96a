"""A platform for the dashboard tests: five tokens with 40 days of NAV marks, a verified
organisation (Grace Chapel, admin 100) with a hybrid wallet and cash, a second verified
organisation (Hope Church, admin 200), a pending one (Mercy Trust, admin 300), a platform admin
(user 1), and helpers that sign in through a real one-time link from the chat command."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.web.dashboard.standalone import create_dashboard_app
from core.db import Database
from tests.e2e.chat_support import ADMIN_ID, ChatWorld, make_settings
from tests.support.hybrid import tokens_with_history, wallet_of

LINK = re.compile(r"(https?://\S+/dashboard/login/(\S+))")


@dataclass
class DashboardWorld:
    chat: ChatWorld
    app: FastAPI
    grace: int
    hope: int
    mercy: int

    @property
    def db(self) -> Database:
        return self.chat.db

    def link(self, user_id: int) -> str:
        """The secret of a fresh one-time link, asked for with /dashboard in a private chat."""
        text = self.chat.say(user_id, "/dashboard").text
        found = LINK.search(text)
        assert found, text
        return found.group(2)

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self, user_id: int) -> TestClient:
        client = self.client()
        answer = client.post("/dashboard/login", data={"secret": self.link(user_id)})
        assert answer.status_code == 303, answer.text
        return client

    def wallet(self, org_id: int) -> int:
        return wallet_of(self.db, org_id)


def build_world(db: Database, **settings: object) -> DashboardWorld:
    chat = ChatWorld(db, settings=make_settings(**settings))
    tokens_with_history(db)
    grace = chat.onboard(100, "Grace Chapel")
    chat.verify(grace)
    # Hybrid needs an AI plan (new wallets start on Free). Basic from 10 Feb 2025: $50 x 19/28 days
    # = $33.93 charged now, so the wallet keeps exactly $10,000.00.
    chat.confirm(100, chat.say(100, "/deposit 10,033.93"))
    chat.confirm(100, chat.say(100, "/plan basic"))
    chat.say(100, "/mode hybrid")
    hope = chat.onboard(200, "Hope Church")
    chat.verify(hope)
    mercy = chat.onboard(300, "Mercy Trust")
    chat.say(ADMIN_ID, "/start")  # the admin writes once, like a real admin
    app = create_dashboard_app(db, chat.settings, notifier=chat.notifier)
    return DashboardWorld(chat, app, grace, hope, mercy)
