"""Chat platforms as optional, self-healing parts of ``arena serve``.

Each runner connects its adapter in the background and never takes the service down with it:

* **Telegram** — ``Application.initialize()`` (``getMe``) is retried with capped exponential
  backoff until the Bot API answers; then python-telegram-bot's own mechanisms take over:
  ``start_polling(bootstrap_retries=-1)`` / ``start_webhook(bootstrap_retries=-1)`` retry the
  bootstrap, and the polling network loop retries ``getUpdates`` with its own backoff (our
  ``error_callback`` turns each failure into one log line).
* **Discord** — ``login()`` (REST) is retried with discord.py's :class:`~discord.backoff.ExponentialBackoff`
  (capped); then ``connect(reconnect=True)`` is discord.py's own reconnecting gateway loop.

A refused token (``InvalidToken`` / ``LoginFailure``) is not retried: the runner says so once and
stays ``stopped``; the rest of the service keeps running. Every state change goes to the health
registry (:mod:`core.health`), so ``arena status`` and ``/healthz`` show it. Log lines name the
error type and its first line, never a traceback and never the token. Delays are seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram.request import HTTPXRequest

from bot.outbound import OutboundQueue, brief_error
from core.commands.dispatcher import CommandLayer
from core.config import Settings, require
from core.health import HealthRegistry, State

log = logging.getLogger(__name__)

MAX_DELAY = 60.0
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class Backoff:
    """Capped exponential delays: ``first``, 2x, 4x ... up to ``cap``; :meth:`reset` after success."""

    def __init__(self, first: float = 1.0, cap: float = MAX_DELAY) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next(self) -> float:
        self.failures += 1
        return float(min(self.first * 2 ** (self.failures - 1), self.cap))

    def reset(self) -> None:
        self.failures = 0


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop``; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


class ObservedRequest(HTTPXRequest):
    """python-telegram-bot's HTTPX request that reports each answer to the runner (health)."""

    def __init__(self, on_result: Callable[[BaseException | None], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_result = on_result

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            result = await super().do_request(*args, **kwargs)
        except Exception as error:
            self._on_result(error)
            raise
        self._on_result(None)
        return result


class TelegramRunner:
    """Connects the Telegram adapter when it can; pushes start once ``getMe`` answered."""

    name = "telegram"

    def __init__(self, layer: CommandLayer, queue: OutboundQueue, settings: Settings, health: HealthRegistry):
        self.layer, self.queue, self.settings, self.health = layer, queue, settings, health
        self.app: Any = None
        self.connected = False

    def _observe(self, error: BaseException | None) -> None:
        if error is None:
            if self.connected:
                self.health.set(self.name, State.UP, self._mode)
        elif self.connected:
            self.health.set(self.name, State.RETRYING, f"{brief_error(error)} (python-telegram-bot retries)")

    def _polling_error(self, error: Exception) -> None:
        log.warning(
            "telegram: cannot reach the Bot API (%s); python-telegram-bot retries", brief_error(error)
        )

    def build(self) -> Any:
        from bot.telegram_bot.adapter import TelegramAdapter
        from bot.telegram_push import PushAwareRateLimiter

        token = require(self.settings.telegram_bot_token, "TELEGRAM_BOT_TOKEN")
        return TelegramAdapter(self.layer).build(
            token,
            request=ObservedRequest(self._observe, connection_pool_size=32),
            get_updates_request=ObservedRequest(self._observe, connection_pool_size=1, read_timeout=30),
            rate_limiter=PushAwareRateLimiter(),
            base_url=self.settings.telegram_base_url,
        )

    async def run(self, stop: asyncio.Event) -> None:
        from telegram.error import InvalidToken

        from bot.telegram_bot.render import TelegramSender

        self._mode = "polling"
        self.app = self.build()
        backoff = Backoff()
        self.health.set(self.name, State.STARTING, "connecting to the Bot API")
        while not stop.is_set():
            try:
                await self.app.initialize()
                break
            except InvalidToken as error:
                log.error("telegram: the Bot API refused the token (%s); not retrying", type(error).__name__)
                self.health.set(self.name, State.STOPPED, "token refused; fix TELEGRAM_BOT_TOKEN and restart")
                return
            except Exception as error:
                delay = backoff.next()
                self._report_retry(error, delay)
                if await sleep_unless(stop, delay):
                    return
        if stop.is_set():
            return
        await self.app.start()
        self._mode = await start_telegram_updates(self.app, self.settings, self._polling_error)
        self.connected = True
        self.queue.add_sender(self.name, TelegramSender(self.app.bot))
        self.health.set(self.name, State.UP, self._mode)
        log.info("telegram: connected (%s)", self._mode)

    def _report_retry(self, error: BaseException, delay: float) -> None:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        self.health.set(
            self.name, State.RETRYING, f"{brief_error(error)}; next try in {delay:.0f}s (at {when})"
        )
        log.warning("telegram: cannot reach the Bot API (%s); retrying in %.0fs", brief_error(error), delay)

    async def stop_receiving(self) -> None:
        """Stop taking new updates (first step of a drain); sending still works."""
        if self.app is not None and self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()

    async def close(self) -> None:
        self.queue.remove_sender(self.name)
        if self.app is None:
            return
        await self.stop_receiving()
        if self.app.running:
            await self.app.stop()
        with contextlib.suppress(RuntimeError):  # never initialised (platform was unreachable)
            await self.app.shutdown()
        self.health.set(self.name, State.STOPPED, "")


async def start_telegram_updates(
    app: Any, settings: Settings, error_callback: Callable[[Exception], None] | None = None
) -> str:
    """Receive updates by webhook (secret token required) when a webhook URL is set, else poll.

    Both retry their bootstrap (deleting/setting the webhook) for as long as it takes."""
    assert app.updater is not None
    if settings.telegram_webhook_url:
        secret = require(settings.telegram_webhook_secret, "ARENA_TELEGRAM_WEBHOOK_SECRET")
        await app.updater.start_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path="telegram",
            webhook_url=settings.telegram_webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
        )
        log.info("telegram: webhook mode")
        return "webhook"
    await app.updater.start_polling(
        allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1, error_callback=error_callback
    )
    log.info("telegram: polling mode")
    return "polling"


class DiscordRunner:
    """Logs the Discord client in when it can; discord.py keeps the gateway connected after that."""

    name = "discord"

    def __init__(self, layer: CommandLayer, queue: OutboundQueue, settings: Settings, health: HealthRegistry):
        self.layer, self.queue, self.settings, self.health = layer, queue, settings, health
        self.client: Any = None
        self._task: asyncio.Task[None] | None = None

    def build(self) -> Any:
        import discord

        from bot.discord_bot.adapter import DiscordAdapter, tree_of

        if self.settings.discord_api_base:  # a local API server (tests, drills): one client per process
            discord.http.Route.BASE = self.settings.discord_api_base.rstrip("/")
        client = DiscordAdapter(self.layer).build()

        async def setup_hook() -> None:
            try:
                await tree_of(client).sync()
            except Exception as error:  # commands stay as last synced; the bot still works
                log.warning("discord: cannot sync slash commands (%s)", brief_error(error))

        client.setup_hook = setup_hook  # type: ignore[method-assign]
        health, name = self.health, self.name

        async def on_ready() -> None:
            health.set(name, State.UP, "gateway connected")
            log.info("discord: gateway connected")

        async def on_resumed() -> None:
            health.set(name, State.UP, "gateway resumed")

        async def on_disconnect() -> None:
            health.set(name, State.RETRYING, "gateway disconnected (discord.py reconnects)")

        for handler in (on_ready, on_resumed, on_disconnect):
            if not hasattr(client, handler.__name__):
                client.event(handler)
        return client

    async def run(self, stop: asyncio.Event) -> None:
        import discord
        from discord.backoff import ExponentialBackoff

        from bot.discord_bot.render import DiscordSender

        token = require(self.settings.discord_bot_token, "DISCORD_BOT_TOKEN")
        self.client = self.build()
        backoff: ExponentialBackoff[bool] = ExponentialBackoff()
        self.health.set(self.name, State.STARTING, "logging in")
        while not stop.is_set():
            try:
                await self.client.login(token)
                break
            except discord.LoginFailure as error:
                log.error("discord: the token was refused (%s); not retrying", type(error).__name__)
                self.health.set(self.name, State.STOPPED, "token refused; fix DISCORD_BOT_TOKEN and restart")
                return
            except Exception as error:
                await self.client.close()  # each login opens an HTTP session: close it, start afresh
                self.client = self.build()
                delay = min(backoff.delay(), MAX_DELAY)
                self.health.set(self.name, State.RETRYING, f"{brief_error(error)}; next try in {delay:.0f}s")
                log.warning(
                    "discord: cannot reach Discord (%s); retrying in %.0fs", brief_error(error), delay
                )
                if await sleep_unless(stop, delay):
                    return
        if stop.is_set():
            return
        self.queue.add_sender(self.name, DiscordSender(self.client))
        self.health.set(self.name, State.RETRYING, "logged in; connecting to the gateway")
        self._task = asyncio.create_task(self._gateway(stop), name="discord-gateway")

    async def _gateway(self, stop: asyncio.Event) -> None:
        """discord.py's reconnecting loop; if it gives up (e.g. the very first connect fails), go again."""
        backoff = Backoff()
        while not stop.is_set() and not self.client.is_closed():
            try:
                await self.client.connect(reconnect=True)
                return  # closed by us
            except Exception as error:
                delay = backoff.next()
                self.health.set(
                    self.name, State.RETRYING, f"gateway: {brief_error(error)}; next try in {delay:.0f}s"
                )
                log.warning(
                    "discord: gateway unavailable (%s); reconnecting in %.0fs", brief_error(error), delay
                )
                if await sleep_unless(stop, delay):
                    return

    async def stop_receiving(self) -> None:
        """Discord has no way to refuse events but closing; the gateway closes in :meth:`close`."""

    async def close(self) -> None:
        self.queue.remove_sender(self.name)
        if self.client is not None and not self.client.is_closed():
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception as error:  # the gateway loop ended badly; we are closing anyway
                log.warning("discord: gateway loop ended with %s", brief_error(error))
        elif self.client is not None:
            await self.client.http.close()
        self.health.set(self.name, State.STOPPED, "")


Runner = TelegramRunner | DiscordRunner
