"""Pushed Discord messages over real HTTP: a real discord.py Client talks to a local API server.

Only Discord's address is replaced (``Route.BASE`` points at an aiohttp server on loopback); the
client's own request, rate-limit and error handling run unchanged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from aiohttp import BodyPartReader, web

from bot.discord_bot.render import DiscordSender
from bot.outbound import PermanentSendError, RetryAfter
from core.commands.types import Attachment, Button, ChatType, Reply

CHANNEL = 555_000_000_000_000_001
FORBIDDEN = 555_000_000_000_000_002
LIMITED = 555_000_000_000_000_003
BOT = {"id": "999000", "username": "arena", "discriminator": "0", "avatar": None, "bot": True}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes a body only when Content-Type is exactly "application/json", as Discord sends.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeDiscordAPI:
    """Answers the handful of REST routes a DiscordSender uses and records the messages."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.files: list[int] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        app.router.add_get("/api/v10/channels/{cid}", self.channel)
        app.router.add_post("/api/v10/channels/{cid}/messages", self.post_message)
        return app

    async def me(self, request: web.Request) -> web.Response:
        return _json(BOT)

    async def application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": BOT["id"],
                "name": "Treasury Arena",
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": BOT,
                "team": None,
                "summary": "",
                "rpc_origins": [],
            }
        )

    async def channel(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        return _json(
            {
                "id": cid,
                "type": 0,
                "guild_id": "777",
                "name": "treasury",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
            }
        )

    async def post_message(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["cid"])
        if cid == FORBIDDEN:
            return _json({"message": "Missing Access", "code": 50001}, status=403)
        if cid == LIMITED:
            return _json(
                {"message": "You are being rate limited.", "retry_after": 42.0, "global": False},
                status=429,
                headers={"X-RateLimit-Scope": "user", "Retry-After": "42"},
            )
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            payload: dict[str, Any] = {}
            files = 0
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files += 1
                    await part.read()
            self.files.append(files)
        else:
            payload = await request.json()
            self.files.append(0)
        self.messages.append(payload)
        return _json(
            {
                "id": str(1000 + len(self.messages)),
                "channel_id": str(cid),
                "type": 0,
                "content": payload.get("content") or "",
                "author": BOT,
                "attachments": [],
                "embeds": [],
                "mentions": [],
                "mention_roles": [],
                "pinned": False,
                "mention_everyone": False,
                "tts": False,
                "timestamp": "2026-11-24T00:00:00+00:00",
                "edited_timestamp": None,
                "flags": 0,
                "components": payload.get("components", []),
            }
        )


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[discord.Client, FakeDiscordAPI]]:
    api = FakeDiscordAPI()
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    bot = discord.Client(intents=discord.Intents.none(), max_ratelimit_timeout=1.0)
    await bot.login("offline-test-token")
    yield bot, api
    await bot.close()
    await runner.cleanup()


async def test_long_reply_is_split_with_buttons_on_the_last_part_and_the_chart_on_the_first(
    client: tuple[discord.Client, FakeDiscordAPI],
) -> None:
    bot, api = client
    text = "\n".join(f"line {i}: " + "x" * 60 for i in range(80))  # ~5,500 characters
    reply = Reply(
        text=text,
        buttons=[[Button("Approve", "proposal approve 7"), Button("Reject", "proposal reject 7")]],
        attachments=[Attachment("digest.png", b"\x89PNG\r\n\x1a\nfake", caption="30 days")],
    )
    await DiscordSender(bot).send(CHANNEL, ChatType.GROUP, reply)
    assert len(api.messages) >= 3
    assert all(len(m.get("content") or "") < 2000 for m in api.messages)
    assert "".join(m["content"] for m in api.messages).replace("\n", "") == text.replace("\n", "")
    assert api.files[0] == 1 and not any(api.files[1:])
    assert not any(m.get("components") for m in api.messages[:-1])
    ids = [c["custom_id"] for row in api.messages[-1]["components"] for c in row["components"]]
    assert ids == ["arena:proposal approve 7", "arena:proposal reject 7"]
    assert all(m["allowed_mentions"]["parse"] == [] for m in api.messages)


async def test_rate_limit_becomes_retry_after_and_forbidden_is_permanent(
    client: tuple[discord.Client, FakeDiscordAPI],
) -> None:
    bot, _api = client
    with pytest.raises(RetryAfter) as limited:
        await DiscordSender(bot).send(LIMITED, ChatType.GROUP, Reply(text="digest"))
    assert limited.value.seconds >= 42
    with pytest.raises(PermanentSendError):
        await DiscordSender(bot).send(FORBIDDEN, ChatType.GROUP, Reply(text="digest"))
