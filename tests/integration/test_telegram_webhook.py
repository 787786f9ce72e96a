"""Webhook mode over real HTTP on loopback: the secret token is required, updates reach the bot."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from bot.platforms import start_telegram_updates
from bot.telegram_bot.adapter import TelegramAdapter
from bot.telegram_bot.offline import OfflineRequest, UpdateFactory
from core.db import Database
from tests.e2e.chat_support import ChatWorld, make_settings

TOKEN = "123456:OFFLINE-test-token-aaaaaaaaaaaaaaaaaaaaaaaa"
SECRET = "s3cret-webhook-token_abc"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_requires_the_secret_and_delivers_updates(sqlite_db: Database) -> None:
    port = _free_port()
    settings = make_settings(
        telegram_webhook_url="https://bot.example.org/telegram",
        telegram_webhook_secret=SECRET,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
    )
    world = ChatWorld(sqlite_db, settings=settings)
    request = OfflineRequest()
    app = TelegramAdapter(world.layer).build(TOKEN, request=request)
    await app.initialize()
    await app.start()
    try:
        assert await start_telegram_updates(app, settings) == "webhook"
        (hook,) = request.sent("setWebhook")
        assert hook["url"] == "https://bot.example.org/telegram" and hook["secret_token"] == SECRET
        body = json.dumps(UpdateFactory().message(4242, "/help")).encode()
        url = f"http://127.0.0.1:{port}/telegram"
        async with httpx.AsyncClient(timeout=5) as client:
            forged = await client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            missing = await client.post(url, content=body, headers={"Content-Type": "application/json"})
            assert forged.status_code == 403 and missing.status_code == 403
            await asyncio.sleep(0.3)
            assert request.texts(4242) == [], "a forged update must not reach the bot"
            genuine = await client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert genuine.status_code == 200
        for _ in range(50):  # the update is processed asynchronously from the update queue
            if request.texts(4242):
                break
            await asyncio.sleep(0.05)
        replies = request.texts(4242)
        assert replies and "/start" in replies[0]
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await app.stop()
        await app.shutdown()


def test_webhook_mode_refuses_to_start_without_a_secret(sqlite_db: Database) -> None:
    from core.errors import ConfigError

    settings = make_settings(telegram_webhook_url="https://bot.example.org/telegram")
    world = ChatWorld(sqlite_db, settings=settings)
    app = TelegramAdapter(world.layer).build(TOKEN, request=OfflineRequest())

    async def run() -> None:
        await app.initialize()
        try:
            await start_telegram_updates(app, settings)
        finally:
            await app.shutdown()

    with pytest.raises(ConfigError, match="ARENA_TELEGRAM_WEBHOOK_SECRET"):
        asyncio.run(run())
