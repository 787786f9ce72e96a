"""Test helpers for the chat layer: a real database, the real command layer, and a few shortcuts.

Used by the unit, integration and e2e chat tests (only the network is ever faked).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from core import ledger
from core.commands.dispatcher import CommandLayer
from core.commands.types import ChatType, Identity, Reply
from core.config import Settings
from core.db import Database
from core.notify import CollectingNotifier

ADMIN_ID = 1
_keys = itertools.count(1)


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "platform_admins": f"telegram:{ADMIN_ID},console:{ADMIN_ID},discord:{ADMIN_ID}"
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class ChatWorld:
    """A command layer over a real database, driven as one platform."""

    db: Database
    platform: str = "telegram"
    settings: Settings = field(default_factory=make_settings)
    notifier: CollectingNotifier = field(default_factory=CollectingNotifier)

    def __post_init__(self) -> None:
        self.layer = CommandLayer(self.db, self.settings, notifier=self.notifier)

    def ident(
        self, user_id: int, chat_type: ChatType = ChatType.PRIVATE, chat_id: int | None = None
    ) -> Identity:
        return Identity(
            self.platform, user_id, chat_id if chat_id is not None else user_id, chat_type, f"user{user_id}"
        )

    def say(
        self,
        user_id: int,
        line: str,
        *,
        chat_type: ChatType = ChatType.PRIVATE,
        key: str | None = None,
        edited: bool = False,
        chat_id: int | None = None,
    ) -> Reply:
        return self.layer.handle_line(
            self.ident(user_id, chat_type, chat_id), line, key or f"k{next(_keys)}", edited=edited
        )

    def press(
        self,
        user_id: int,
        reply: Reply,
        label: str,
        *,
        key: str | None = None,
        chat_type: ChatType = ChatType.PRIVATE,
    ) -> Reply:
        action = next(b.action for b in reply.all_buttons() if b.label.lower().startswith(label.lower()))
        return self.layer.handle_line(
            self.ident(user_id, chat_type), "/" + action, key or f"cb{next(_keys)}", via_button=True
        )

    def onboard(self, user_id: int, org_name: str = "Grace Chapel", *, agree: bool = True) -> int:
        """Attest everything, register an organisation and (``agree``) accept its PMA agreement;
        returns the organisation id."""
        reply = self.say(user_id, "/start")
        while reply.step == "attest":
            reply = self.press(user_id, reply, reply.all_buttons()[0].label)
        assert reply.step == "org_kind", reply.text
        reply = self.press(user_id, reply, "Church")
        assert reply.expect == "org register church", reply.text
        reply = self.say(user_id, f"/{reply.expect} {org_name}")
        assert "pending verification" in reply.text, reply.text
        org_id = int(reply.text.split("#", 1)[1].split(",", 1)[0])
        if agree:  # the PMA agreement: PDF and summary, then Agree (needed before /verify)
            accepted = self.press(user_id, self.say(user_id, "/agreement"), "Agree")
            assert accepted.text.startswith("Recorded"), accepted.text
        return org_id

    def verify(self, org_id: int) -> Reply:
        return self.say(ADMIN_ID, f"/verify {org_id}")

    def confirm(self, user_id: int, reply: Reply) -> Reply:
        return self.press(user_id, reply, "Confirm")


def make_token(db: Database, symbol: str = "STRAT-YIELD-USDC-001", supply: str = "1000000") -> str:
    created = ledger.tokenize(
        db.uow(),
        agent_id=None,
        symbol=symbol,
        total_supply=supply,
        status="active",
        idempotency_key=f"tok-{symbol}",
    )
    return created.symbol
