"""A platform for API tests: one token, two verified organisations and a person of every role, each
with an API key, over a real SQLite file; the app under test is the real FastAPI app."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from bot.web.app import create_app
from core import access, ledger
from core.commands.context import Hooks
from core.db import Database
from core.models import User
from core.notify import CollectingNotifier
from tests.e2e.chat_support import ADMIN_ID, ChatWorld, make_token
from tests.support.hybrid import wallet_of as wallet_id_of

SYMBOL = "STRAT-YIELD-USDC-001"
V, M, VM, OA, PA = "visitor", "member", "verified_member", "org_admin", "platform_admin"
XOA = "other_org_admin"
ROLES = (V, M, VM, OA, PA, XOA)
USER_IDS = {V: 10, M: 20, VM: 40, OA: 30, PA: ADMIN_ID, XOA: 50}


@dataclass
class ApiWorld:
    db: Database
    chat: ChatWorld
    keys: dict[str, str] = field(default_factory=dict)
    wallet_id: int = 0  # the organisation admin's (organisation A) wallet
    other_wallet_id: int = 0
    org_ids: dict[str, int] = field(default_factory=dict)
    notifier: CollectingNotifier = field(default_factory=CollectingNotifier)

    def app(self, services: frozenset[str] = frozenset({"all"}), **overrides: object) -> FastAPI:
        settings = self.chat.settings.model_copy(update=overrides) if overrides else self.chat.settings
        return create_app(self.db, settings, set(services), hooks=Hooks(), notifier=self.notifier)

    def client(self, app: FastAPI | None = None) -> TestClient:
        return TestClient(app or self.app(), raise_server_exceptions=False)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def new_key(self, role: str, label: str = "") -> str:
        with self.db.uow() as uow:
            created = access.create_in(uow.session, self.db.clock, "telegram", USER_IDS[role], label)
            uow.commit()
        return created.key


def build_world(db: Database) -> ApiWorld:
    """Roles: visitor (never attested), member (organisation pending), verified member and
    organisation admin of organisation A (the admin owns its wallet), platform admin, and the
    admin of a second verified organisation B. One active token; wallet A holds 10,000 USD."""
    chat = ChatWorld(db)
    world = ApiWorld(db, chat)
    chat.say(USER_IDS[V], "/disclosures")
    world.org_ids["pending"] = chat.onboard(USER_IDS[M], "Pending Church")
    org_a = chat.onboard(USER_IDS[OA], "Grace Chapel")
    chat.verify(org_a)
    chat.onboard(USER_IDS[VM], "Joining Church")
    with db.uow() as uow:  # the verified member belongs to organisation A without being its admin
        uow.session.execute(
            update(User)
            .where(User.platform_user_id == USER_IDS[VM])
            .values(organisation_id=org_a, is_org_admin=False)
        )
        uow.commit()
    org_b = chat.onboard(USER_IDS[XOA], "Other Chapel")
    chat.verify(org_b)
    world.org_ids.update(a=org_a, b=org_b)
    world.wallet_id, world.other_wallet_id = wallet_id_of(db, org_a), wallet_id_of(db, org_b)
    make_token(db, SYMBOL)
    ledger.deposit(db.uow(), world.wallet_id, "10000", idempotency_key="seed-a")
    ledger.deposit(db.uow(), world.other_wallet_id, "10000", idempotency_key="seed-b")
    for role in ROLES:
        world.keys[role] = world.new_key(role, role)
    return world
