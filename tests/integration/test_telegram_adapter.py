"""The Telegram adapter through a real telegram.ext.Application; only the network is replaced
(OfflineRequest answers the Bot API locally)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update

from bot.telegram_bot.adapter import TelegramAdapter, registered_commands
from bot.telegram_bot.offline import OfflineRequest, UpdateFactory
from core.commands.permissions import PERMISSIONS
from core.db import Database
from core.models import AIWallet, IdempotencyKey, TokenHolding
from core.models.chat import PendingConfirmation
from tests.e2e.chat_support import ADMIN_ID, ChatWorld, make_settings, make_token

TOKEN = "123456:OFFLINE-test-token-aaaaaaaaaaaaaaaaaaaaaaaa"


class TG:
    """A real Application over a real database, fed update payloads."""

    def __init__(self, db: Database, settings_overrides: dict[str, Any] | None = None) -> None:
        self.world = ChatWorld(db, settings=make_settings(**(settings_overrides or {})))
        self.request = OfflineRequest()
        self.updates = UpdateFactory()
        self.adapter = TelegramAdapter(self.world.layer)
        self.app = self.adapter.build(TOKEN, request=self.request)

    async def feed(self, payload: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(payload, self.app.bot))

    async def say(self, user_id: int, text: str, **kw: Any) -> list[str]:
        before = len(self.request.calls)
        await self.feed(self.updates.message(user_id, text, **kw))
        return [str(p.get("text")) for m, p in self.request.calls[before:] if m == "sendMessage"]

    async def press(self, user_id: int, data: str, **kw: Any) -> list[tuple[str, dict[str, Any]]]:
        before = len(self.request.calls)
        await self.feed(self.updates.press(user_id, data, **kw))
        return self.request.calls[before:]

    def last_buttons(self) -> list[str]:
        for method, params in reversed(self.request.calls):
            if method == "sendMessage" and params.get("reply_markup"):
                markup = params["reply_markup"]
                return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        return []

    async def onboard(self, user_id: int, name: str = "Grace Chapel") -> int:
        texts = await self.say(user_id, "/start")
        assert "Disclosures" in texts[0]
        for _ in range(4):
            (data,) = self.last_buttons()
            assert data.startswith("attest ")
            await self.press(user_id, data)
        assert self.last_buttons()[0] == "org register church"
        await self.press(user_id, "org register church")
        texts = await self.say(user_id, name)  # free text: the conversation's ORG_NAME state
        assert "pending verification" in texts[-1], texts
        org_id = int(texts[-1].split("#", 1)[1].split(",", 1)[0])
        await self.say(user_id, "/agreement")  # the PDF and summary, then Agree (needed before /verify)
        (agree,) = self.last_buttons()
        assert agree.startswith("agreement agree ")
        await self.press(user_id, agree)
        return org_id


@pytest.fixture
async def tg(sqlite_db: Database) -> AsyncIterator[TG]:
    harness = TG(sqlite_db)
    await harness.app.initialize()
    yield harness
    await harness.app.shutdown()


def count(db: Database, model: type) -> int:
    with db.uow(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


async def test_registered_commands_equal_permission_table(tg: TG) -> None:
    assert registered_commands(tg.app) == {n for n, p in PERMISSIONS.items() if not p.button_only}


async def test_onboarding_verify_and_buy_with_confirmation(tg: TG, sqlite_db: Database) -> None:
    make_token(sqlite_db)
    org_id = await tg.onboard(100)
    assert "verified" in (await tg.say(100, "/buy STRAT-YIELD-USDC-001 10"))[0]
    assert "verified" in (await tg.say(ADMIN_ID, f"/verify {org_id}"))[0]
    await tg.say(100, "/deposit 1000")
    await tg.press(100, tg.last_buttons()[0])
    texts = await tg.say(100, "/buy STRAT-YIELD-USDC-001 250")
    assert texts[0].startswith("Buy $250.00 of STRAT-YIELD-USDC-001")
    confirm, cancel = tg.last_buttons()
    assert confirm.startswith("confirm ") and cancel.startswith("cancel ")
    calls = await tg.press(100, confirm)
    assert calls[0][0] == "answerCallbackQuery"
    assert any(m == "sendMessage" and str(p["text"]).startswith("Bought") for m, p in calls)
    wallet = (await tg.say(100, "/wallet"))[0]
    assert "STRAT-YIELD-USDC-001" in wallet and "Cash: $750.00" in wallet
    digest = await tg.say(100, "/digest")
    assert tg.request.sent("sendPhoto") and "Daily digest" in digest[0]


async def test_same_update_twice_has_one_effect(tg: TG, sqlite_db: Database) -> None:
    make_token(sqlite_db)
    await tg.say(ADMIN_ID, f"/verify {await tg.onboard(100)}")
    await tg.say(100, "/deposit 1000")
    await tg.press(100, tg.last_buttons()[0])
    buy = tg.updates.message(100, "/buy STRAT-YIELD-USDC-001 100")
    await tg.feed(buy)
    await tg.feed(buy)  # Telegram redelivers the same update
    assert count(sqlite_db, PendingConfirmation) == 2  # the deposit's and this one
    confirm = tg.last_buttons()[0]
    press = tg.updates.press(100, confirm)
    await tg.feed(press)
    await tg.feed(press)  # the same press redelivered
    await tg.press(100, confirm)  # and a second, separate press
    with sqlite_db.uow(read_only=True) as uow:
        quantities = uow.session.scalars(
            select(TokenHolding.quantity)
            .join(AIWallet, AIWallet.id == TokenHolding.wallet_id)
            .where(AIWallet.is_house.is_(False))
        ).all()
        buys = uow.session.scalar(
            select(func.count())
            .select_from(IdempotencyKey)
            .where(IdempotencyKey.operation == "chat.confirm.buy")
        )
    assert len(quantities) == 1 and buys == 1
    bought = [t for t in tg.request.texts(100) if t.startswith("Bought")]
    assert len(bought) == 1  # one trade, reported once
    already = [t for t in tg.request.texts(100) if t.startswith("Already done")]
    assert len(already) == 2  # the redelivered press and the second press say it already ran


async def test_hybrid_approval_by_button(tg: TG, sqlite_db: Database) -> None:
    from core import wallets
    from tests.wallet_fixtures import mark_days, random_returns

    symbols = [f"STRAT-TEST-T{i}-001" for i in range(5)]
    for symbol in symbols:
        make_token(sqlite_db, symbol, supply="100000000")
    mark_days(sqlite_db, sqlite_db.clock, {s: random_returns(i, 40) for i, s in enumerate(symbols)})  # type: ignore[arg-type]
    await tg.say(ADMIN_ID, f"/verify {await tg.onboard(100)}")
    await tg.say(100, "/deposit 10000")
    await tg.press(100, tg.last_buttons()[0])
    await tg.say(100, "/plan basic")  # new wallets start on Free (manual only)
    await tg.press(100, tg.last_buttons()[0])
    assert "Mode is now hybrid" in (await tg.say(100, "/mode hybrid"))[0]
    wallets.run_rebalance_cycle(sqlite_db.uow(), notifier=tg.world.notifier)
    proposal = tg.world.notifier.messages[-1].reply
    approve = next(b.action for b in proposal.all_buttons() if b.label == "Approve")
    stranger = await tg.press(555, approve)  # a visitor: refused by the gate, as a popup
    assert stranger[0][0] == "answerCallbackQuery" and stranger[0][1]["show_alert"] is True
    calls = await tg.press(100, approve)
    assert any(str(p.get("text", "")).startswith("Approved") for _, p in calls)
    again = await tg.press(100, approve)
    assert any(str(p.get("text", "")).startswith("Already done") for _, p in again)


async def test_unauthorised_and_edited_updates(tg: TG, sqlite_db: Database) -> None:
    make_token(sqlite_db)
    assert "Complete onboarding" in (await tg.say(777, "/buy STRAT-YIELD-USDC-001 5"))[0]
    assert "platform administrators" in (await tg.say(777, "/halt"))[0]
    assert "private chat" in (await tg.say(777, "/start", chat_id=-100, group=True))[0]
    assert (await tg.say(777, "/nonsense"))[0].startswith("Unknown command")
    assert (await tg.say(777, "/confirm 1"))[0].startswith("Unknown command")  # buttons only
    menu = await tg.say(777, "just chatting")  # free text: a short menu with buttons
    assert menu[0].startswith("I only understand commands") and tg.last_buttons()[0] == "start"
    assert await tg.say(777, "chatter", chat_id=-100, group=True) == []  # group chatter: ignored
    await tg.say(ADMIN_ID, f"/verify {await tg.onboard(100)}")
    edited = await tg.say(100, "/deposit 100", edited=True)
    assert "Edited messages never move money" in edited[0]
    assert count(sqlite_db, PendingConfirmation) == 0
    assert tg.world.layer.internal_errors == 0


async def test_error_handler_redacts_secrets(tg: TG, caplog: pytest.LogCaptureFixture) -> None:
    secret = "987654:SECRETsecretSECRETsecretSECRETsecret12"
    tg.request.fail_next.append(
        (400, {"error_code": 400, "description": f"Bad Request: token {secret} {TOKEN}"})
    )
    with caplog.at_level(logging.ERROR):
        await tg.say(5, "/help")
    assert "telegram update failed" in caplog.text
    assert secret not in caplog.text and TOKEN not in caplog.text
    assert "[REDACTED]" in caplog.text
    assert "Sorry, something went wrong" in tg.request.texts(5)[-1]


# PTB 22.8's own RetryAfter constructor warns about its int/timedelta migration (PTB_TIMEDELTA).
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_sender_maps_flood_control_and_blocked_chats(tg: TG) -> None:
    from bot.outbound import PermanentSendError, RetryAfter
    from bot.telegram_bot.render import TelegramSender
    from core.commands.types import ChatType, Reply

    # Without AIORateLimiter, whose own retry loop (max_retries) would absorb the 429 first.
    request = OfflineRequest()
    app = tg.adapter.build(TOKEN, request=request, rate_limiter=False)
    await app.initialize()
    sender = TelegramSender(app.bot)
    request.fail_next.append(
        (
            429,
            {
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        )
    )
    with pytest.raises(RetryAfter) as flood:
        await sender.send(5, ChatType.PRIVATE, Reply("digest"))
    assert flood.value.seconds == 7
    request.fail_next.append(
        (403, {"error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    )
    with pytest.raises(PermanentSendError):
        await sender.send(5, ChatType.PRIVATE, Reply("digest"))
    await sender.send(5, ChatType.PRIVATE, Reply("x" * 5000))  # split below 4,096
    assert [len(t) for t in request.texts(5)[-2:]] == [4096, 904]
    await app.shutdown()
