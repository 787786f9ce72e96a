"""Direct messages to the Discord bot go through the shared command core as Telegram's private
messages do: plain text gets the menu with buttons, a typed ``/command`` runs (behind the same
gate), an answer completes the question the last reply asked; server-channel chatter is ignored.

Real discord.py objects end to end: a gateway MESSAGE_CREATE is parsed by the client's own state,
dispatched to the adapter's listener, and the answer is posted over real HTTP to a loopback server
standing in for Discord's REST API (``Route.BASE``), as in test_discord_sender.py."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from aiohttp import web

from bot.discord_bot.adapter import DiscordAdapter
from core.db import Database
from tests.e2e.chat_support import ChatWorld, make_token
from tests.integration.test_discord_sender import FakeDiscordAPI

_ids = itertools.count(880_000_000_000_000_001)


def _message(user_id: int, content: str, *, guild: bool = False, bot: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "channel_id": str(700_000 + user_id),
        "author": {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "avatar": None,
                   "global_name": None, "bot": bot},
        "content": content,
        "timestamp": "2025-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }
    if guild:
        data["guild_id"] = "42"
    return data


class Harness:
    def __init__(self, db: Database, api: FakeDiscordAPI) -> None:
        self.world = ChatWorld(db, platform="discord")
        self.client = DiscordAdapter(self.world.layer).build(max_ratelimit_timeout=1.0)
        self.api = api

    async def send(self, user_id: int, content: str, **kind: bool) -> list[dict[str, Any]]:
        """Feed one MESSAGE_CREATE and return the messages the bot posted in answer."""
        before = len(self.api.messages)
        self.client._connection.parse_message_create(_message(user_id, content, **kind))  # type: ignore[arg-type]
        for _ in range(300):  # the listener runs in a task; its database work in a thread
            await asyncio.sleep(0.01)
            if len(self.api.messages) > before:
                break
        await asyncio.sleep(0.05)
        return self.api.messages[before:]


@pytest.fixture
async def dm(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    api = FakeDiscordAPI()
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    harness = Harness(sqlite_db, api)
    await harness.client.login("offline-test-token")
    yield harness
    await harness.client.close()
    await runner.cleanup()


def _buttons(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def test_plain_text_gets_the_menu_as_on_telegram(dm: Harness) -> None:
    expected = dm.world.layer.free_text(dm.world.ident(300), "reference")  # the shared core's answer
    (answer,) = await dm.send(300, "hello there")
    assert answer["content"] == expected.text
    assert _buttons(answer) == ["arena:" + b.action for row in expected.buttons for b in row]
    assert answer["content"].startswith("I only understand commands.")
    assert await dm.send(300, "hello everyone", guild=True) == []  # chatter in a server channel
    assert await dm.send(301, "I am a bot", bot=True) == []


async def test_typed_commands_and_answers_run_through_the_same_gate(dm: Harness, sqlite_db: Database) -> None:
    make_token(sqlite_db)
    (tokens,) = await dm.send(300, "/tokens")
    assert "STRAT-YIELD-USDC-001" in tokens["content"]
    (refused,) = await dm.send(300, "/wallet")
    assert refused["content"].startswith("Complete onboarding")  # a visitor: refused as in Telegram
    (unknown,) = await dm.send(300, "/frobnicate")
    assert unknown["content"] == "Unknown command /frobnicate. Send /help for the list."
    (start,) = await dm.send(300, "/start")  # onboarding by text: the buttons are interactions
    assert _buttons(start)[0].startswith("arena:attest ")
    assert dm.world.layer.internal_errors == 0


async def test_an_answer_by_direct_message_completes_the_question(dm: Harness) -> None:
    reply = dm.world.say(300, "/start")  # the attestations, pressed as buttons would be
    while reply.step == "attest":
        reply = dm.world.press(300, reply, reply.all_buttons()[0].label)
    (asked,) = await dm.send(300, "/org register church")
    assert "what is the name of your church?" in asked["content"], asked
    (registered,) = await dm.send(300, "Grace Chapel")  # plain text: the answer, not the menu
    assert "Grace Chapel" in registered["content"] and "pending verification" in registered["content"]
    (menu,) = await dm.send(300, "thanks")  # the question was answered: plain text is the menu again
    assert menu["content"].startswith("I only understand commands.")
