"""``arena serve``: the scheduler plus whichever chat adapters have tokens, in one event loop.

Telegram runs in polling mode, or webhook mode when ``ARENA_TELEGRAM_WEBHOOK_URL`` is set (the
secret token ``ARENA_TELEGRAM_WEBHOOK_SECRET`` is then required). Discord runs when
``DISCORD_BOT_TOKEN`` is set. Pushed messages (digests, proposals) go through the durable,
rate-limited outbound queue. Secrets are read from Settings (SecretStr) and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from bot.outbound import OutboundQueue
from bot.outbox_store import DatabaseOutbox
from bot.redaction import install as install_redaction
from bot.wiring import command_hooks, install_safety, job_hooks
from core.commands.dispatcher import CommandLayer
from core.config import Settings, require
from core.db import Database
from scheduler.service import ArenaScheduler

log = logging.getLogger(__name__)

NO_ADAPTERS = (
    "No chat adapter configured (set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN). The scheduler runs; "
    "to talk to the platform without a bot, use: arena chat --user NAME  (or --script FILE)."
)


async def _start_telegram(layer: CommandLayer, queue: OutboundQueue, settings: Settings) -> Callable[[], Any]:
    from bot.telegram_bot.adapter import TelegramAdapter
    from bot.telegram_bot.render import TelegramSender

    token = require(settings.telegram_bot_token, "TELEGRAM_BOT_TOKEN")
    app = TelegramAdapter(layer).build(token)
    await app.initialize()
    await app.start()
    await start_telegram_updates(app, settings)
    queue.add_sender("telegram", TelegramSender(app.bot))

    async def stop() -> None:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await app.stop()
        await app.shutdown()

    return stop


ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


async def start_telegram_updates(app: Any, settings: Settings) -> str:
    """Receive updates by webhook (secret token required) when a webhook URL is set, else poll."""
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
        )
        log.info("telegram: webhook mode")
        return "webhook"
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
    log.info("telegram: polling mode")
    return "polling"


async def _start_discord(layer: CommandLayer, queue: OutboundQueue, settings: Settings) -> Callable[[], Any]:
    from bot.discord_bot.adapter import DiscordAdapter, tree_of
    from bot.discord_bot.render import DiscordSender

    token = require(settings.discord_bot_token, "DISCORD_BOT_TOKEN")
    client = DiscordAdapter(layer).build()

    async def setup_hook() -> None:
        await tree_of(client).sync()

    client.setup_hook = setup_hook  # type: ignore[method-assign]
    task = asyncio.create_task(client.start(token), name="discord")
    queue.add_sender("discord", DiscordSender(client))
    log.info("discord: connecting")

    async def stop() -> None:
        await client.close()
        task.cancel()

    return stop


async def serve(
    db: Database,
    settings: Settings,
    *,
    scheduler: bool = True,
    stop: asyncio.Event | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """Run until ``stop`` is set (SIGINT/SIGTERM by default). Returns the process exit code."""
    install_redaction(settings)
    install_safety()  # the chat adapters and the scheduler trade only with the pre-trade checks
    # Opt in to PTB's timedelta RetryAfter now (22.x warns on every flood-control error otherwise);
    # TelegramSender handles both forms.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    queue = OutboundQueue({}, store=DatabaseOutbox(db))
    layer = CommandLayer(db, settings, hooks=command_hooks(db, settings), notifier=queue)
    sched = ArenaScheduler(db, queue, hooks=job_hooks(settings, queue)) if scheduler else None
    if sched is not None:
        sched.start()  # raises SchedulerAlreadyRunning when another scheduler holds the lock
        jobs = ", ".join(job.id for job in sched.scheduler.get_jobs())
        say(f"scheduler running ({sched.lock.description}); jobs: {jobs}")
    stoppers: list[Callable[[], Any]] = []
    if settings.telegram_bot_token is not None:
        stoppers.append(await _start_telegram(layer, queue, settings))
    if settings.discord_bot_token is not None:
        stoppers.append(await _start_discord(layer, queue, settings))
    if not stoppers:
        say(NO_ADAPTERS)
    restored = queue.restore()
    if restored:
        say(f"re-sending {restored} queued message(s) from before the restart")
    sender = asyncio.create_task(queue.run(), name="outbound-queue")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for stopper in stoppers:
            with contextlib.suppress(Exception):
                await stopper()
        sender.cancel()
        if sched is not None:
            sched.shutdown()
    return 0
